#!/usr/bin/python3
"""The lab node's service manager: ``service NAME start|stop|restart|status``.

Runs inside a lab node (Debian's python3, standard library only), where it is installed
as /usr/local/sbin/service, so os-faults' service drivers and a person over SSH act on
one service of one node as on a server. It reads the node's services from
services.json beside it (or the file $EXTREME_LAB_SERVICES names): {"order": [...],
"services": {name: {command, user, grep, ready, env, rundirs, log, stop_timeout}}}. The
node has its own pid namespace, so everything it finds or kills belongs to this node only.

Like systemd with a unit's cgroup, a service is its main process, everything that
process started and every process its pattern finds: `stop` sends SIGTERM, waits the
service's stop timeout (systemd's default 90 s, as Debian's units leave it), SIGKILLs
what is left and returns only once all of it is gone; `start` first waits for processes
still dying from a kill. A `start` or `restart` that does not end with the service
running exits non-zero and says why.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

# Beside this script: /usr/local/sbin/services.json inside the node.
CONFIG = os.environ.get("EXTREME_LAB_SERVICES") or os.path.join(
    os.path.dirname(os.path.realpath(__file__)), "services.json")
PID_DIR = os.environ.get("EXTREME_LAB_PID_DIR", "/run/extreme-lab")
STOP_TIMEOUT = 90.0  # systemd's DefaultTimeoutStopSec; a service's stop_timeout wins
KILL_WAIT = 30.0  # how long processes may take to disappear after SIGKILL
READY_TIMEOUT = 90.0
# A service without a readiness check must still run this long after it was started.
SETTLE = 1.0
# Boot (start-all) restarts a service that fails or exits, as Debian's units do with
# Restart=on-failure, until every service has run for BOOT_SETTLE s or BOOT_WINDOW s passed.
BOOT_WINDOW = 180.0
BOOT_SETTLE = 10.0
BOOT_PAUSE = 2.0
USAGE = ("usage: service NAME start|stop|restart|status|bootstrap\n"
         "       service --status-all | list [--json] | start-all [WINDOW SETTLE] | stop-all")


def load():
    with open(CONFIG, encoding="utf-8") as handle:
        return json.load(handle)


def pidfile(name):
    return os.path.join(PID_DIR, name + ".pid")


def read_pid(name):
    try:
        with open(pidfile(name), encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def proc_state(pid):
    """'R', 'S', 'T' (stopped), 'Z'... or None when the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def own_lineage():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def matching_pids(pattern):
    """Processes whose command line contains the pattern, this command excluded."""
    mine, found = own_lineage(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pattern in cmdline and proc_state(int(entry)) not in (None, "Z"):
            found.append(int(entry))
    return found


def parents():
    """{pid: parent pid} of every live process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            found[int(entry)] = int(fields[1])
    return found


def start_time(pid):
    """The process's start time in clock ticks: a PID reused later has another."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def group_of(name, spec):
    """The service's processes, as systemd's cgroup holds them: its main process and all
    its descendants, and whatever its pattern finds. {pid: start time}."""
    tree = parents()
    members = set(matching_pids(spec["grep"]))
    main = read_pid(name)
    if main in tree:
        members.add(main)
    grown = True
    while grown:
        children = {pid for pid, parent in tree.items() if parent in members} - members
        grown = bool(children)
        members |= children
    members -= own_lineage()
    return {pid: start_time(pid) for pid in members}


def alive(group):
    """The processes of a group (from group_of) that still exist (not zombies)."""
    return [pid for pid, started in group.items()
            if proc_state(pid) not in (None, "Z") and start_time(pid) == started]


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_gone(group, timeout):
    """Waits until no process of the group exists; returns those left."""
    deadline = time.monotonic() + timeout
    left = alive(group)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = alive(group)
    return left


def killed_pids(pids):
    """Those of the pids with a SIGKILL pending: dying, not running."""
    dying = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
                masks = [int(line.split()[1], 16) for line in handle
                         if line.startswith(("SigPnd:", "ShdPnd:"))]
        except (OSError, ValueError, IndexError):
            continue
        if any(mask & (1 << (signal.SIGKILL - 1)) for mask in masks):
            dying.append(pid)
    return dying


def stop_timeout(spec):
    return float(spec.get("stop_timeout") or STOP_TIMEOUT)


def status_of(name, spec):
    pid = read_pid(name)
    pids = matching_pids(spec["grep"])
    if pid and proc_state(pid) not in (None, "Z") and pid not in pids:
        pids.append(pid)
    if not pids:
        return "stopped", []
    if all(proc_state(p) == "T" for p in pids):
        return "frozen", pids
    return "running", pids


def wait_ready(name, spec, timeout=READY_TIMEOUT):
    ready = spec.get("ready")
    deadline = time.monotonic() + timeout
    settled = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        state, _ = status_of(name, spec)
        if state != "running":
            raise RuntimeError(f"{name} exited while starting; see {spec['log']}")
        if ready and serves(ready):
            return
        if not ready and time.monotonic() >= settled:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not accept connections on {ready} within {timeout:.0f} s")


def serves(ready):
    """An HTTP service is ready when it answers below 500 (uwsgi binds its socket long
    before the application is loaded); any other service when its port accepts."""
    if ready.startswith("http://"):
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        try:
            with direct.open(ready, timeout=2):
                return True
        except urllib.error.HTTPError as error:
            return error.code < 500
        except (OSError, ValueError):
            return False
    host, port = ready.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def wait_dying(name, spec):
    """Processes of the service killed but not gone yet (a SIGKILL pending) are waited
    for: they would read as running, and nothing would be started."""
    group = group_of(name, spec)
    dying = {pid: group[pid] for pid in killed_pids(group)}
    if dying and wait_gone(dying, KILL_WAIT):
        raise RuntimeError(f"{name}: processes {' '.join(map(str, alive(dying)))} were killed "
                           f"but still exist after {KILL_WAIT:.0f} s; nothing started")


def start(name, spec, wait=True, extra=()):
    wait_dying(name, spec)
    state, _ = status_of(name, spec)
    if state == "running":
        return f"{name} is already running"
    if state == "frozen":
        return f"{name} is frozen; unfreeze it (SIGCONT) or stop it first"
    os.makedirs(PID_DIR, exist_ok=True)
    # A stale pidfile (a killed service) would make start-stop-daemon think it runs.
    try:
        os.unlink(pidfile(name))
    except FileNotFoundError:
        pass
    user = spec.get("user", "root")
    for directory in spec.get("rundirs", []):
        os.makedirs(directory, exist_ok=True)
        subprocess.run(["chown", f"{user}:", directory], check=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    env.update(spec.get("env", {}))
    cmd = ["start-stop-daemon", "--start", "--background", "--make-pidfile",
           "--pidfile", pidfile(name), "--output", spec["log"],
           "--chdir", spec.get("chdir", "/")]
    if user != "root":
        cmd += ["--chuid", user]
    cmd += ["--startas", spec["command"][0], "--"] + spec["command"][1:] + list(extra)
    subprocess.run(cmd, check=True, env=env)
    if wait:
        wait_ready(name, spec)
    return f"{name} started"


def start_all(config, window=BOOT_WINDOW, settle=BOOT_SETTLE):
    """Boot: start every service in order. One that fails to start, or exits soon after
    (nova's conductor exits when placement does not answer, as during a network outage),
    does not hold the others back and is started again every BOOT_PAUSE s, until all have
    run for ``settle`` s or ``window`` s are over. Returns the services left stopped."""
    services, order = config["services"], config["order"]
    deadline = time.monotonic() + window
    steady_since = None
    while True:
        stopped = [name for name in order if status_of(name, services[name])[0] == "stopped"]
        now = time.monotonic()
        if stopped:
            steady_since = None
        elif steady_since is None:
            steady_since = now
        if now >= deadline or (steady_since is not None and now - steady_since >= settle):
            return stopped
        for name in stopped:
            try:
                print(start(name, services[name]), flush=True)
            except (RuntimeError, subprocess.CalledProcessError) as error:
                print(f"service: {error}", file=sys.stderr, flush=True)
        time.sleep(BOOT_PAUSE)


def stop(name, spec):
    """SIGTERM to the main process (to every process when there is none), the stop
    timeout, then SIGKILL to all that is left; returns once every process of the service
    is gone, or raises naming those that are not."""
    state, _ = status_of(name, spec)
    group = group_of(name, spec)
    if state == "stopped" and not group:
        return f"{name} is not running"
    main = read_pid(name)
    targets = [main] if main in group else list(group)
    signal_all(targets, signal.SIGTERM)
    signal_all(group, signal.SIGCONT)  # a frozen service must wake to receive SIGTERM
    timeout = stop_timeout(spec)
    left = wait_gone(group, timeout)
    # Whatever the pattern finds now (a child that was forked meanwhile) belongs too.
    group.update(group_of(name, spec))
    left = alive(group)
    how = "stopped"
    if left:
        signal_all(left, signal.SIGKILL)
        how = f"stopped (SIGKILL after {timeout:.0f} s: {len(left)} process(es) ignored SIGTERM)"
        left = wait_gone(group, KILL_WAIT)
    if left:
        raise RuntimeError(f"{name}: processes {' '.join(map(str, left))} still exist "
                           f"{KILL_WAIT:.0f} s after SIGKILL")
    try:
        os.unlink(pidfile(name))
    except FileNotFoundError:
        pass
    return f"{name} {how}"


def table(config):
    rows = []
    for name in config["order"]:
        state, pids = status_of(name, config["services"][name])
        rows.append({"name": name, "state": state, "pids": sorted(pids)})
    return rows


def main(argv):
    config = load()
    services = config["services"]
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] in ("--status-all", "list"):
        rows = table(config)
        if "--json" in argv:
            print(json.dumps(rows))
        else:
            for row in rows:
                mark = "+" if row["state"] == "running" else "-"
                print(f" [ {mark} ]  {row['name']:<16} {row['state']}")
        return 0
    if argv[0] == "start-all":
        try:
            limits = [float(value) for value in argv[1:3]]
        except ValueError:
            print(f"service: start-all takes WINDOW and SETTLE in seconds, got "
                  f"{' '.join(argv[1:3])}", file=sys.stderr)
            return 2
        left = start_all(config, *limits)
        if left:
            print(f"service: still stopped after boot: {', '.join(left)}", file=sys.stderr)
        return 1 if left else 0
    if argv[0] == "stop-all":
        for name in reversed(config["order"]):
            print(stop(name, services[name]), flush=True)
        return 0
    if len(argv) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    name, action = argv
    if name not in services:
        print(f"service: unknown service '{name}'. Services on this node: "
              f"{', '.join(config['order']) or 'none'}", file=sys.stderr)
        return 1
    spec = services[name]
    try:
        if action == "start":
            print(start(name, spec))
        elif action == "stop":
            print(stop(name, spec))
        elif action == "restart":
            stop(name, spec)
            started = start(name, spec)
            if not started.endswith("started"):  # it must be a new instance: never "already"
                raise RuntimeError(f"restart did not start {name}: {started}")
            print(started.replace("started", "restarted"))
        elif action == "bootstrap" and spec.get("bootstrap"):
            # A new cluster from this member (Galera: --wsrep-new-cluster, as
            # galera_new_cluster); only while no member of it runs anywhere.
            print(start(name, spec, extra=spec["bootstrap"]).replace("started",
                                                                      "bootstrapped"))
        elif action == "status":
            state, pids = status_of(name, spec)
            print(f"{name} is {state}" + (f" (pids {' '.join(map(str, pids))})" if pids else ""))
            return 0 if state == "running" else 3
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except (RuntimeError, subprocess.CalledProcessError) as error:
        print(f"service: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

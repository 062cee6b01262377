#!/usr/bin/python3
"""The lab node's service manager: ``service NAME start|stop|restart|status``.

Runs inside a lab node (Debian's python3, standard library only), where it is installed
as /usr/local/sbin/service, so os-faults' service drivers and a person over SSH act on
one service of one node as on a server. It reads the node's services from
services.json beside it: {"order": [...], "services": {name: {command, user,
grep, ready, env, rundirs, log}}}. The node has its own pid namespace, so everything it
finds or kills belongs to this node only.
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
CONFIG = os.path.join(os.path.dirname(os.path.realpath(__file__)), "services.json")
PID_DIR = os.environ.get("EXTREME_LAB_PID_DIR", "/run/extreme-lab")
STOP_TIMEOUT = 15.0
READY_TIMEOUT = 90.0
# Boot (start-all) restarts a service that fails or exits, as Debian's units do with
# Restart=on-failure, until every service has run for BOOT_SETTLE s or BOOT_WINDOW s passed.
BOOT_WINDOW = 180.0
BOOT_SETTLE = 10.0
BOOT_PAUSE = 2.0
USAGE = ("usage: service NAME start|stop|restart|status\n"
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
    while time.monotonic() < deadline:
        state, _ = status_of(name, spec)
        if state != "running":
            raise RuntimeError(f"{name} exited while starting; see {spec['log']}")
        if not ready:
            return
        if serves(ready):
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


def start(name, spec, wait=True):
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
    cmd += ["--startas", spec["command"][0], "--"] + spec["command"][1:]
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
    state, pids = status_of(name, spec)
    if state == "stopped":
        return f"{name} is not running"
    main = read_pid(name)
    for pid in ([main] if main in pids else pids):
        # A frozen service must be woken to receive SIGTERM.
        for sig in (signal.SIGTERM, signal.SIGCONT):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and matching_pids(spec["grep"]):
        time.sleep(0.1)
    for pid in matching_pids(spec["grep"]):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.unlink(pidfile(name))
    except FileNotFoundError:
        pass
    return f"{name} stopped"


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
            print(start(name, spec).replace("started", "restarted"))
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

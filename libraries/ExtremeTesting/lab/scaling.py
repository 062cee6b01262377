"""Nodes added and removed while the lab runs: `extreme lab add-node NAME --role
compute|controller` and `extreme lab remove-node NAME` (issue 25).

The nodes the lab adds are topology.SPARE_NODES, never made at `up`: ``cmp2``, a compute
node built like cmp1 (nova-compute with the lab's guest driver, the Linux bridge agent),
and ``ctl3``, a controller with ctl1's API services and Nova's conductor and scheduler
(not a cluster member: MariaDB and RabbitMQ keep their 3 members). Each is built with
`up`'s own steps: its files (build.lay_out_node: its /etc, /var/lib, its package-state
overlay), its namespace, address and port on the switch sw1 (lab.node_link_up), its BMC
(lab.start_bmc), its debconf answers and, when the lab runs the older release, that
release in its overlay; then its services start in order, each waiting until it serves.
A compute node is ready once Nova reports its nova-compute up and Neutron its Linux bridge
agent alive; its host is left unmapped to a cell, as an operator's deploy tool leaves it
(the operator's step, `nova-manage cell_v2 discover_hosts`, is the scale keyword's; the
lab's schedulers also discover hosts every 10 s). A controller joins HAProxy only once
every API service of it serves (servers added at run time through HAProxy's admin socket,
and written into haproxy.cfg for its next start).

The node is written into lab.json's ``added`` before anything is made (so `down`, and the
clean-up of a failed add, find whatever was made), and into the target file and
os-faults.yaml once it serves. `remove-node` undoes all of it in reverse: out of HAProxy,
its guests removed, its services stopped (`service stop-all`), its power cut, its compute
services and network agents deleted from the cloud (as an operator decommissions a node:
nothing is left to register again), its BMC ended, its namespace and files removed, the
target file written without it. A node `up` made is never removed here: `down` removes
the whole lab.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from . import build, config, lab, paths, releases, targetfile
from . import topology as topo
from .api import Api
from .machine import Machine
from .shell import LabError, in_node, ip

ROLES = ("compute", "controller")
# Seconds: how long a new compute node may take to report itself to Nova, and its agent
# to Neutron (2-core machine under a running monitor: measured about 20 s; 3 min).
REPORT_WITHIN = 180
HAPROXY_TIMEOUT = 5.0
# The backends' default-server settings (config.haproxy_cfg): HAProxy does not apply
# default-server to servers added at run time, so they are given again.
DYNAMIC_SERVER = "check inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2"
# How long a server being removed may take to end its connections before `del server`.
HAPROXY_DRAIN = 30.0
# Before a new controller joins HAProxy each API gets this many rounds of 2 requests at
# once on the node's own address: nova-api's 2 uwsgi processes load their application on
# their first request (lazy-apps), which the first users would otherwise wait for.
WARM_UP_ROUNDS = 3
# A node being added starts its services at this lower CPU priority, and they go back to
# the normal one (0) once it serves, before it joins HAProxy: on the lab every node shares
# this machine's two cores, and a new controller's Python services starting at once (about
# a minute of CPU) slowed the running controllers' APIs past the monitor's 1 s timeout in
# the main job of 2026-12-07 (neutron requests of 1-4 s on ctl1 and ctl2 while ctl3 was
# built, 15 failed samples; 0 in the standalone run of the suite). On a cloud the new node
# brings its own CPUs. The older release's dpkg (its maintainer scripts byte-compile
# Keystone and Nova) runs at this priority too. On an AMD EPYC 2-core machine that was not
# enough (2026-12-07): with the monitor alone the lab took 14-17 of the 20 CPU-s per 10 s,
# and while cmp2 was added neutron answered in 3-35 s, an outage of 81 s (main job,
# dpkg at 0) and 97 s (the suite alone, dpkg at 10).
BUILD_NICE = 10
WARM_UP_TIMEOUT = 60.0


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabError(f"{what} needs root (namespaces, mounts): run it as root")


def check_addable(name: str, role: str, state: dict) -> topo.Node:
    """The spare node to add, or a LabError saying what is wrong and what to do."""
    if state.get("phase") != "up":
        raise LabError("the lab is not up: run 'extreme lab up' first")
    if role not in ROLES:
        raise LabError(f"--role {role!r}: use compute or controller")
    spare = topo.spare(name)
    if spare is None:
        made = name in lab.ALL_NODES or name == topo.CLIENT
        choices = ", ".join(f"{n.name} (--role {n.roles[0]})" for n in topo.SPARE_NODES)
        raise LabError((f"{name} is already a node of the lab ('extreme lab up' made it). "
                        if made else f"The lab cannot add a node named {name!r}. ")
                       + f"Nodes it adds: {choices}.")
    if spare.roles[0] != role:
        raise LabError(f"{name} is a {spare.roles[0]} node: run 'extreme lab add-node {name} "
                       f"--role {spare.roles[0]}'")
    added = state.get("added") or {}
    if name in added:
        phase = added[name].get("phase", "up")
        raise LabError(f"{name} is already added ({phase}): 'extreme lab remove-node {name}' "
                       f"removes it first")
    return spare


def check_removable(name: str, state: dict) -> str | None:
    """The added node's role; None for a node the lab adds that is not added (nothing to
    remove: a removal is idempotent, as an undo must be); a LabError for a node `up` made
    and for any other name."""
    if state.get("phase") != "up":
        raise LabError("the lab is not up: nothing to remove ('extreme lab status')")
    added = state.get("added") or {}
    if name in added:
        return str(added[name]["role"])
    if topo.spare(name) is not None:
        return None
    listed = ", ".join(added) or "none now"
    if name in lab.ALL_NODES or name == topo.CLIENT:
        raise LabError(f"{name} was made by 'extreme lab up' and is part of the lab's "
                       f"design: remove-node removes only nodes 'extreme lab add-node' added "
                       f"(added: {listed}). 'extreme lab down' removes the whole lab.")
    raise LabError(f"No node {name!r} was added to the lab (added: {listed}): nothing to "
                   f"remove.")


@contextmanager
def one_at_a_time():
    """One add or remove at a time on this lab (a second waits for the first)."""
    with open(paths.root() / "scale.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _set_added(name: str, entry: dict | None) -> list[str]:
    """lab.json's ``added`` with ``name`` set to ``entry`` (None: removed); the names."""
    added = dict(lab.read_state().get("added") or {})
    if entry is None:
        added.pop(name, None)
    else:
        added[name] = {**added.get(name, {}), **entry}
    lab.write_state(added=added)
    return list(added)


def secrets() -> dict[str, str]:
    return json.loads((paths.root() / "secrets.json").read_text())


# ---------------------------------------------------------------- add
def add_node(name: str, role: str) -> dict:
    """Add the spare node ``name`` in ``role`` to the running lab; returns its lab.json
    entry. On failure, what was made is removed again (unless EXTREME_LAB_KEEP_FAILED=1)."""
    require_root("Adding a node")
    with one_at_a_time():
        state = lab.read_state()
        node = check_addable(name, role, state)
        started = time.monotonic()
        _set_added(name, {"role": role, "phase": "adding",
                          "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        try:
            _add(node, role, secrets(), state)
        except BaseException as error:
            lab.say(f"add-node {name} failed: {error}; removing what was made")
            if os.environ.get("EXTREME_LAB_KEEP_FAILED") != "1":
                _remove(name, role, quiet=True)
            raise
        took = round(time.monotonic() - started, 1)
        _set_added(name, {"phase": "up", "add_seconds": took})
        added = lab.added_nodes()
        files = targetfile.rewrite(added)
        lab.write_state(files={**(lab.read_state().get("files") or {}), **files})
        lab.say(f"{name} added as a {role} node in {took:.0f} s; the target file lists it "
                f"({files['target']})")
        return lab.read_state()["added"][name]


def _add(node: topo.Node, role: str, values: dict[str, str], state: dict) -> None:
    name = node.name
    lab.say(f"adding {name} ({role}, {node.address}): its files, its port on "
            f"{topo.SWITCH}, its BMC")
    build.lay_out_added(node, values)
    lab.node_link_up(paths.netns(topo.SWITCH), name, node.address, topo.PREFIX)
    bmc = lab.start_bmc(node, values)
    lab.write_state(bmcs={**(lab.read_state().get("bmcs") or {}), name: bmc})
    lab.wait_port(node.bmc_address, 8000, 30, f"the BMC of {name}")
    Machine(name).power_on()
    lab.wait_port(node.address, 22, 30, f"sshd on {name}")
    services = [s.name for s in topo.services_of(name)]
    if any(s in releases.SERVICE_PACKAGES for s in services):
        releases.preseed(lab.node_pid(name), node)
        if state.get("release") == "old":
            lab.say(f"installing the older release of Keystone and Nova in {name}")
            lab.install_old_release(declared_upgrades(), [node], nice=BUILD_NICE)
    lab.say(f"starting on {name}: {', '.join(services)}")
    for service in services:  # in start order, each waiting until it serves
        lab.service(name, service, nice=BUILD_NICE)
    init = lab.node_pid(name)
    if role == "compute":
        api = logged_in(values)
        api.wait_until(f"{name} reported up by the compute API",
                       lambda: api.compute_host_up(name), REPORT_WITHIN)
        wanted = [(topo.AGENT_TYPES[s], name) for s in services if s in topo.AGENT_TYPES]
        api.wait_agents(wanted, REPORT_WITHIN)
        lab.say(f"{name}'s processes back to the normal priority: {reprioritize(init)}")
    else:
        warm_up(name, logged_in(values).token)
        lab.say(f"{name}'s processes back to the normal priority: {reprioritize(init)}")
        join_haproxy(name, [*lab.added_nodes()])
    build.set_autostart(name, True)  # a power cycle boots its services, as the others'


def node_processes(init: int, proc: str = "/proc") -> list[int]:
    """The PIDs (as this machine sees them) of every process in the pid namespace of the
    node whose init is ``init``."""
    try:
        wanted = os.readlink(f"{proc}/{init}/ns/pid")
    except OSError:
        return []
    found = []
    for entry in os.listdir(proc):
        if entry.isdigit():
            try:
                if os.readlink(f"{proc}/{entry}/ns/pid") == wanted:
                    found.append(int(entry))
            except OSError:  # ended meanwhile
                continue
    return found


def reprioritize(init: int, pids: list[int] | None = None) -> int:
    """The node's processes that still run at BUILD_NICE set back to the normal priority
    (0) once the node serves; a process that set its own priority (a guest's echo service)
    is left alone. Returns how many were changed."""
    changed = 0
    for pid in node_processes(init) if pids is None else pids:
        try:
            if os.getpriority(os.PRIO_PROCESS, pid) == BUILD_NICE:
                os.setpriority(os.PRIO_PROCESS, pid, 0)
                changed += 1
        except OSError:  # ended meanwhile
            continue
    return changed


def declared_upgrades() -> dict:
    """The upgrades the lab's target declares (changes.upgrades), for the older release."""
    import yaml

    try:
        data = yaml.safe_load((paths.root() / "target.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        data = {}
    upgrades = (data.get("changes") or {}).get("upgrades") or {}
    if not upgrades:
        raise LabError("The lab runs the older release but its target file declares no "
                       "upgrade (changes.upgrades): the new node cannot get the same "
                       "packages. 'extreme lab down', then 'extreme lab up --old-release'.")
    return upgrades


def logged_in(values: dict[str, str]) -> Api:
    api = Api(values["admin"])
    api.wait_until("a token through the VIP", lambda: api.login() or True, 60)
    return api


# ---------------------------------------------------------------- remove
def remove_node(name: str) -> None:
    """Remove a node `add_node` added: services stopped, deleted from the cloud, out of
    HAProxy, the switch, the BMCs and the target file, its namespace and files gone."""
    require_root("Removing a node")
    with one_at_a_time():
        role = check_removable(name, lab.read_state())
        if role is None:
            if paths.node_dir(name).exists() or paths.netns(name) in lab.leftover_namespaces():
                _remove(name, topo.role_of(name), quiet=True)  # what a crash left
            lab.say(f"{name} is not in the lab: nothing to remove")
            return
        started = time.monotonic()
        left, problems = _remove(name, role)
        took = time.monotonic() - started
        if left or problems:
            raise LabError(f"{name} was removed from the lab in {took:.0f} s, but "
                           + "; ".join(([f"the cloud still lists {'; '.join(left)}: delete "
                                         f"them (openstack compute service delete / network "
                                         f"agent delete)"] if left else [])
                                       + [f"{p} did not succeed" for p in problems]) + ".")
        lab.say(f"{name} removed in {took:.0f} s: its services, cloud records, HAProxy "
                f"servers, switch port, BMC, namespace and files")


def _remove(name: str, role: str, quiet: bool = False) -> tuple[list[str], list[str]]:
    """Everything of the node removed, whatever state it is in (each step runs even when
    an earlier one failed); returns what the cloud still lists of it and the steps that
    failed."""
    problems: list[str] = []

    def step(what: str, action, *args) -> None:
        try:
            action(*args)
        except (LabError, OSError, ValueError) as error:
            problems.append(f"{what}: {error}")

    _set_added(name, {"role": role, "phase": "removing"})
    if role == "controller":
        step("HAProxy", leave_haproxy, name, [n for n in lab.added_nodes() if n != name])
    machine = Machine(name)
    if paths.node_dir(name).exists():
        step("autostart", build.set_autostart, name, False)
        if machine.is_on():
            if role == "compute":
                for line in lab.remove_guests([name]):
                    if not quiet:
                        lab.say(f"guests removed on {line}")
            step("service stop-all", lambda: in_node(
                lab.node_pid(name), ["/usr/local/sbin/service", "stop-all"], None, 300))
        step("power off", machine.power_off)
    left: list[str] = []
    try:
        left = forget(name, secrets())
    except (LabError, OSError, ValueError) as error:
        left = [f"(the cloud could not be asked: {error})"]
    bmcs = dict(lab.read_state().get("bmcs") or {})
    pid = bmcs.pop(name, None)
    if pid not in bmcs.values():  # never the base nodes' shared BMC process
        lab.stop_bmc(pid)
    lab.write_state(bmcs=bmcs)
    step("namespace", remove_namespace, name)
    for folder in (paths.node_dir(name), paths.root() / "bmc" / name):
        shutil.rmtree(folder, ignore_errors=True)
    added = _set_added(name, None)
    step("target file", targetfile.rewrite, added)
    return left, problems


def remove_namespace(name: str) -> None:
    """Whatever still runs in the node's network namespace ended, the namespace deleted
    (its eth0 goes with it, and so the switch's end of the link)."""
    ns = paths.netns(name)
    if ns not in lab.leftover_namespaces():
        return
    for pid in lab.namespace_pids(ns):
        lab._kill(int(pid))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and lab.namespace_pids(ns):
        time.sleep(0.05)
    ip("netns", "delete", ns)


def forget(name: str, values: dict[str, str]) -> list[str]:
    """The node's compute services (every binary) and network agents deleted from the
    cloud, as an operator decommissions a node once its services are stopped; returns
    those that could not be deleted."""
    api = logged_in(values)
    return api.forget_host(name)


# What the monitor's probes ask of each API (monitor/config.py: the token probe and the
# reads), sent to a new node itself before it joins HAProxy. An unauthenticated answer
# (a version document, a 401) comes before any worker has validated a token, opened its
# database connections or loaded its models: on an AMD EPYC 2-core machine ctl3's nova-api
# then answered its first real GET /servers in over 1 s (the monitor's timeout), in
# rotation (suites/changes/scale.robot, 2026-12-08).
REAL_REQUESTS = {"identity": ("/v3/auth/tokens", "/v3/auth/projects"),
                 "compute": ("/v2.1/servers?limit=1",),
                 "image": ("/v2/images?limit=1",),
                 "network": ("/v2.0/networks?limit=1",),
                 "placement": ("/resource_providers",)}


def warm_up(name: str, token: str = "") -> None:
    """Every API service of the node answers requests on its own address (below 500),
    2 at a time, WARM_UP_ROUNDS times: its version document, then (with ``token``) the
    real requests the monitor's probes send (REAL_REQUESTS), so that each of its workers
    has served one; a LabError names the first that does not answer."""
    address = topo.node(name).address
    asks: list[tuple[str, dict[str, str]]] = []
    for service in topo.services_of(name):
        if not service.api:
            continue
        root = f"http://{address}:{service.port}"
        asks.append((root + build.READY_PATH.get(service.api, "/"), {}))
        if token:
            asks += [(root + path, {"X-Auth-Token": token, "X-Subject-Token": token})
                     for path in REAL_REQUESTS.get(service.api, ())]
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

    def ask(url: str, headers: dict[str, str]) -> None:
        try:
            with direct.open(urllib.request.Request(url, headers=headers),
                             timeout=WARM_UP_TIMEOUT):
                return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
            problem = f"HTTP {error.code}"
        except OSError as error:
            problem = str(error)
        raise LabError(f"{url} did not answer before {name} joins HAProxy: {problem}")

    with ThreadPoolExecutor(2) as pool:
        for url, headers in asks:
            for _ in range(WARM_UP_ROUNDS):
                list(pool.map(ask, [url, url], [headers, headers]))


# ---------------------------------------------------------------- HAProxy
def haproxy_socket() -> str:
    return str(paths.node_dir("lb") / "haproxy" / "admin.sock")


def haproxy(text: str, timeout: float = HAPROXY_TIMEOUT) -> str:
    """One command on HAProxy's admin socket; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(haproxy_socket())
            connection.sendall(text.encode() + b"\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
        except OSError as error:
            raise LabError(f"HAProxy's admin socket {haproxy_socket()} did not take "
                           f"'{text}': {error}") from None
    return answer.decode(errors="replace").strip()


def join_commands(name: str, added: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(command, answers that mean done) putting ``name`` into every backend of its API
    services, health-checked, in rotation."""
    commands = []
    address = topo.node(name).address
    for service in topo.api_services(added):
        if name not in service.nodes:
            continue
        server = f"{service.name}/{name}"
        commands += [(f"add server {server} {address}:{service.port} {DYNAMIC_SERVER}",
                      ("New server registered", "Already exists")),
                     (f"enable health {server}", ("",)),
                     (f"set server {server} state ready", ("",))]
    return commands


def join_haproxy(name: str, added: list[str]) -> None:
    """The node's servers in HAProxy now (its services serve) and in haproxy.cfg."""
    for command, done in join_commands(name, added):
        answer = haproxy(command)
        if not any(answer.startswith(d) if d else answer == "" for d in done):
            raise LabError(f"HAProxy refused '{command}': {answer}")
    write_haproxy_cfg(added)


def leave_haproxy(name: str, remaining: list[str]) -> None:
    """The node's servers out of rotation, deleted once their connections ended, and
    haproxy.cfg written without them."""
    backends = [s.name for s in topo.api_services([*remaining, name]) if name in s.nodes]
    for backend in backends:
        haproxy(f"set server {backend}/{name} state maint")
        haproxy(f"disable health {backend}/{name}")
    deadline = time.monotonic() + HAPROXY_DRAIN
    pending = list(backends)
    while pending:
        backend = pending[0]
        answer = haproxy(f"del server {backend}/{name}")
        if answer.startswith(("Server deleted", "No such server")) or "No such" in answer:
            pending.pop(0)
        elif time.monotonic() >= deadline:
            raise LabError(f"HAProxy kept {backend}/{name}: {answer}")
        else:
            time.sleep(0.5)
    write_haproxy_cfg(remaining)


def write_haproxy_cfg(added: list[str]) -> None:
    path = paths.node_dir("lb") / "etc" / "haproxy" / "haproxy.cfg"
    build.write(path, config.haproxy_cfg(haproxy_socket(), added))

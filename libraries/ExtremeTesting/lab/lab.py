"""The lab's life: install, up, down, status.

`up` builds the network (a bridge in the switch node, a veth per node, the runner on the
management network, the switch's management port out of band), boots every node, starts
the database node's services, prepares the databases, starts the controllers, the
compute node and the load balancer in dependency order, checks that the cloud serves,
then writes the target file, clouds.yaml, secure.yaml and the os-faults configuration.
If anything fails, `up` takes down what it made. `down` removes every namespace,
process, interface and file of the lab, whatever state the lab is in.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, config, paths, releases, targetfile
from . import personas as lab_personas
from . import topology as topo
from .api import Api
from .machine import Machine
from .shell import LabError, in_node, ip, run

DEBIAN_PACKAGES = (
    "keystone", "mariadb-server", "rabbitmq-server", "memcached", "haproxy",
    "openssh-server", "openssh-client", "tini", "nova-api", "nova-conductor",
    "nova-scheduler", "nova-compute", "nova-compute-ironic", "placement-api", "glance-api",
    "neutron-server", "uwsgi", "uwsgi-plugin-python3", "iproute2", "iptables", "ipmitool",
    "procps", "psmisc", "python3-pymysql", "python3-memcache", "util-linux", "openssl",
    # Galera: the replication library and the tool of its state transfers (SST by rsync).
    "galera-4", "rsync",
    # Guests of the data plane (lab/guests.py): their DHCP client and the DHCP server.
    "udhcpc", "dnsmasq-base",
    # Neutron's data plane: the agents, VRRP for HA routers, and what the agents run
    # (dnsmasq-utils' dhcp_release, conntrack, arping, radvd, ebtables, ipset, bridge-utils
    # come as their dependencies; listed where the lab calls them by path).
    "neutron-linuxbridge-agent", "neutron-dhcp-agent", "neutron-l3-agent", "keepalived",
    "conntrack", "iputils-arping", "ipset", "ebtables",
)
REQUIRED_BINARIES = ("/usr/bin/tini", "/usr/sbin/sshd", "/usr/sbin/mariadbd",
                     "/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/bin/uwsgi",
                     "/usr/lib/galera/libgalera_smm.so", "/usr/bin/rsync",
                     "/sbin/udhcpc", "/usr/sbin/dnsmasq",
                     "/usr/bin/keystone-manage", "/usr/bin/nova-manage",
                     "/usr/bin/glance-api", "/usr/bin/neutron-server",
                     "/usr/bin/placement-api", "/usr/sbin/haproxy", "/usr/bin/memcached",
                     "/usr/bin/neutron-linuxbridge-agent", "/usr/bin/neutron-dhcp-agent",
                     "/usr/bin/neutron-l3-agent", "/usr/bin/neutron-keepalived-state-change",
                     "/usr/bin/privsep-helper", "/usr/sbin/keepalived", "/usr/bin/dhcp_release",
                     "/usr/sbin/conntrack", "/usr/bin/arping", "/usr/sbin/radvd",
                     "/usr/sbin/ipset", "/usr/sbin/ebtables")
ALL_NODES = [topo.SWITCH] + [n.name for n in topo.NODES]
# The nodes `extreme lab add-node` may add (lab/scaling.py): `down` removes them too.
SPARE_NODES = [n.name for n in topo.SPARE_NODES]
# Every network namespace the lab makes on this machine (as paths.netns names them): the
# nodes' (added ones too) and the client's. Routers', DHCP servers' and guests'
# namespaces live inside the nodes (each node's own /run/netns) and end with them.
NAMESPACES = ALL_NODES + SPARE_NODES + [topo.CLIENT]


def say(message: str) -> None:
    print(f"[lab {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- install
def missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if not os.path.exists(b)]


def install() -> None:
    """Install Debian's packages without starting any of their services."""
    if not missing_binaries():
        say("Debian packages already installed")
        return
    if read_state().get("phase") in ("up", "building"):
        # Each node overlays the runner's /usr: changing it under them is undefined.
        raise LabError("A lab is running on this machine's packages: run 'extreme lab down' "
                       "before 'extreme lab install'")
    if os.geteuid() != 0:
        raise LabError("Installing packages needs root: run 'sudo extreme lab install'")
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:  # keeps package scripts from starting services on the runner
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        say("apt-get update")
        run(["apt-get", "update", "-q"], timeout=600, env=env)
        say(f"apt-get install {len(DEBIAN_PACKAGES)} packages (about 2 minutes)")
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *DEBIAN_PACKAGES],
            timeout=1800, env=env)
    finally:
        if made_policy:
            policy.unlink()
    if missing_binaries():
        raise LabError(f"Still missing after install: {', '.join(missing_binaries())}")


# ---------------------------------------------------------------- state
def read_state() -> dict:
    try:
        return json.loads(paths.state_file().read_text())
    except (OSError, ValueError):
        return {}


def write_state(**changes) -> dict:
    state = read_state()
    state.update(changes)
    paths.state_file().write_text(json.dumps(state, indent=1))
    return state


def added_nodes(state: dict | None = None) -> list[str]:
    """The nodes `extreme lab add-node` added (lab.json's ``added``), in the order added."""
    return list(((read_state() if state is None else state).get("added") or {}))


# ---------------------------------------------------------------- network
def network_up() -> None:
    sw = paths.netns(topo.SWITCH)
    ip("netns", "add", sw)
    ip("-n", sw, "link", "set", "lo", "up")
    ip("-n", sw, "link", "add", "br0", "type", "bridge")
    ip("-n", sw, "link", "set", "br0", "up")
    for node in topo.NODES:
        node_link_up(sw, node.name, node.address, topo.PREFIX)
    ip("-n", paths.netns("lb"), "addr", "add", f"{topo.VIP}/{topo.PREFIX}", "dev", "eth0")
    external_up(sw)
    # The runner joins the management network like an operator's workstation...
    ip("link", "add", "xt-mgmt", "type", "veth", "peer", "name", "runner", "netns", sw)
    ip("-n", sw, "link", "set", "runner", "master", "br0", "up")
    ip("addr", "add", f"{topo.HOST_ADDRESS}/{topo.PREFIX}", "dev", "xt-mgmt")
    ip("link", "set", "xt-mgmt", "up")
    # ...and reaches the switch's own management port out of band, not through br0.
    ip("link", "add", "xt-oob", "type", "veth", "peer", "name", "mgmt0", "netns", sw)
    ip("-n", sw, "addr", "add", f"{topo.SWITCH_MGMT_ADDRESS}/{topo.PREFIX}", "dev", "mgmt0")
    ip("-n", sw, "link", "set", "mgmt0", "up")
    ip("addr", "add", f"{topo.HOST_OOB_ADDRESS}/{topo.PREFIX}", "dev", "xt-oob")
    ip("link", "set", "xt-oob", "up")


def node_link_up(sw: str, name: str, address: str, prefix: int) -> None:
    """A node's (or the client's) network namespace, its eth0 with its address, and its
    port on the switch's bridge (named and labelled after it)."""
    ns = paths.netns(name)
    ip("netns", "add", ns)
    ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", sw, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("-n", sw, "link", "set", name, "master", "br0", "up")
    ip("-n", sw, "link", "set", name, "alias", name)  # the switch's port label
    ip("-n", ns, "addr", "add", f"{address}/{prefix}", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")


def external_up(sw: str) -> None:
    """The external network on the same bridge: each controller's second link (eth1, no
    address: the Linux bridge agent puts it in the external network's bridge) and the
    client namespace, the tenants' users, with an address on the external subnet only (no
    route anywhere else)."""
    for name in topo.EXTERNAL_NODES:
        port = topo.external_port(name)
        ip("-n", sw, "link", "add", port, "type", "veth", "peer", "name",
           topo.EXTERNAL_INTERFACE, "netns", paths.netns(name))
        ip("-n", sw, "link", "set", port, "master", "br0", "up")
        ip("-n", sw, "link", "set", port, "alias", f"{name}:{topo.EXTERNAL_INTERFACE}")
        ip("-n", paths.netns(name), "link", "set", topo.EXTERNAL_INTERFACE, "up")
    node_link_up(sw, topo.CLIENT, topo.CLIENT_ADDRESS, topo.EXTERNAL_PREFIX)


def wait_port(address: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise LabError(f"{what} did not answer on {address}:{port} within {timeout:.0f} s")


# ---------------------------------------------------------------- up
def node_pid(name: str) -> int:
    pid = Machine(name).init_pid
    if not pid:
        raise LabError(f"Node {name} is not running (powered off?)")
    return pid


def service(node: str, name: str, action: str = "start", timeout: float = 120,
            nice: int = 0) -> None:
    """``service NAME ACTION`` in the node; ``nice``: what it starts runs at that priority."""
    prefix = ["nice", "-n", str(nice)] if nice else []
    in_node(node_pid(node), [*prefix, "/usr/local/sbin/service", name, action],
            timeout=timeout)


def prepare_database(values: dict[str, str]) -> None:
    """The clusters: Galera bootstrapped from the first member, the others joining it (a
    state transfer by rsync), RabbitMQ's members joined to the first one's cluster,
    memcached on the controllers; then the databases and their user."""
    first = topo.MEMBERS[0]
    with ThreadPoolExecutor(len(topo.MEMBERS)) as pool:
        list(pool.map(lambda n: in_node(node_pid(n), [
            "mariadb-install-db", "--defaults-file=/etc/mysql/my.cnf", "--user=mysql",
            "--auth-root-authentication-method=socket", "--skip-test-db"], timeout=120),
            topo.MEMBERS))
    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(member_start, first, "mariadb", "bootstrap")]
        jobs += [pool.submit(member_start, n, "rabbitmq") for n in topo.MEMBERS]
        jobs += [pool.submit(service, n, "memcached") for n in topo.CONTROLLERS]
        for job in jobs:
            job.result()
    with ThreadPoolExecutor(len(topo.MEMBERS)) as pool:
        jobs = [pool.submit(member_start, n, "mariadb") for n in topo.MEMBERS[1:]]
        # One RabbitMQ node joins at a time: two joining at once left one unable to start
        # (mnesia_app failed on start_app).
        jobs.append(pool.submit(lambda: [join_rabbitmq(n) for n in topo.MEMBERS[1:]]))
        for job in jobs:
            job.result()
    with ThreadPoolExecutor(len(topo.MEMBERS)) as pool:
        list(pool.map(lambda n: member_start(n, "clustercheck"), topo.MEMBERS))
    check_clusters()
    names = ["keystone", "placement", "glance", "nova_api", "nova", "nova_cell0", "neutron"]
    sql = "".join(f"CREATE DATABASE IF NOT EXISTS {n};" for n in names)
    sql += (f"CREATE USER IF NOT EXISTS 'openstack'@'%' IDENTIFIED BY '{values['db']}';"
            "GRANT ALL PRIVILEGES ON *.* TO 'openstack'@'%'; FLUSH PRIVILEGES;")
    in_node(node_pid(first), ["mysql"], input=sql)


CLUSTER_OF = {"mariadb": "Galera", "clustercheck": "Galera", "rabbitmq": "RabbitMQ"}


def member_start(node: str, name: str, action: str = "start") -> None:
    """Starts a cluster member's service; a failure names the member in one line."""
    try:
        service(node, name, action)
    except LabError as error:
        last = str(error).strip().splitlines()[-1]
        raise LabError(f"{CLUSTER_OF[name]} member {node} could not start or join its "
                       f"cluster ({name} {action}): {last}") from None


def join_rabbitmq(node: str) -> None:
    """A fresh RabbitMQ node joins the first member's cluster, as an operator does it."""
    pid, seed = node_pid(node), f"rabbit@{topo.MEMBERS[0]}"
    try:
        for step in (["stop_app"], ["join_cluster", seed], ["start_app"]):
            in_node(pid, ["rabbitmqctl", *step], timeout=120)
    except LabError as error:
        last = str(error).strip().splitlines()[-1]
        raise LabError(f"RabbitMQ member {node} could not join {seed}: {last}") from None


def galera_status(node: str) -> dict[str, str]:
    out = in_node(node_pid(node), ["mysql", "-N", "-B", "-e",
                                   "SHOW GLOBAL STATUS LIKE 'wsrep_%'"], timeout=30).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def rabbitmq_running_nodes(node: str) -> list[str]:
    out = in_node(node_pid(node), ["rabbitmqctl", "cluster_status", "--formatter", "json"],
                  timeout=60).stdout
    return list(json.loads(out).get("running_nodes") or [])


def check_clusters(timeout: float = 60) -> None:
    """Every member in its cluster: Galera Synced in a Primary component of all members,
    RabbitMQ running on all. Fails with one line naming the first member that is not."""
    size = str(len(topo.MEMBERS))
    wanted = {f"rabbit@{n}" for n in topo.MEMBERS}
    deadline = time.monotonic() + timeout
    while True:
        problem = None
        for node in topo.MEMBERS:
            status = galera_status(node)
            seen = (status.get("wsrep_local_state_comment"), status.get("wsrep_cluster_status"),
                    status.get("wsrep_cluster_size"))
            if seen != ("Synced", "Primary", size):
                problem = (f"Galera member {node} is not in the cluster: state {seen[0]}, "
                           f"status {seen[1]}, cluster size {seen[2]} of {size}")
                break
        if problem is None:
            missing = wanted - set(rabbitmq_running_nodes(topo.MEMBERS[0]))
            if missing:
                problem = (f"RabbitMQ member {', '.join(sorted(missing))} is not running in "
                           f"the cluster of rabbit@{topo.MEMBERS[0]}")
        if problem is None:
            return
        if time.monotonic() >= deadline:
            raise LabError(problem)
        time.sleep(1)


def sync_databases(values: dict[str, str]) -> None:
    ctl = node_pid("ctl1")

    def keystone():
        in_node(ctl, ["keystone-manage", "db_sync"], user="keystone", timeout=300)

    def nova():
        in_node(ctl, ["nova-manage", "api_db", "sync"], user="nova", timeout=300)
        # cell0's connection comes from nova.conf ([database] connection with "_cell0"
        # added to the database name: nova_cell0), never from argv where `ps` shows it.
        in_node(ctl, ["nova-manage", "cell_v2", "map_cell0"], user="nova")
        cells = in_node(ctl, ["nova-manage", "cell_v2", "list_cells"], user="nova").stdout
        if "cell1" not in cells:
            in_node(ctl, ["nova-manage", "cell_v2", "create_cell", "--name", "cell1"],
                    user="nova")
        in_node(ctl, ["nova-manage", "db", "sync"], user="nova", timeout=300)

    def others():
        in_node(ctl, ["placement-manage", "db", "sync"], user="placement", timeout=300)
        in_node(ctl, ["glance-manage", "db_sync"], user="glance", timeout=300)

    def neutron():
        in_node(ctl, ["neutron-db-manage", "--config-file", "/etc/neutron/neutron.conf",
                      "--config-file", "/etc/neutron/plugins/ml2/ml2_conf.ini",
                      "upgrade", "heads"], user="neutron", timeout=400)

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(f) for f in (keystone, nova, others, neutron)]:
            future.result()


def bootstrap_keystone(values: dict[str, str]) -> None:
    url = f"http://{topo.VIP}:5000/v3"
    # The admin password reaches keystone-manage through its environment, never argv.
    env = dict(os.environ, OS_BOOTSTRAP_PASSWORD=values["admin"])
    in_node(node_pid("ctl1"), ["keystone-manage", "bootstrap", "--bootstrap-admin-url", url,
                               "--bootstrap-public-url", url, "--bootstrap-internal-url", url,
                               "--bootstrap-region-id", "RegionOne"],
            user="keystone", timeout=120, env=env)


def up(verify: bool = True, old_release: bool = False) -> dict:
    if os.geteuid() != 0:
        raise LabError("The lab needs root (namespaces, mounts): run it as root")
    missing = missing_binaries()
    if missing:
        raise LabError(f"Debian's OpenStack packages are not installed ({missing[0]} missing): "
                       "run 'extreme lab install' first")
    state = read_state()
    wanted = "old" if old_release else "new"
    if state.get("phase") == "up" and state.get("release", "new") != wanted:
        raise LabError(f"The lab is up with the {state.get('release', 'new')} release of "
                       f"Keystone and Nova, not the {wanted} one asked for: 'extreme lab down', "
                       f"then 'extreme lab up{' --old-release' if old_release else ''}'")
    if state.get("phase") == "up":
        say(f"The lab is already up (since {state.get('up_at')}): nothing to do. "
            "'extreme lab status' tells what runs; 'extreme lab down' removes it.")
        return state
    if paths.root().exists() or leftover_namespaces():
        raise LabError(f"A half-made lab is in the way (phase '{state.get('phase', '?')}', "
                       f"{paths.root()}): run 'extreme lab down' first")
    build.privsep_mode()  # a wrong EXTREME_LAB_PRIVSEP fails before anything is made
    upgrades = releases.plan()  # local apt lists only: a wrong ask fails before anything
    if old_release:
        missing_older(upgrades)
    started = time.monotonic()
    paths.root().mkdir(parents=True, mode=0o700)
    write_state(phase="building", started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    try:
        return _up(started, verify, old_release, upgrades)
    except BaseException as error:
        say(f"up failed: {error}; taking down what was made")
        keep = os.environ.get("EXTREME_LAB_KEEP_FAILED") == "1"
        if not keep:
            down(quiet=True)
        raise


def missing_older(upgrades: dict) -> None:
    missing = [s for s in releases.SOURCES.values() if s not in upgrades]
    if missing:
        raise LabError(f"The Debian mirror offers no older revision of {', '.join(missing)} "
                       f"than the one installed: run 'extreme lab up' without --old-release")


def install_old_release(upgrades: dict, nodes: list[topo.Node] | None = None,
                        nice: int = 0) -> None:
    """Keystone's and Nova's older revision inside every node that runs them (or in
    ``nodes``), dpkg running at priority ``nice``."""
    missing_older(upgrades)
    old = {name: version for upgrade in upgrades.values()
           for name, version in upgrade["from"].items()}
    nodes = releases.nodes_with_packages() if nodes is None else nodes
    if not nodes:
        return
    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(lambda n: releases.install_in_node(node_pid(n.name), old, nice),
                      nodes))


def _up(started: float, verify: bool, old_release: bool = False,
        upgrades: dict | None = None) -> dict:
    values = build.make_secrets()
    say(f"laying out files in {paths.root()}")
    build.lay_out(values)
    say("building the network (switch sw1, nodes, management and out-of-band links)")
    network_up()
    for name in ALL_NODES:
        Machine(name).power_on()
    for name in ALL_NODES:
        node = topo.node(name) if name != topo.SWITCH else None
        address = node.address if node else topo.SWITCH_MGMT_ADDRESS
        wait_port(address, 22, 30, f"sshd on {name}")
    for node in releases.nodes_with_packages():
        releases.preseed(node_pid(node.name), node)
    say(f"nodes booted; forming the Galera and RabbitMQ clusters on "
        f"{', '.join(topo.MEMBERS)}, memcached on the controllers; "
        "fetching both releases of Keystone and Nova")
    with ThreadPoolExecutor(1) as pool:
        fetched = pool.submit(releases.fetch, upgrades or {})
        prepare_database(values)
        try:
            fetched.result()
        except LabError as error:
            if old_release:
                raise
            # Without the mirror the lab still serves; only the upgrade cases lack theirs.
            say(f"no package upgrade to offer (changes.upgrades left empty): {error}")
            upgrades = {}
    service("lb", "haproxy")
    say(f"databases ready ({time.monotonic() - started:.0f} s); syncing schemas")
    sync_databases(values)
    if old_release:
        say("installing the older release of Keystone and Nova in "
            + ", ".join(n.name for n in releases.nodes_with_packages()))
        install_old_release(upgrades)
    bootstrap_keystone(values)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: service(n, "keystone"), topo.CONTROLLERS))
    api = Api(values["admin"])
    api.wait_until("a token through the VIP", lambda: api.login() or True, 60)
    api.register_services(values["service"])
    say(f"keystone serves ({time.monotonic() - started:.0f} s); starting the other services")
    # nova's conductor and scheduler exit when placement does not answer: placement first,
    # then everything else at once (each start waits for its own service to answer).
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: service(n, "placement"), topo.CONTROLLERS))
    rest = [(n, s.name) for n in topo.CONTROLLERS for s in topo.services_of(n)
            if s.name not in ("keystone", "placement", "memcached", *CLUSTER_OF,
                              *topo.AGENT_TYPES)]
    rest += [("cmp1", "nova-compute")]
    with ThreadPoolExecutor(len(rest)) as pool:
        list(pool.map(lambda pair: service(*pair), rest))
    # Neutron's agents once neutron-server serves (their first RPC calls get answers),
    # while cmp1 reports itself and is mapped to its cell.
    agents = [(n, s.name) for s in topo.SERVICES if s.name in topo.AGENT_TYPES
              for n in s.nodes]
    say(f"every service runs ({time.monotonic() - started:.0f} s); starting Neutron's "
        f"{len(agents)} agents (privileged calls: {build.privsep_mode()}), mapping cmp1 "
        "to cell1")
    with ThreadPoolExecutor(len(agents)) as pool:
        started_agents = [pool.submit(service, *pair) for pair in agents]
        api.wait_until("cmp1 reported by the compute API", api.compute_host_up, 90)
        in_node(node_pid("ctl1"), ["nova-manage", "cell_v2", "discover_hosts"], user="nova")
        for job in started_agents:
            job.result()
    api.wait_agents(topo.agents(), 90)
    external = api.ensure_external_network()
    say(f"Neutron's {len(topo.agents())} agents are alive; external network "
        f"'{topo.EXTERNAL_NETWORK}' {external['subnet_cidr']} "
        f"({time.monotonic() - started:.0f} s)")
    seeds = api.seed()
    personas = lab_personas.create(api)
    if verify:
        took = api.server_lifecycle(seeds["flavor"], seeds["image"])
        say(f"a server reached ACTIVE on the fake hypervisor and was deleted ({took:.1f} s)")
    for name in ALL_NODES:
        build.set_autostart(name, True)
    tracebacks = logged_tracebacks()
    say("services that logged a traceback while starting: "
        + ("; ".join(f"{where} ({what})" for where, what in tracebacks.items()) or "none"))
    bmcs = start_bmcs(values)
    files = targetfile.write_all(values, personas, upgrades)
    elapsed = time.monotonic() - started
    state = write_state(phase="up", up_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        up_seconds=round(elapsed, 1), bmcs=bmcs, files=files, seeds=seeds,
                        tracebacks=tracebacks,
                        release="old" if old_release else "new")
    say(f"the lab is up in {elapsed:.0f} s")
    for what, path in files.items():
        say(f"  {what:<12} {path}")
    say("  credentials: eval \"$(extreme lab env)\"")
    return state


def logged_tracebacks() -> dict[str, str]:
    """{"node log/file": "N tracebacks, first at line L"} for every log file of the lab's
    nodes holding a Python traceback: a healthy start logs none."""
    found = {}
    for node in topo.NODES:
        logs = paths.node_dir(node.name) / "log"
        for path in sorted(p for p in logs.rglob("*") if p.is_file()):
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            at = [i + 1 for i, line in enumerate(lines)
                  if "Traceback (most recent call last)" in line]
            if at:
                found[f"{node.name} {path.relative_to(logs)}"] = (
                    f"{len(at)} traceback{'s' if len(at) > 1 else ''}, first at line {at[0]}")
    return found


# ---------------------------------------------------------------- BMCs
def start_bmcs(values: dict[str, str]) -> dict[str, int]:
    """One BMC process for every base node (IPMI and Redfish on each node's own BMC
    address), when the BMC code is present; {node: its PID} (the same PID for all).
    Returns once it serves every node; a node that cannot be served fails in one line
    naming it, and the process is ended."""
    try:
        from . import bmc  # noqa: F401
    except ImportError:
        say("no BMC emulator in this version: skipping BMCs")
        return {}
    proc = _start_bmc_process(topo.NODES, values)
    try:
        _wait_bmcs(proc, topo.NODES, paths.root() / "bmc" / "bmc.log", 30)
    except LabError:
        proc.kill()
        proc.wait(10)
        raise
    return {node.name: proc.pid for node in topo.NODES}


def start_bmc(node: topo.Node, values: dict[str, str]) -> int:
    """The node's own BMC process (IPMI on 623, Redfish on 8000 of its BMC address), for
    a node added after `up`; its PID. Returns at once: wait for its Redfish port."""
    return _start_bmc_process([node], values).pid


def _start_bmc_process(nodes: Sequence[topo.Node], values: dict[str, str]) -> subprocess.Popen:
    """A BMC process serving ``nodes``, each with its state and log in bmc/<node>/; its
    stderr goes to bmc/<node>/bmc.log for one node, bmc/bmc.log for several."""
    env = dict(os.environ, EXTREME_LAB_BMC_PASSWORD=values["bmc"])
    argv = [sys.executable, "-m", "ExtremeTesting.lab.bmc", "--ipmi-port", "623",
            "--redfish-port", "8000", "--username", "admin"]
    for node in nodes:
        folder = paths.root() / "bmc" / node.name
        folder.mkdir(parents=True, exist_ok=True)
        argv += ["--node", node.name, "--address", node.bmc_address,
                 "--state-dir", str(folder)]
    log_path = paths.root() / "bmc" / (f"{nodes[0].name}/bmc.log" if len(nodes) == 1
                                      else "bmc.log")
    with open(log_path, "ab") as log:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)


def _wait_bmcs(proc: subprocess.Popen, nodes: Sequence[topo.Node], log: Path,
               timeout: float) -> None:
    """Until the process said it serves every node (its "ready node=..." lines, written
    once every node's IPMI and Redfish sockets are bound: a port answered by some older
    process would not do). The process ending first fails with its last line (the BMC
    names the node it could not serve)."""
    deadline = time.monotonic() + timeout
    while True:
        said = log.read_text(errors="replace") if log.exists() else ""
        missing = [n for n in nodes if f"ready node={n.name} ipmi=" not in said]
        if not missing:
            return
        if proc.poll() is not None:
            lines = [line for line in said.splitlines() if line.strip()]
            raise LabError(f"the BMCs exited ({proc.returncode}): "
                           f"{lines[-1] if lines else 'nothing logged'} (see {log})")
        if time.monotonic() > deadline:
            raise LabError(f"the BMC of {missing[0].name} was not serving on "
                           f"{missing[0].bmc_address} within {timeout:.0f} s (see {log})")
        time.sleep(0.1)


def stop_bmc(pid: int | str | None) -> None:
    """Ends a BMC process that start_bmc(s) started, when the PID is still that BMC (a PID
    from lab.json may have been reused since, e.g. after a reboot)."""
    if pid and "ExtremeTesting.lab.bmc" in _cmdline(int(pid)):
        _kill(int(pid))


def bmc_pids(state: dict) -> list[int]:
    """Every BMC process in lab.json's ``bmcs`` (node -> PID; the base nodes share one
    process, added nodes have their own), each once."""
    return sorted({int(pid) for pid in (state.get("bmcs") or {}).values() if pid})


# ---------------------------------------------------------------- down
def leftover_namespaces() -> list[str]:
    listed = ip("netns", "list", check=False).stdout.split()
    ours = {paths.netns(n) for n in NAMESPACES}
    return [n for n in listed if n in ours]


def remove_guests(computes: list[str] | None = None) -> list[str]:
    """Every guest of a compute node that is on (every compute node, added ones too, or
    those named), removed inside it (its processes, its namespace, its veth) before the
    node's power goes; returns what each node said. Powering the node off would end them
    too (their namespaces live in the node's /run): this is the orderly way, and it says
    what there was."""
    said = []
    if computes is None:
        computes = [n for s in topo.services(added_nodes()) if s.name == "nova-compute"
                    for n in s.nodes]
    for name in computes:
        pid = Machine(name).init_pid if paths.node_dir(name).exists() else None
        if not pid:
            continue
        try:
            done = in_node(pid, ["/usr/bin/python3", f"{config.GUEST_LIB}/guests.py",
                                 "remove-all"], timeout=120, check=False)
        except LabError as error:  # the power-off below ends them anyway
            said.append(f"{name}: {error}")
            continue
        said.append(f"{name}: {(done.stdout or done.stderr).strip() or 'no guests'}")
    return said


def namespace_pids(ns: str) -> list[str]:
    return ip("netns", "pids", ns, check=False).stdout.split()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def down(quiet: bool = False) -> None:
    """Remove everything the lab made. Safe to run in any state, and twice."""
    if os.geteuid() != 0:
        raise LabError("Removing the lab needs root")
    state = read_state()
    found_anything = bool(state) or paths.root().exists()
    for pid in bmc_pids(state):  # the base nodes' shared one and added nodes' own
        stop_bmc(pid)
    for line in remove_guests():
        if not quiet:
            say(f"guests removed on {line}")
    for name in ALL_NODES + SPARE_NODES:
        if paths.node_dir(name).exists():
            Machine(name).power_off()
    # Whatever still runs inside the lab's network namespaces was started by the lab.
    for ns in leftover_namespaces():
        found_anything = True
        for pid in namespace_pids(ns):
            _kill(int(pid))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(namespace_pids(n) for n in leftover_namespaces()):
        time.sleep(0.05)
    for ns in leftover_namespaces():
        ip("netns", "delete", ns, check=False)
    for link in ("xt-mgmt", "xt-oob"):
        if ip("link", "show", link, check=False).returncode == 0:
            found_anything = True
            ip("link", "delete", link, check=False)
    if paths.root().exists():
        shutil.rmtree(paths.root())
    if not quiet:
        say("the lab is down: namespaces, processes, links and files removed"
            if found_anything else "no lab here: nothing to remove")


# ---------------------------------------------------------------- status
def status() -> dict:
    state = read_state()
    result = {"phase": state.get("phase", "down"), "vip": topo.VIP,
              "dir": str(paths.root()), "files": state.get("files", {}),
              "up_seconds": state.get("up_seconds"), "release": state.get("release"),
              "nodes": []}
    if not state:
        return result
    added = added_nodes(state)
    for name in ALL_NODES + added:
        machine = Machine(name)
        node = topo.node(name) if name != topo.SWITCH else None
        entry = {"name": name, "address": node.address if node else topo.SWITCH_MGMT_ADDRESS,
                 "roles": list(node.roles) if node else ["switch"],
                 "power": "on" if machine.is_on() else "off", "services": []}
        if name in added:  # by `extreme lab add-node`: `remove-node` or `down` removes it
            entry["added"] = state["added"][name].get("phase", "up")
        if node:
            entry["bmc"] = {"address": node.bmc_address, "ipmi_port": 623, "redfish_port": 8000}
        pid = machine.init_pid
        if pid and topo.services_of(name):
            out = in_node(pid, ["/usr/local/sbin/service", "list", "--json"], timeout=20,
                          check=False).stdout
            try:
                entry["services"] = [{"name": s["name"], "state": s["state"]}
                                     for s in json.loads(out)]
            except ValueError:
                entry["services"] = [{"name": "?", "state": "unknown"}]
        result["nodes"].append(entry)
    return result

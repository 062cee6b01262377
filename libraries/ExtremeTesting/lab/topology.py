"""What the lab is made of: nodes, addresses, services and the order they start in.

Everything the lab builds is derived from these tables, so the target file, the
os-faults configuration, HAProxy and the service manager cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# RFC 2544's benchmarking range: addresses that exist only inside the lab's namespaces.
MGMT_NET = "198.18.0"
OOB_NET = "198.18.1"
PREFIX = 24
LAB_SUPERNET = "198.18.0.0/23"
HOST_ADDRESS = f"{MGMT_NET}.1"  # the runner, like an operator's workstation
VIP = f"{MGMT_NET}.100"
HOST_OOB_ADDRESS = f"{OOB_NET}.1"
SWITCH_MGMT_ADDRESS = f"{OOB_NET}.2"  # the switch's management port, out of band
BMC_NET = "127.0.10"  # BMCs listen on loopback: out of band, never routed


@dataclass(frozen=True)
class Service:
    name: str
    nodes: tuple[str, ...]
    port: int | None = None  # the port it serves (behind HAProxy when it is an API)
    api: str | None = None  # catalog service type
    grep: str = ""  # pattern that finds its processes (os-faults' process driver)
    expected_downtime: float = 10.0  # seconds a restart may take to serve again
    # Seconds `service stop` waits after SIGTERM before SIGKILL: what Debian's unit file
    # gives the service (TimeoutStopSec, else systemd's default 90 s).
    stop_timeout: float = 90.0


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    roles: tuple[str, ...]
    services: tuple[str, ...] = field(default=())

    @property
    def bmc_address(self) -> str:
        return f"{BMC_NET}.{self.address.rsplit('.', 1)[1]}"


CONTROLLERS = ("ctl1", "ctl2")
# The database and the message bus are 3-member clusters on both controllers and the db
# node, as Kolla-Ansible and OpenStack-Ansible put them on three controllers. The first
# member bootstraps Galera at `up` and is the writer HAProxy sends every client to.
MEMBERS = ("ctl1", "ctl2", "db")
CLUSTER_NAME = "extreme-lab"
CLUSTERCHECK_PORT = 9200  # each Galera member's health for HAProxy (lab/clustercheck.py)

# Start order: a service starts after every service listed before it.
SERVICES: tuple[Service, ...] = (
    # Ports of the non-API services let os-faults unplug them (iptables on the port).
    # Stop timeouts: mariadb.service TimeoutStopSec=900; rabbitmq-server, memcached,
    # haproxy and neutron-api units set none (90 s); Debian's keystone, placement-api,
    # glance-api and nova-* units set TimeoutStopSec=15.
    Service("mariadb", MEMBERS, 3306, grep="mariadbd", expected_downtime=5, stop_timeout=900),
    Service("clustercheck", MEMBERS, CLUSTERCHECK_PORT, grep="/usr/local/sbin/clustercheck",
            expected_downtime=2),
    Service("rabbitmq", MEMBERS, 5672, grep="beam.smp", expected_downtime=20),
    Service("memcached", CONTROLLERS, 11211, grep="/usr/bin/memcached", expected_downtime=2),
    Service("keystone", CONTROLLERS, 5000, "identity", "keystone-uwsgi", 5, 15),
    Service("placement", CONTROLLERS, 8778, "placement", "placement-uwsgi", 5, 15),
    Service("glance-api", CONTROLLERS, 9292, "image", "/usr/bin/glance-api", 8, 15),
    Service("nova-api", CONTROLLERS, 8774, "compute", "nova-api-uwsgi", 10, 15),
    Service("neutron-server", CONTROLLERS, 9696, "network", "/usr/bin/neutron-server", 10),
    Service("nova-conductor", CONTROLLERS, grep="/usr/bin/nova-conductor", expected_downtime=10,
            stop_timeout=15),
    Service("nova-scheduler", CONTROLLERS, grep="/usr/bin/nova-scheduler", expected_downtime=10,
            stop_timeout=15),
    Service("nova-compute", ("cmp1",), grep="/usr/bin/nova-compute", expected_downtime=15,
            stop_timeout=15),
    Service("haproxy", ("lb",), grep="/usr/sbin/haproxy", expected_downtime=2),
)

# The clusters, for the target file's `clusters:` section (readers and faults use it).
CLUSTERS = {
    "database": {"type": "galera", "service": "mariadb", "members": list(MEMBERS),
                 "ports": [3306, 4567, 4568, 4444]},
    "messaging": {"type": "rabbitmq", "service": "rabbitmq", "members": list(MEMBERS),
                  "ports": [5672, 25672, 4369]},
}

NODES: tuple[Node, ...] = (
    Node("lb", f"{MGMT_NET}.10", ("loadbalancer",), ("haproxy",)),
    Node("ctl1", f"{MGMT_NET}.11", ("controller", "database", "messaging")),
    Node("ctl2", f"{MGMT_NET}.12", ("controller", "database", "messaging")),
    Node("db", f"{MGMT_NET}.20", ("database", "messaging")),
    Node("cmp1", f"{MGMT_NET}.31", ("compute",)),
)
SWITCH = "sw1"
# Boot order of the nodes when the lab comes up.
BOOT_ORDER = ("ctl1", "ctl2", "db", "cmp1", "lb")


def services_of(node: str) -> list[Service]:
    return [s for s in SERVICES if node in s.nodes]


def node(name: str) -> Node:
    for candidate in NODES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"Unknown lab node '{name}'. Known: {', '.join(n.name for n in NODES)}.")


def api_services() -> list[Service]:
    return [s for s in SERVICES if s.api]

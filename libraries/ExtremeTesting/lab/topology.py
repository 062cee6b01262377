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

# Start order: a service starts after every service listed before it.
SERVICES: tuple[Service, ...] = (
    # Ports of the non-API services let os-faults unplug them (iptables on the port).
    Service("mariadb", ("db",), 3306, grep="mariadbd", expected_downtime=5),
    Service("rabbitmq", ("db",), 5672, grep="beam.smp", expected_downtime=20),
    Service("memcached", ("db",), 11211, grep="/usr/bin/memcached", expected_downtime=2),
    Service("keystone", CONTROLLERS, 5000, "identity", "keystone-uwsgi", 5),
    Service("placement", CONTROLLERS, 8778, "placement", "placement-uwsgi", 5),
    Service("glance-api", CONTROLLERS, 9292, "image", "/usr/bin/glance-api", 8),
    Service("nova-api", CONTROLLERS, 8774, "compute", "nova-api-uwsgi", 10),
    Service("neutron-server", CONTROLLERS, 9696, "network", "/usr/bin/neutron-server", 10),
    Service("nova-conductor", CONTROLLERS, grep="/usr/bin/nova-conductor", expected_downtime=10),
    Service("nova-scheduler", CONTROLLERS, grep="/usr/bin/nova-scheduler", expected_downtime=10),
    Service("nova-compute", ("cmp1",), grep="/usr/bin/nova-compute", expected_downtime=15),
    Service("haproxy", ("lb",), grep="/usr/sbin/haproxy", expected_downtime=2),
)

NODES: tuple[Node, ...] = (
    Node("lb", f"{MGMT_NET}.10", ("loadbalancer",), ("haproxy",)),
    Node("ctl1", f"{MGMT_NET}.11", ("controller",)),
    Node("ctl2", f"{MGMT_NET}.12", ("controller",)),
    Node("db", f"{MGMT_NET}.20", ("database", "messaging")),
    Node("cmp1", f"{MGMT_NET}.31", ("compute",)),
)
SWITCH = "sw1"
# Boot order of the nodes when the lab comes up.
BOOT_ORDER = ("db", "ctl1", "ctl2", "cmp1", "lb")


def services_of(node: str) -> list[Service]:
    return [s for s in SERVICES if node in s.nodes]


def node(name: str) -> Node:
    for candidate in NODES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"Unknown lab node '{name}'. Known: {', '.join(n.name for n in NODES)}.")


def api_services() -> list[Service]:
    return [s for s in SERVICES if s.api]

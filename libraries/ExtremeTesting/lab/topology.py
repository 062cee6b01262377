"""What the lab is made of: nodes, addresses, services and the order they start in.

Everything the lab builds is derived from these tables, so the target file, the
os-faults configuration, HAProxy and the service manager cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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

# The tenants' external network (Neutron's flat provider network "external"), RFC 5737's
# TEST-NET-3: on the switch's bridge br0 beside the management network, reached by the
# controllers' second interface (no address: the Linux bridge agent bridges it) and by
# the client namespace, which stands for the tenants' users. No route leaves the lab.
EXTERNAL_NET = "203.0.113"
EXTERNAL_CIDR = f"{EXTERNAL_NET}.0/24"
EXTERNAL_PREFIX = 24
EXTERNAL_NETWORK = "external"  # the Neutron network's name and its physical network
EXTERNAL_INTERFACE = "eth1"  # the node side of a controller's external link
CLIENT = "client"  # its namespace is paths.netns(CLIENT); its port on sw1 too
CLIENT_ADDRESS = f"{EXTERNAL_NET}.1"  # also the external subnet's gateway
# Router gateways and floating IPs come from this pool.
FLOATING_POOL = (f"{EXTERNAL_NET}.10", f"{EXTERNAL_NET}.250")
VNI_RANGES = "1:4000"  # VXLAN tenant networks (as many as the VLAN range they replace)
GUEST_ECHO_PORT = 7  # each guest's TCP echo service (lab/guests.py)


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
    # The data plane: agents run as root in their node (network namespaces, bridges,
    # iptables); Debian's units give each TimeoutStopSec=15. What an agent daemonizes
    # (dnsmasq, keepalived, its state-change monitor, privsep daemons) is reparented to the
    # node's init and survives a `service stop` of the agent, as with systemd's
    # KillMode=process, which upstream recommends for the L3 and DHCP agents.
    Service("neutron-linuxbridge-agent", (*CONTROLLERS, "cmp1"),
            grep="/usr/bin/neutron-linuxbridge-agent", expected_downtime=10, stop_timeout=15),
    Service("neutron-dhcp-agent", CONTROLLERS, grep="/usr/bin/neutron-dhcp-agent",
            expected_downtime=10, stop_timeout=15),
    Service("neutron-l3-agent", CONTROLLERS, grep="/usr/bin/neutron-l3-agent",
            expected_downtime=10, stop_timeout=15),
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
# Nodes with a link to the external network (their L3 agents host the routers' gateways).
EXTERNAL_NODES = CONTROLLERS
# Neutron's agents the lab runs, as GET /v2.0/agents names them: (agent_type, host).
AGENT_TYPES = {"neutron-linuxbridge-agent": "Linux bridge agent",
               "neutron-dhcp-agent": "DHCP agent", "neutron-l3-agent": "L3 agent"}
# Boot order of the nodes when the lab comes up.
BOOT_ORDER = ("ctl1", "ctl2", "db", "cmp1", "lb")


# Nodes the lab adds only on demand (`extreme lab add-node`, issue 25), never at `up`, and
# `remove-node` or `down` removes: a second compute node and a third controller. Their
# addresses are fixed, so each is built the same way every time it is added.
SPARE_NODES: tuple[Node, ...] = (
    Node("cmp2", f"{MGMT_NET}.32", ("compute",)),
    Node("ctl3", f"{MGMT_NET}.13", ("controller",)),
)
# An added node runs what its model runs: a compute node what cmp1 runs (nova-compute with
# the lab's guest driver, the Linux bridge agent); a controller the API services, Nova's
# conductor and scheduler of ctl1, but not ctl1's cluster members (MariaDB and RabbitMQ
# stay 3-member clusters), memcached (the services' caches list ctl1's and ctl2's) or
# Neutron's agents (its routers and DHCP servers stay on ctl1 and ctl2, which hold the
# external network's links).
ROLE_MODEL = {"compute": "cmp1", "controller": "ctl1"}
NOT_ON_ADDED = {"compute": (),
                "controller": ("mariadb", "clustercheck", "rabbitmq", "memcached",
                               "neutron-linuxbridge-agent", "neutron-dhcp-agent",
                               "neutron-l3-agent")}


def spare(name: str) -> Node | None:
    """The spare node of that name (one the lab adds on demand), else None."""
    return next((n for n in SPARE_NODES if n.name == name), None)


def role_of(name: str) -> str:
    """An added node's one role (compute or controller)."""
    found = spare(name)
    if found is None:
        raise KeyError(f"'{name}' is not a node the lab adds: "
                       f"{', '.join(n.name for n in SPARE_NODES)}.")
    return found.roles[0]


def services_of(node: str) -> list[Service]:
    """The services a node runs, in start order (an added node: its model's, see
    ROLE_MODEL)."""
    found = spare(node)
    if found is not None:
        role = found.roles[0]
        return [s for s in SERVICES if ROLE_MODEL[role] in s.nodes
                and s.name not in NOT_ON_ADDED[role]]
    return [s for s in SERVICES if node in s.nodes]


def node(name: str) -> Node:
    for candidate in NODES + SPARE_NODES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"Unknown lab node '{name}'. Known: "
                   f"{', '.join(n.name for n in NODES + SPARE_NODES)}.")


def nodes(added: tuple[str, ...] | list[str] = ()) -> list[Node]:
    """The lab's nodes: those `up` made, then those added since (their names, in the order
    they were added)."""
    return list(NODES) + [node(name) for name in added if spare(name) is not None]


def services(added: tuple[str, ...] | list[str] = ()) -> list[Service]:
    """SERVICES with each added node in the node list of every service it runs."""
    extra = [n for n in added if spare(n) is not None]
    found = []
    for service in SERVICES:
        more = tuple(n for n in extra if service in services_of(n) and n not in service.nodes)
        found.append(replace(service, nodes=service.nodes + more) if more else service)
    return found


def api_services(added: tuple[str, ...] | list[str] = ()) -> list[Service]:
    return [s for s in services(added) if s.api]


def external_port(node_name: str) -> str:
    """The switch port of a node's external link (its peer is the node's eth1)."""
    return f"{node_name}-ext"


def switch_ports(node_name: str) -> list[str]:
    """The switch ports a node's power takes down with it: its management port and, on
    a controller, its external link."""
    return [node_name] + ([external_port(node_name)] if node_name in EXTERNAL_NODES else [])


def agents(added: tuple[str, ...] | list[str] = ()) -> list[tuple[str, str]]:
    """Every Neutron agent the lab runs, as (agent_type, host), sorted."""
    return sorted((AGENT_TYPES[s.name], n) for s in services(added) if s.name in AGENT_TYPES
                  for n in s.nodes)

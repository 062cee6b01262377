"""The data-plane fixture: guests whose connectivity the tenants' users would feel.

Booted from the target's ``data_plane`` section (:class:`~ExtremeTesting.target.
DataPlaneSettings`): two tenant networks, each with a DHCP subnet; a router joining them,
its gateway on the external network (an HA router where the cloud makes them, or as the
target's ``ha_router`` asks); a security group letting ICMP and the guests' TCP echo port
in (or the target's ``security_group_ingress``); one server on each network, from the
target's image and flavor; a floating IP on the first. With an existing
``tenant_network`` (routed to the external network already) both servers boot on it and
nothing else is made but the group and the floating IP; the router is the floating IP's.
Every resource is tracked by the Cloud library in the *suite* that booted it, so it is
deleted when that suite ends, whatever happened (a boot that failed half-way leaves
nothing either), and ``Purge Leftovers`` finds what a killed run left by its name. In a
run whose top-level suite keeps the guests for the run (`Keep Data Plane Guests For The
Run`, suites/__init__.robot), a boot that succeeded is the run's instead: published for
the later suites (:class:`RunGuests`), untracked, deleted once at the run's end.

The paths, as the Monitor's `Start Probing Data Plane` reads them:

- ``north-south``: from the target's ``probe_namespace`` (where the users are: the lab's
  client namespace on the external network) to the first guest's floating IP: the path
  through the router's gateway, its NAT and the tenant network.
- ``east-west``: from the first guest's *own* network namespace to the second guest's
  fixed address on the other network: the path through the router between the two
  tenant networks. The probes must send from inside the first network, and a real guest
  cannot run our probe; the lab's guests are network namespaces on this machine's kernel,
  so the probe enters the first guest's (the target's ``guests``: the lab's compute node,
  through its init process, ``/proc/<pid>/root/run/netns/guest-<id>``) and sends from
  there, exactly as the guest would. A cloud whose guests are virtual machines has no such
  namespace: without ``guests`` only north-south is probed (a second floating IP would
  only measure north-south twice). With an existing ``tenant_network`` both guests are on
  it: east-west then stays inside that network (no router between them).

With ``paths`` in the target nothing is booted: the listed paths (existing floating IPs)
are probed as they are, and ``router`` names the router behind them.

Ready means answering: each path's ICMP echo and, with a ``tcp_port``, its TCP echo got
their answers (from the probe's vantage point, as the monitor will send them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..target import DataPlaneSettings
from .apierrors import CloudError, CloudTimeout, describe
from .polling import wait_until
from .resources import wait_for_server

NORTH_SOUTH = "north-south"
EAST_WEST = "east-west"
# A guest's readiness probes: generous timeouts (a first packet may wait for ARP).
READY_ICMP_TIMEOUT = 1.0
READY_TCP_TIMEOUT = 1.0

Answers = Callable[[str, str], list[str]]  # (path name, spec) -> problems, [] = answered


@dataclass
class Guest:
    """One booted server and where its guest sits."""

    server: str  # id
    name: str
    network: str  # id
    port: str  # id
    fixed_ip: str
    floating_ip: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Fixture:
    """What a suite probes: its paths, and what was booted for them (nothing with the
    target's own ``paths``)."""

    paths: dict[str, str]
    guests: list[Guest] = field(default_factory=list)
    router: str | None = None  # id
    booted: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"paths": dict(self.paths), "router": self.router, "booted": self.booted,
                "guests": [g.as_dict() for g in self.guests]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fixture:
        """The fixture :meth:`as_dict` wrote (a run's guests, published for later suites)."""
        return cls(dict(data["paths"]), [Guest(**g) for g in data.get("guests", [])],
                   data.get("router"), bool(data.get("booted", True)))


# ------------------------------------------------------------------ answering
def answers(name: str, spec: str) -> list[str]:
    """What stops the path ``spec`` (``NAMESPACE -> ADDRESS[:PORT]``) from answering now,
    one line per probe; empty when each of its probes got its answer."""
    from ..monitor import dataplane as probes

    try:
        path = probes.parse_path(name, spec)
    except probes.DataPlaneError as error:
        return [str(error)]
    problems = []
    for probe in path.probes(icmp_timeout=READY_ICMP_TIMEOUT, tcp_timeout=READY_TCP_TIMEOUT):
        outcome = probe.check()
        if not outcome.ok:
            problems.append(f"{probe.name} ({spec}): {outcome.error}")
    return problems


def wait_until_answering(paths: dict[str, str], timeout: timedelta | float,
                         check: Answers = answers,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> None:
    """Polls until every path answers (each probe once per round), at most ``timeout``;
    fails naming each path that did not, with its last error."""
    def round_() -> tuple[bool, str]:
        problems = [p for name, spec in sorted(paths.items()) for p in check(name, spec)]
        return not problems, "; ".join(problems)

    try:
        wait_until(round_, timeout, "every data-plane path answers", interval=1.0,
                   max_interval=2.0, clock=clock, sleep=sleep)
    except CloudTimeout as error:
        raise CloudTimeout(
            f"{error} Check what lets the guests answer: the security group (ICMP and the "
            f"TCP echo port in), the router's gateway and the floating IP's association, "
            f"the guests' DHCP addresses, and that the probe's namespace reaches the "
            f"external network.") from None


# ------------------------------------------------------------------ booting
class Booter:
    """Boots the fixture through a Cloud context (``ctx``: its connection, names and
    tracker); every resource is tracked in the current suite as soon as it exists."""

    def __init__(self, ctx: Any, settings: DataPlaneSettings):
        self.ctx = ctx
        self.settings = settings
        self.tracked: list[Any] = []  # what this boot made, as the tracker holds it

    @property
    def conn(self) -> Any:
        return self.ctx.conn

    def _make(self, kind: str, base: str, create: Callable[[str], Any],
              find: Callable[[str], Any] | None = None) -> Any:
        name = self.ctx.name(base)
        try:
            made = create(name)
        except Exception as error:
            # A create that timed out may have been done: track what the cloud holds.
            found = None
            if find is not None:
                try:
                    found = find(name)
                except Exception:  # noqa: BLE001 - the original error matters more
                    found = None
            if found is not None:
                self.tracked.append(self.ctx.track(kind, found.id, name, in_suite=True))
            raise describe(error, f"Creating the data plane's {kind.replace('_', ' ')} "
                           f"{name}") from error
        self.tracked.append(self.ctx.track(kind, made.id, name, in_suite=True))
        return made

    def _find(self, what: str, key: str, finder: Callable[..., Any], value: str) -> Any:
        try:
            found = finder(value, ignore_missing=True)
        except Exception as error:
            raise describe(error, f"Looking up the data plane's {what} {value}") from error
        if found is None:
            raise CloudError(f"The target's data_plane.{key} names {what} '{value}', which "
                             f"the cloud does not have: give the name or id of one it has.")
        return found

    def boot(self) -> Fixture:
        s, net = self.settings, self.conn.network
        external = self._find("network", "external_network", net.find_network,
                              s.external_network)
        image = self._find("image", "image", self.conn.image.find_image, s.image)
        flavor = self._find("flavor", "flavor", self.conn.compute.find_flavor, s.flavor)
        group = self._make("security_group", "dp-sg", lambda n: net.create_security_group(
            name=n, description="Extreme Testing data plane: the probes' echoes in"),
            lambda n: net.find_security_group(n, ignore_missing=True))
        for protocol, port in s.ingress:
            rule = {"protocol": protocol}
            if port:
                rule.update(port_range_min=port, port_range_max=port)
            self._call("security group rule", lambda r=rule: net.create_security_group_rule(
                security_group_id=group.id, direction="ingress", ethertype="IPv4",
                remote_ip_prefix="0.0.0.0/0", **r))
        if s.tenant_network:
            tenant = self._find("network", "tenant_network", net.find_network,
                                s.tenant_network)
            networks, router = [tenant, tenant], None
        else:
            networks, router = self._networks(external)
        servers = [self._make("server", f"dp-guest{index}", lambda n, w=network:
                              self.conn.compute.create_server(
                                  name=n, flavor_id=flavor.id, image_id=image.id,
                                  networks=[{"uuid": w.id}],
                                  security_groups=[{"name": group.name}],
                                  metadata={self.ctx.tag: self.ctx.run_id}),
                              lambda n: self.conn.compute.find_server(n, ignore_missing=True))
                   for index, network in enumerate(networks, 1)]
        guests, hosts = [], []
        for server, network in zip(servers, networks):
            try:
                active = wait_for_server(self.conn, server.id, "ACTIVE",
                                         timedelta(seconds=s.ready_within))
            except CloudError as error:
                raise CloudError(f"The data plane's guest {server.name}: {error}") from None
            port = self._port_of(active.id, network.id)
            guests.append(Guest(active.id, active.name, network.id, port.id,
                                port.fixed_ips[0]["ip_address"]))
            hosts.append(getattr(active, "compute_host", None))
        first = guests[0]
        address = self._make("floating_ip", "dp-fip", lambda n: net.create_ip(
            floating_network_id=external.id, port_id=first.port, description=n))
        first.floating_ip = address.floating_ip_address
        if router is None:
            router_id = getattr(net.get_ip(address.id), "router_id", None)
        else:
            router_id = router.id
        return Fixture(self.paths(guests, hosts[0]), guests, router_id)

    def _networks(self, external: Any) -> tuple[list[Any], Any]:
        """Two tenant networks with DHCP subnets, and a router joining them with its
        gateway on ``external``."""
        s, net = self.settings, self.conn.network
        networks, subnets = [], []
        for index, cidr in enumerate(s.subnets, 1):
            network = self._make("network", f"dp-net{index}",
                                 lambda n: net.create_network(name=n),
                                 lambda n: net.find_network(n, ignore_missing=True))
            subnet = self._make("subnet", f"dp-subnet{index}", lambda n, c=cidr, w=network:
                                net.create_subnet(name=n, network_id=w.id, cidr=c,
                                                  ip_version=4, is_dhcp_enabled=True),
                                lambda n: net.find_subnet(n, ignore_missing=True))
            networks.append(network)
            subnets.append(subnet)
        ha = {} if s.ha_router is None else {"is_ha": s.ha_router}
        router = self._make("router", "dp-router", lambda n: net.create_router(
            name=n, external_gateway_info={"network_id": external.id}, **ha),
            lambda n: net.find_router(n, ignore_missing=True))
        for subnet in subnets:
            self._call("router interface",
                       lambda sn=subnet: net.add_interface_to_router(router, sn.id))
        return networks, router

    def paths(self, guests: list[Guest], host: str | None) -> dict[str, str]:
        s = self.settings
        port = f":{s.tcp_port}" if s.tcp_port else ""
        source = f"{s.probe_namespace} -> " if s.probe_namespace else ""
        found = {NORTH_SOUTH: f"{source}{guests[0].floating_ip}{port}"}
        inside = self.guest_namespace(guests[0], host)
        if inside:
            found[EAST_WEST] = f"{inside} -> {guests[1].fixed_ip}{port}"
        return found

    def guest_namespace(self, guest: Guest, host: str | None) -> str | None:
        """The file of the guest's own network namespace on this machine (the target's
        ``guests``), or None when the guests are no namespaces this machine can enter."""
        placement = self.settings.guests
        if placement is None:
            return None
        nodes = placement.compute_nodes
        node = host if host in nodes else (nodes[0] if len(nodes) == 1 else None)
        if node is None:
            raise CloudError(f"The data plane's guest {guest.name} runs on "
                             f"{host or 'a host Nova does not name'}, none of the target's "
                             f"data_plane.guests.compute_nodes ({', '.join(nodes)}): add it.")
        pid_file = placement.init_pid_file.format(node=node)
        try:
            pid = int(Path(pid_file).read_text(encoding="ascii").strip())
        except (OSError, ValueError) as error:
            raise CloudError(f"The data plane's guest {guest.name}: the init PID of {node} "
                             f"cannot be read from {pid_file} ({type(error).__name__}): "
                             f"is the node up?") from None
        return placement.namespace_file(guest.server, pid)

    def _port_of(self, server: str, network: str) -> Any:
        def found() -> tuple[bool, Any]:
            ports = [p for p in self.conn.network.ports(device_id=server)
                     if p.network_id == network and p.fixed_ips]
            return bool(ports), ports[0] if ports else "no port with an address yet"

        return wait_until(found, 60, f"server {server} has its port on network {network}")

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:
            raise describe(error, f"Creating the data plane's {what}") from error

    def adopt(self) -> Fixture:
        """The target's own paths (nothing booted); the router behind them looked up."""
        s = self.settings
        router = None
        if s.router:
            router = self._find("router", "router", self.conn.network.find_router,
                                s.router).id
        return Fixture({p.name: p.spec() for p in s.paths}, [], router, booted=False)


# ------------------------------------------------------------------ the run's guests
RUN_KEY = "extreme-testing:data-plane-guests:{target}"


class RunGuests:
    """Where a run's guests are published for its later suites: PabotLib's parallel
    values under pabot (each suite runs in its own process; ``pabot`` is a PabotLib
    instance, or a fake of its two calls), this process's memory otherwise (plain ``robot
    suites``). A record is JSON, keyed by the target's name (:data:`RUN_KEY`):
    ``state`` (``booted``, ``failed`` or ``deleted``), ``by`` (the suite that booted or
    deleted), ``fixture`` (:meth:`Fixture.as_dict`), ``resources`` (each ``kind``, ``id``,
    ``name``: enough to delete them), ``error`` (why the boot failed)."""

    def __init__(self, pabot: Any | None = None):
        self.pabot = pabot
        self._local: dict[str, str] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        raw = (self.pabot.get_parallel_value_for_key(key) if self.pabot is not None
               else self._local.get(key, ""))
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise CloudError(f"The run's record of its data-plane guests ({key}) is not "
                             f"JSON: {str(raw)[:200]!r}. Was it set by something else?"
                             ) from None

    def put(self, key: str, record: dict[str, Any]) -> None:
        raw = json.dumps(record)
        if self.pabot is not None:
            self.pabot.set_parallel_value_for_key(key, raw)
        else:
            self._local[key] = raw


# ------------------------------------------------------------------ the router's nodes
def router_hosts(conn: Any, router: str) -> dict[str, str | None]:
    """The hosts whose L3 agent holds ``router``, each with its HA state (``active``,
    ``standby``, ``fault``; None for a router that is not HA)."""
    try:
        agents = list(conn.network.routers_hosting_l3_agents(router))
    except Exception as error:
        raise describe(error, f"Listing the L3 agents of router {router}") from error
    return {a.host: getattr(a, "ha_state", None) for a in agents}


def active_hosts(hosts: dict[str, str | None]) -> list[str]:
    """The hosts where the router forwards: the active HA instance(s), or the one agent
    of a router that is not HA."""
    if all(state is None for state in hosts.values()):
        return sorted(hosts)
    return sorted(h for h, state in hosts.items() if state == "active")


def node_of_host(host: str, nodes: dict[str, Any]) -> str:
    """The target's node that an agent's ``host`` names: the same name, its first label
    (``ctl1.example.org``), or a node whose address it is."""
    if host in nodes:
        return host
    short = host.split(".", 1)[0]
    if short in nodes:
        return short
    for name, node in nodes.items():
        if (node or {}).get("address") == host:
            return name
    raise CloudError(f"Neutron's agent host '{host}' is no node of the target (nodes: "
                     f"{', '.join(sorted(nodes)) or 'none'}): name the node as the agent's "
                     f"host is named (or its first label).")

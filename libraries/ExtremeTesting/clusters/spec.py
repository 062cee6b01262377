"""The target's ``clusters:`` section: each cluster, its members and its ports.

::

    clusters:
      database:
        type: galera              # galera or rabbitmq
        service: mariadb          # the service (services:, os-faults) its members run
        members: [ctl1, ctl2, ctl3]
        ports: [3306, 4567, 4568, 4444]

Optional keys: ``start`` / ``stop`` (the commands that start and stop the service on a
member; default: the os-faults ``start_cmd`` / ``terminate_cmd`` of the service, else
``systemctl start|stop <service>``), ``grep`` (the pattern of its processes; default the
service's), ``command_prefix`` (put before every cluster command, e.g. ``docker exec
mariadb`` for a containerised cluster); Galera: ``bootstrap`` (the command that starts
the chosen member as a new cluster; default ``service <name> bootstrap`` when members
start with ``service <name> start``, as Debian's SysV script has it, else
``galera_new_cluster``), ``datadir``
(default ``/var/lib/mysql``); RabbitMQ: ``node_name`` (default ``rabbit@{member}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import TargetError
from ..target import Target

TYPES = ("galera", "rabbitmq")
KEYS = {"type", "service", "members", "ports", "start", "stop", "grep", "command_prefix",
        "bootstrap", "datadir", "node_name"}
DEFAULT_BOOTSTRAP = "galera_new_cluster"
DEFAULT_DATADIR = "/var/lib/mysql"
DEFAULT_NODE_NAME = "rabbit@{member}"


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    type: str
    service: str
    members: tuple[str, ...]
    ports: tuple[int, ...]
    addresses: dict[str, str] = field(default_factory=dict)  # member -> address
    options: dict[str, Any] = field(default_factory=dict)  # the optional keys given

    @property
    def quorum(self) -> int:
        """The fewest running members that still form a majority."""
        return len(self.members) // 2 + 1

    @property
    def galera(self) -> bool:
        return self.type == "galera"

    def node_name(self, member: str) -> str:
        """RabbitMQ's name of the member's node (``rabbit@ctl1``)."""
        return str(self.options.get("node_name") or DEFAULT_NODE_NAME).format(member=member)

    def member_of(self, node_name: str) -> str:
        """The member whose RabbitMQ node is ``node_name`` (itself when unknown)."""
        return next((m for m in self.members if self.node_name(m) == node_name), node_name)

    def check_member(self, member: str) -> str:
        if member not in self.members:
            raise TargetError(f"'{member}' is not a member of cluster '{self.name}': its "
                              f"members are {', '.join(self.members)}.")
        return member

    def others(self, member: str) -> list[str]:
        return [m for m in self.members if m != member]


def _problem(where: str, what: str) -> TargetError:
    return TargetError(f"Target file {where}: clusters.{what} (see "
                       f"variables/example-3-controllers.yaml).")


def _spec(target: Target, name: str, entry: Any) -> ClusterSpec:
    where = target.path
    if not isinstance(entry, dict):
        raise _problem(where, f"{name} must be a mapping with type, service, members, ports")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise _problem(where, f"{name} has unknown keys {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(KEYS))}")
    kind = entry.get("type")
    if kind not in TYPES:
        raise _problem(where, f"{name}.type must be one of {', '.join(TYPES)}")
    if not entry.get("service") or not isinstance(entry["service"], str):
        raise _problem(where, f"{name}.service must name the service its members run")
    members = entry.get("members")
    if not isinstance(members, list) or len(members) < 2 or \
            not all(isinstance(m, str) for m in members) or len(set(members)) != len(members):
        raise _problem(where, f"{name}.members must list two or more distinct node names")
    nodes = target.section("nodes")
    missing = [m for m in members if m not in nodes or not (nodes[m] or {}).get("address")]
    if missing:
        raise _problem(where, f"{name}.members names {', '.join(missing)}, not a node with "
                              f"an address in nodes:")
    ports = entry.get("ports")
    if not isinstance(ports, list) or not ports or \
            not all(isinstance(p, int) and 0 < p < 65536 for p in ports):
        raise _problem(where, f"{name}.ports must list the cluster's TCP ports")
    ssh_port = int(target.section("ssh").get("port", 22) or 22)
    api_ports = {int(s["port"]) for s in target.section("services").values()
                 if isinstance(s, dict) and s.get("api") and s.get("port")}
    forbidden = sorted({p for p in ports if p in (22, ssh_port) or p in api_ports})
    if forbidden:
        raise _problem(where, f"{name}.ports holds {', '.join(map(str, forbidden))}: SSH and "
                              f"API ports are never partitioned; list the cluster's own ports")
    options = {k: v for k, v in entry.items() if k not in ("type", "service", "members",
                                                             "ports")}
    return ClusterSpec(name, kind, entry["service"], tuple(members), tuple(ports),
                       {m: str(nodes[m]["address"]) for m in members}, options)


def clusters_of(target: Target) -> dict[str, ClusterSpec]:
    """Every cluster of the target (none when it has no ``clusters:`` section)."""
    return {str(name): _spec(target, str(name), entry)
            for name, entry in target.section("clusters").items()}


def cluster_of(target: Target, name: str) -> ClusterSpec:
    found = clusters_of(target)
    if name not in found:
        raise TargetError(f"Unknown cluster '{name}': the target's clusters: section names "
                          f"{', '.join(sorted(found)) or 'none'} (see "
                          f"variables/example-3-controllers.yaml).")
    return found[name]

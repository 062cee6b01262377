"""Which nodes and services a cloud has, and how a keyword's ``on=`` picks among them.

Names come from the target file (``nodes`` and ``services``), completed by the os-faults
configuration (its ``node_list`` and pinned service ``hosts``), so a suite names nodes the
way the operator does (``ctl1``) while os-faults keeps addressing them by IP.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import FaultError, UnknownNodeError, UnknownServiceError

ANY_ONE = {"one", "random", "single", "some", "any"}
EVERY = {"all", "every", "each", ""}


@dataclass
class NodeInfo:
    name: str
    address: str
    fqdn: str = ""
    services: set[str] = field(default_factory=set)


@dataclass
class Topology:
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    services: dict[str, list[str]] = field(default_factory=dict)  # service -> node names
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def build(cls, target_data: dict[str, Any], osf_config: dict[str, Any]) -> Topology:
        topo = cls()
        for name, spec in (target_data.get("nodes") or {}).items():
            spec = spec or {}
            topo.nodes[str(name)] = NodeInfo(str(name), str(spec.get("address", "")),
                                             services=set(spec.get("services") or ()))
        by_address = {n.address: n for n in topo.nodes.values() if n.address}
        discover = osf_config.get("node_discover") or {}
        if discover.get("driver") == "node_list":
            for host in discover.get("args") or []:
                ip, fqdn = str(host.get("ip", "")), str(host.get("fqdn") or "")
                node = by_address.get(ip) or topo.nodes.get(fqdn)
                if node is None:
                    node = NodeInfo(fqdn or ip, ip, fqdn)
                    topo.nodes[node.name] = node
                    by_address[ip] = node
                node.address = node.address or ip
                node.fqdn = node.fqdn or fqdn
        for name, spec in (target_data.get("services") or {}).items():
            topo.services[str(name)] = [str(n) for n in (spec or {}).get("nodes") or ()]
        for node in topo.nodes.values():
            for service in node.services:
                members = topo.services.setdefault(service, [])
                if node.name not in members:
                    members.append(node.name)
        for name, spec in (osf_config.get("services") or {}).items():
            members = topo.services.setdefault(str(name), [])
            for ip in (spec or {}).get("hosts") or ():
                node = by_address.get(str(ip))
                if node and node.name not in members:
                    members.append(node.name)
        for service, members in topo.services.items():
            for member in members:
                if member in topo.nodes:
                    topo.nodes[member].services.add(service)
        return topo

    def check_service(self, service: str) -> list[str]:
        if service not in self.services:
            raise UnknownServiceError(service, list(self.services))
        return list(self.services[service])

    def check_node(self, name: str) -> NodeInfo:
        if name in self.nodes:
            return self.nodes[name]
        for node in self.nodes.values():  # an address or an FQDN names a node too
            if name in (node.address, node.fqdn):
                return node
        raise UnknownNodeError(name, list(self.nodes))

    def node_by_address(self, address: str) -> str:
        for node in self.nodes.values():
            if address in (node.address, node.fqdn):
                return node.name
        return address

    def select(self, on: str = "all", service: str | None = None) -> list[str]:
        """Concrete node names for ``on`` (names, one/random, all) among ``service``'s nodes.

        Random choices are made here, once, so the ledger records the node really hit and
        the undo reaches the same one.
        """
        candidates = self.check_service(service) if service else sorted(self.nodes)
        where = f"running {service}" if service else "in the target"
        word = (on or "").strip().lower()
        if word in EVERY:
            chosen = list(candidates)
        elif word in ANY_ONE:
            chosen = [self.rng.choice(candidates)] if candidates else []
        else:
            chosen = []
            for name in filter(None, re.split(r"[,\s]+", on.strip())):
                node = self.check_node(name).name
                if service and node not in candidates:
                    raise FaultError(
                        f"Node '{node}' does not run {service}: expected one of "
                        f"{', '.join(candidates) or 'none'} (from the target file). Pick "
                        f"one of those, or fix the service's nodes in the target.")
                if node not in chosen:
                    chosen.append(node)
        if not chosen:
            raise FaultError(f"No node {where} matches on={on!r}: known nodes "
                             f"{', '.join(sorted(self.nodes)) or 'none'}.")
        return chosen

"""os-faults' human grammar ("restart keystone service on one node"), turned into steps.

The sentences are matched with os-faults' own patterns (``os_faults.api.human``), but the
nodes are resolved here, once, to concrete names, so the ledger knows exactly what was hit
(and ``poweroff one node`` means one node, which os-faults 0.3.0 gets wrong).
"""

from __future__ import annotations

import re

from .errors import FaultError, UnsupportedActionError
from ..lifecycle import Step
from .topology import Topology

EXAMPLES = ("restart keystone service on one node", "freeze mariadb service for 10 seconds",
            "kill nova-api service on ctl1 node", "poweroff one node with keystone service",
            "stress cpu for 30 seconds on ctl1 node")


def parse(command: str, topology: Topology) -> Step:
    from os_faults.api import human

    text = " ".join(command.lower().split())
    for index, pattern in enumerate(human.PATTERNS):
        match = re.search(pattern, text)
        if match:
            break
    else:
        raise FaultError(f"Cannot understand fault '{command}'. Expected os-faults' grammar, "
                         f"e.g. {'; '.join(EXAMPLES)}.")
    groups = match.groupdict()
    action = groups["action"].replace(" ", "_")
    duration = groups.get("duration")
    if index == 1:
        raise UnsupportedActionError(f"'{command}': container faults are not supported by "
                                     f"this library.")
    if index == 0:
        if groups.get("direction"):
            raise UnsupportedActionError(
                f"'{command}': ingress/egress to another service is not supported; use "
                f"`Unplug Service` on the service itself.")
        service = groups["service"]
        step = Step(action, service, _select(command, action, groups, topology, service))
        if duration:
            step.args["sec"] = int(duration)
        return step
    if action in ("connect", "disconnect"):
        raise UnsupportedActionError(f"'{command}': os-faults 0.3.0 does not implement "
                                     f"network {action} for nodes.")
    step = Step(action, None, _select(command, action, groups, topology,
                                      groups.get("service")))
    if groups.get("target"):
        step.args = {"target": groups["target"], "duration": int(duration or 10)}
    return step


def _select(command: str, action: str, groups: dict, topology: Topology,
            service: str | None) -> list[str]:
    """The nodes the sentence names; a fault that names none and would hit more than one
    node is refused before anything is touched (as `Kill Service` without ``on=``)."""
    from .engine import ACTIONS

    if groups.get("node"):
        return topology.select(groups["node"], service)
    nodes = topology.select("all", service)
    if len(nodes) > 1 and action in ACTIONS and ACTIONS[action].destructive:
        raise FaultError(
            f"'{command}' names no node and would hit every one ({', '.join(nodes)}). Say "
            f"which: 'on {nodes[0]} node', 'on one node', or 'on all nodes' to hit every "
            f"one of them on purpose. Nothing was touched.")
    return nodes

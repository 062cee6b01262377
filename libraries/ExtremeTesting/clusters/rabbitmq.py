"""RabbitMQ as its operator reads it: ``rabbitmqctl cluster_status --formatter json`` and
``rabbitmqctl list_queues name type leader members --formatter json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# --timeout (s): a member whose peer hangs answers within it rather than outlive the SSH
# call's timeout (cluster_status asks every running node; its own default is 60 s).
STATUS_COMMAND = "rabbitmqctl -q --timeout 15 cluster_status --formatter json"
QUEUES_COMMAND = ("rabbitmqctl -q --timeout 15 list_queues name type leader members "
                  "--formatter json")
NO_LEADER = ("", "undefined", "none", None)
SHOWN = 5  # queues named in a message; the rest are counted


@dataclass
class ClusterStatus:
    running_nodes: list[str] = field(default_factory=list)
    disk_nodes: list[str] = field(default_factory=list)
    partitions: dict[str, list[str]] = field(default_factory=dict)
    alarms: list[Any] = field(default_factory=list)


def _json(text: str) -> Any:
    """The JSON document in rabbitmqctl's output (banner lines before it skipped)."""
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError(f"no JSON in rabbitmqctl's output: {text.strip()[:200]!r}")
    return json.loads(text[start:])


def parse_cluster_status(text: str) -> ClusterStatus:
    data = _json(text)
    if not isinstance(data, dict):
        raise ValueError("rabbitmqctl cluster_status: expected a JSON object")
    partitions = data.get("partitions") or data.get("network_partitions") or {}
    if isinstance(partitions, list):  # [[node, [peers]]] in some versions
        partitions = {p[0]: p[1] for p in partitions if isinstance(p, list) and len(p) == 2}
    return ClusterStatus([str(n) for n in data.get("running_nodes") or []],
                         [str(n) for n in data.get("disk_nodes") or []],
                         {str(k): [str(p) for p in v or []] for k, v in partitions.items()
                          if v},
                         list(data.get("alarms") or []))


def member_problems(status: ClusterStatus, expected: list[str]) -> list[str]:
    """What keeps this member from being part of a whole cluster of the ``expected``
    nodes; [] when it is."""
    problems = []
    missing = [n for n in expected if n not in status.running_nodes]
    if missing:
        problems.append(f"running_nodes lacks {', '.join(missing)} (sees "
                        f"{', '.join(sorted(status.running_nodes)) or 'none'})")
    for node, peers in sorted(status.partitions.items()):
        problems.append(f"partitioned: {node} cannot reach {', '.join(peers)}")
    if status.alarms:
        problems.append(f"alarms: {', '.join(map(str, status.alarms))}")
    return problems


@dataclass(frozen=True)
class Queue:
    name: str
    type: str
    leader: str
    members: tuple[str, ...]


def parse_queues(text: str) -> list[Queue]:
    data = _json(text) if text.strip() else []
    if not isinstance(data, list):
        raise ValueError("rabbitmqctl list_queues: expected a JSON list")
    queues = []
    for row in data:
        if not isinstance(row, dict):
            continue
        members = row.get("members") or []
        queues.append(Queue(str(row.get("name", "?")), str(row.get("type", "classic")),
                            "" if row.get("leader") in NO_LEADER else str(row["leader"]),
                            tuple(str(m) for m in members) if isinstance(members, list)
                            else ()))
    return queues


def queue_problems(queues: list[Queue], running: list[str]) -> list[str]:
    """Quorum queues without a leader, or led by a node that is not running."""
    leaderless = [q.name for q in queues
                  if q.type == "quorum" and (not q.leader or q.leader not in running)]
    if not leaderless:
        return []
    more = len(leaderless) - SHOWN
    names = ", ".join(sorted(leaderless)[:SHOWN]) + (f" and {more} more" if more > 0 else "")
    return [f"{len(leaderless)} quorum queue(s) without a leader: {names}"]

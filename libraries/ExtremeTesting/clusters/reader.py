"""Every member of a cluster asked over SSH, as its operator would, in one report.

A member that does not answer (service stopped, node off, command failing) is a problem
named with what the command said; one that answers is judged by :mod:`.galera` or
:mod:`.rabbitmq`. The members are asked at once (one thread each), every call bounded
by ``timeout``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import loadbalancer
from ..target import Target
from . import galera, rabbitmq
from .spec import ClusterSpec

Runner = Callable[[str, str, float], str]  # (address, shell line, timeout) -> stdout
DEFAULT_TIMEOUT = 30.0
ERROR_CHARS = 300


class Shell:
    """Runs shell lines on cluster members as root: over the target's SSH (key login),
    through ``sudo -n`` when the target's SSH user is not root."""

    def __init__(self, target: Target, run: Runner | None = None,
                 timeout: float = DEFAULT_TIMEOUT):
        self.run = run or loadbalancer.ssh_runner(target)
        self.as_root = str(target.section("ssh").get("username", "root")) == "root"
        self.timeout = timeout

    def __call__(self, spec: ClusterSpec, member: str, line: str,
                 timeout: float | None = None) -> str:
        if not self.as_root:
            line = f"sudo -n sh -c {shlex.quote(line)}"
        return self.run(spec.addresses[member], line, timeout or self.timeout)

    @staticmethod
    def client(spec: ClusterSpec, line: str) -> str:
        """A cluster client command (mysql, rabbitmqctl) with the cluster's prefix."""
        prefix = str(spec.options.get("command_prefix") or "").strip()
        return f"{prefix} {line}" if prefix else line


def short(error: BaseException | str) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS] + "..."


@dataclass
class MemberReport:
    member: str
    answered: bool
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what it reported


@dataclass
class ClusterReport:
    spec: ClusterSpec
    members: dict[str, MemberReport]
    cluster_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """One line per member that is not whole, naming it and what it reports."""
        lines = [f"{self.spec.name} member {r.member}: {'; '.join(r.problems)}"
                 for r in self.members.values() if r.problems]
        return lines + [f"{self.spec.name}: {p}" for p in self.cluster_problems]

    @property
    def whole(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        states = ", ".join(f"{m} {'ok' if not r.problems else 'NOT ok'}"
                           for m, r in self.members.items())
        return f"{self.spec.name} ({self.spec.type}, {len(self.spec.members)} members): {states}"


def _galera_member(spec: ClusterSpec, shell: Shell, member: str) -> MemberReport:
    sql = shlex.quote(galera.STATUS_SQL)
    try:
        status = galera.parse_status(shell(spec, member, shell.client(
            spec, f"mysql -N -B -e {sql}")))
    except Exception as error:  # noqa: BLE001 - any failure to answer is the finding
        return MemberReport(member, False, [f"not answering: {short(error)}"])
    return MemberReport(member, True, galera.member_problems(status, len(spec.members)),
                        status)


def _rabbit_member(spec: ClusterSpec, shell: Shell, member: str) -> MemberReport:
    try:
        status = rabbitmq.parse_cluster_status(shell(spec, member, shell.client(
            spec, rabbitmq.STATUS_COMMAND)))
    except Exception as error:  # noqa: BLE001
        return MemberReport(member, False, [f"not answering: {short(error)}"])
    expected = [spec.node_name(m) for m in spec.members]
    return MemberReport(member, True, rabbitmq.member_problems(status, expected),
                        {"running_nodes": status.running_nodes,
                         "partitions": status.partitions})


def read_cluster(spec: ClusterSpec, shell: Shell) -> ClusterReport:
    """Ask every member of ``spec`` (at once) and judge what they say."""
    ask = _galera_member if spec.galera else _rabbit_member
    with ThreadPoolExecutor(max_workers=len(spec.members)) as pool:
        reports = list(pool.map(lambda m: ask(spec, shell, m), spec.members))
    report = ClusterReport(spec, {r.member: r for r in reports})
    if spec.galera:
        brain = galera.split_brain({r.member: r.facts for r in reports if r.answered})
        if brain:
            report.cluster_problems.append(brain)
    else:
        report.cluster_problems += _queue_problems(spec, shell, reports)
    return report


def _queue_problems(spec: ClusterSpec, shell: Shell, reports: list[MemberReport]
                    ) -> list[str]:
    """Quorum queues without a leader, read on the first member that answered."""
    asked = next((r for r in reports if r.answered), None)
    if asked is None:
        return []
    try:
        queues = rabbitmq.parse_queues(shell(spec, asked.member, shell.client(
            spec, rabbitmq.QUEUES_COMMAND)))
    except Exception as error:  # noqa: BLE001
        return [f"queues not listed on {asked.member}: {short(error)}"]
    asked.facts["queues"] = len(queues)
    return [f"{p} (read on {asked.member})"
            for p in rabbitmq.queue_problems(queues, asked.facts["running_nodes"])]

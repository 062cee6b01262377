"""The Faults library's cluster keywords: quorum-aware faults on the members of the
target's ``clusters:`` (a Galera database, a RabbitMQ message bus), always undone."""

from __future__ import annotations

import time
from datetime import timedelta
from enum import Enum
from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from .. import events as fault_events
from .. import results
from ..clusters import galera, read_cluster
from ..clusters.spec import ClusterSpec, cluster_of, clusters_of
from ..errors import TargetError
from ..lifecycle import Entry, Step
from ..lifecycle.ledger import new_id
from . import clusters as ops
from .dryrun import mark_dry_run
from .errors import FaultError

WHOLE_POLL = 2.0  # s between two readings of a cluster that is not whole yet
# The faults that take a member out of its cluster while they are open.
OUT_OF_CLUSTER = ("cluster kill", "cluster stop", "cluster freeze", "cluster partition")


class StopHow(Enum):
    """How `Stop Cluster Members` takes them out: ``stop`` (the service's stop command, a
    clean leave), ``kill`` (SIGKILL, a crash) or ``freeze`` (SIGSTOP: they hang, and come
    back as they were when resumed)."""

    stop = "stop"
    kill = "kill"
    freeze = "freeze"


class ClusterFaultKeywords:
    """Mixed into :class:`~.library.Faults`: it gives ``target`` and ``engine``."""

    # -- helpers
    def _cluster(self, name: str) -> ClusterSpec:
        try:
            return cluster_of(self.target, name)
        except TargetError as error:
            raise FaultError(str(error)) from None

    def _operator(self) -> ops.Operator:
        return ops.Operator(self.target, ops.connect(self.target), log=logger.info)

    def _out_of_cluster(self, spec: ClusterSpec) -> set[str]:
        """Members this library already took out of ``spec`` (open faults)."""
        return {node for entry in self.engine.mine
                if entry.step.action.startswith(OUT_OF_CLUSTER)
                and entry.step.args.get("cluster") == spec.name for node in entry.step.nodes}

    def _refuse_quorum_loss(self, spec: ClusterSpec, taking: list[str], what: str,
                            allow: bool) -> None:
        """Before anything is touched: refuse to leave fewer than a majority in."""
        gone = self._out_of_cluster(spec) | set(taking)
        left = [m for m in spec.members if m not in gone]
        if len(left) >= spec.quorum or allow:
            return
        already = sorted(self._out_of_cluster(spec) - set(taking))
        earlier = f" ({', '.join(already)} already out by an open fault)" if already else ""
        raise FaultError(
            f"Refusing to {what}: cluster '{spec.name}' would be left with "
            f"{', '.join(left) or 'no member'}{earlier}, {len(left)} of {len(spec.members)}, "
            f"below its quorum of {spec.quorum}. Nothing was touched. Pass "
            f"allow_quorum_loss=True to lose quorum on purpose.")

    def _members(self, spec: ClusterSpec, members: tuple[str, ...] | list[str]) -> list[str]:
        names = [m.strip() for text in members for m in str(text).split(",") if m.strip()]
        if not names:
            raise FaultError(f"Name the members of '{spec.name}' to act on: "
                             f"{', '.join(spec.members)}.")
        try:
            return [spec.check_member(m) for m in dict.fromkeys(names)]
        except TargetError as error:
            raise FaultError(str(error)) from None

    def _inject(self, spec: ClusterSpec, action: str, members: list[str], undo_action: str,
                act, past: str, **args: Any) -> list[str]:
        entry_id = new_id()
        args = {"cluster": spec.name, **args}
        if undo_action == ops.HEAL_PARTITION:
            args["comment"] = ops.comment_of(entry_id)
        step = Step(f"cluster {action}", spec.service, list(members), args)
        undo = Step(undo_action, spec.service, list(members), dict(args))
        self.engine.inject(step, undo, act, past, entry_id=entry_id)
        if self.engine.dry_run:
            mark_dry_run(step.describe())
        return list(members)

    def _require_running(self, operator: ops.Operator, spec: ClusterSpec,
                         members: list[str]) -> None:
        if self.engine.dry_run:
            return
        stopped = [m for m in members if not operator.running(spec, m)]
        if stopped:
            raise FaultError(f"{spec.service} does not run on {', '.join(stopped)} "
                             f"({spec.name}): nothing to break there. Start it first "
                             f"(`Start Cluster Member`).")

    def _member_fault(self, cluster: str, members: list[str], action: str,
                      allow_quorum_loss: bool) -> list[str]:
        spec = self._cluster(cluster)
        members = self._members(spec, members)
        what = f"{action} {', '.join(members)} of {cluster}"
        self._refuse_quorum_loss(spec, members, what, allow_quorum_loss)
        self.engine.check_safety(Step(f"cluster {action}", spec.service, members),
                                 destructive=True)
        operator = self._operator()
        self._require_running(operator, spec, members)
        signals = {"kill": "KILL", "freeze": "STOP"}

        def act(entry: Entry) -> None:
            for member in members:
                if action in signals:
                    operator.signal(spec, member, signals[action])
                else:
                    operator.stop(spec, member)

        undo = ops.UNFREEZE_MEMBER if action == "freeze" else ops.START_MEMBERS
        past = {"kill": "killed", "stop": "stopped", "freeze": "froze"}[action]
        return self._inject(spec, f"{action} member", members, undo, act, past)

    # -- one member
    @keyword
    def kill_cluster_member(self, cluster: str, member: str,
                            allow_quorum_loss: bool = False) -> list[str]:
        """Kills (SIGKILL) the cluster service on one ``member`` of ``cluster``: a crash.

        ``cluster``: a name of the target's ``clusters:`` section. Undo (at the end of the
        test, `Start Cluster Member`, or ``extreme recover``): start it again; it rejoins
        (a Galera member by IST or SST). Refuses, before anything is touched, when it would
        leave fewer than a majority of the members in (other members already out by an
        open fault count), unless ``allow_quorum_loss=True``; when the service does not run
        on the member; on a target not marked destructive. Fails naming the member and what
        the command said when the kill fails there.

        | `Kill Cluster Member` | database | ctl2 |
        """
        return self._member_fault(cluster, [member], "kill", allow_quorum_loss)

    @keyword
    def stop_cluster_member(self, cluster: str, member: str,
                            allow_quorum_loss: bool = False) -> list[str]:
        """Stops the cluster service on one ``member`` of ``cluster`` with its stop command
        (a clean leave). Undo, refuses (``allow_quorum_loss``) and fails: as
        `Kill Cluster Member`.

        | `Stop Cluster Member` | database | ctl2 |
        """
        return self._member_fault(cluster, [member], "stop", allow_quorum_loss)

    @keyword
    def freeze_cluster_member(self, cluster: str, member: str,
                              allow_quorum_loss: bool = False) -> list[str]:
        """Freezes (SIGSTOP) the cluster service on one ``member``: it hangs, its peers
        must notice. Undo: SIGCONT (`Unfreeze Cluster Member`). Refuses
        (``allow_quorum_loss``) and fails as `Kill Cluster Member` does.

        | `Freeze Cluster Member` | messaging | db |
        """
        return self._member_fault(cluster, [member], "freeze", allow_quorum_loss)

    @keyword
    def stop_cluster_members(self, cluster: str, *members: str, how: StopHow = StopHow.stop,
                             allow_quorum_loss: bool = False) -> list[str]:
        """Stops several ``members`` of ``cluster`` at once (``how``: ``stop``, ``kill``
        or ``freeze``), e.g. two of three: quorum lost.

        Refuses, before anything is touched and naming the members that would be left,
        when fewer than a majority would be left in, unless ``allow_quorum_loss=True``;
        fails as `Kill Cluster Member` does. Undo:
        start them again; a Galera cluster left without a Primary component is first
        given one back (``pc.bootstrap`` on the most advanced running member), one with
        no member running is bootstrapped (see `Start Whole Cluster`); frozen ones are
        resumed (SIGCONT), and a cluster that keeps its last Primary component's members
        forms it again by itself.

        | `Stop Cluster Members` | database | ctl1 | ctl2 | how=kill | allow_quorum_loss=True |
        """
        return self._member_fault(cluster, list(members), StopHow(how).value,
                                  allow_quorum_loss)

    @keyword
    def start_cluster_member(self, cluster: str, *members: str) -> list[str]:
        """Starts the cluster service on ``members`` where it does not run, as the undo of
        a kill or stop does (Galera: with a Primary component back first), and closes
        those faults. Returns the members it started. Fails naming the member where the
        start (or the bootstrap before it) failed.

        | `Start Cluster Member` | database | ctl2 |
        """
        spec = self._cluster(cluster)
        chosen = self._members(spec, members)
        started = [] if self.engine.dry_run else self._operator().start_members(spec, chosen)
        self.engine.close_restored(Step(ops.START_MEMBERS, spec.service, chosen))
        logger.info(f"Started {', '.join(started) or 'nothing (all running)'} of {cluster}.")
        return started

    @keyword
    def unfreeze_cluster_member(self, cluster: str, *members: str) -> None:
        """Resumes (SIGCONT) the cluster service on ``members`` of ``cluster`` and closes
        their freezes. Fails naming the member when SSH or the signal fails.

        | `Unfreeze Cluster Member` | messaging | db |
        """
        spec = self._cluster(cluster)
        chosen = self._members(spec, members)
        if not self.engine.dry_run:
            operator = self._operator()
            for member in chosen:
                operator.unfreeze(spec, member)
        self.engine.close_restored(Step(ops.UNFREEZE_MEMBER, spec.service, chosen))

    # -- partitions
    @keyword
    def partition_cluster_member(self, cluster: str, member: str,
                                 peers: str = "from the others",
                                 allow_quorum_loss: bool = False) -> list[str]:
        """Cuts ``member`` off its peers on the cluster's ports only: iptables DROP rules
        in the member's node, in and out, between its address and each peer's, on each of
        the cluster's ``ports``; SSH and every other traffic (the APIs, the monitor) go on.

        ``peers``: ``from the others`` (default) or ``from ctl1, ctl2``. Each rule carries
        the comment ``extreme-fault-<fault id>``; the undo (`Heal Cluster Partition`, the
        end of the test, ``extreme recover``) removes exactly those rules and checks none
        is left. Refuses as `Kill Cluster Member` does (a partitioned member is out of the
        cluster; ``allow_quorum_loss``). Returns the member.

        | `Partition Cluster Member` | messaging | db | from the others |
        """
        spec = self._cluster(cluster)
        chosen = self._members(spec, [member])[0]
        words = peers.strip()
        if not words.lower().startswith("from "):
            raise FaultError(f"Expected 'from the others' or 'from <member>, ...' after the "
                             f"member, got '{peers}'.")
        named = words[5:].strip()
        cut_from = spec.others(chosen) if named.lower() == "the others" else \
            [p for p in self._members(spec, [named]) if p != chosen]
        if not cut_from:
            raise FaultError(f"Partition {chosen} of {cluster} from whom? Name other members "
                             f"({', '.join(spec.others(chosen))}).")
        self._refuse_quorum_loss(spec, [chosen], f"partition {chosen} of {cluster}",
                                 allow_quorum_loss)
        self.engine.check_safety(Step("cluster partition member", spec.service, [chosen]),
                                 destructive=True)
        operator = self._operator()

        def act(entry: Entry) -> None:
            operator.partition(spec, chosen, cut_from, ops.comment_of(entry.id))

        return self._inject(spec, "partition member", [chosen], ops.HEAL_PARTITION, act,
                            "partitioned", peers=cut_from)

    @keyword
    def heal_cluster_partition(self, cluster: str, member: str) -> None:
        """Removes the rules of every open `Partition Cluster Member` fault on ``member``
        of ``cluster`` (only those) and closes them. Fails when a rule is still there
        after its removal.

        | `Heal Cluster Partition` | messaging | db |
        """
        spec = self._cluster(cluster)
        chosen = self._members(spec, [member])[0]
        for entry in [e for e in self.engine.mine if e.undo is not None
                      and e.undo.action == ops.HEAL_PARTITION
                      and e.undo.args.get("cluster") == cluster and chosen in e.undo.nodes]:
            self.engine.undo(entry)

    # -- the whole cluster
    @keyword
    def stop_whole_cluster(self, cluster: str) -> list[str]:
        """Stops every member of ``cluster`` cleanly, one after the other (the keyword's
        name is the explicit consent to lose the cluster: no ``allow_quorum_loss``).

        Undo (`Start Whole Cluster`, the end of the test, ``extreme recover``): Galera is
        bootstrapped as the runbook says, from the member whose grastate.dat says
        ``safe_to_bootstrap: 1``, else from the highest seqno (``--wsrep-recover`` where
        grastate.dat says -1), then the others are started one by one; RabbitMQ members are
        started at once, the last one stopped first. Returns the members in stop order.
        Refuses a target not marked destructive; fails naming the member whose stop
        failed.

        | `Stop Whole Cluster` | database |
        """
        spec = self._cluster(cluster)
        order = list(spec.members)
        self.engine.check_safety(Step("cluster stop whole", spec.service, order),
                                 destructive=True)
        operator = self._operator()

        def act(entry: Entry) -> None:
            operator.stop_whole(spec, order)

        return self._inject(spec, "stop whole", order, ops.START_WHOLE, act, "stopped",
                            order=order)

    @keyword
    def start_whole_cluster(self, cluster: str) -> None:
        """Starts every stopped member of ``cluster`` again as the undo of
        `Stop Whole Cluster` does (Galera: bootstrap from the right member, then the
        others), and closes the open stops and kills of its members.
        Fails naming the member whose bootstrap or start failed, or when no member knows
        its position.

        | `Start Whole Cluster` | database |
        """
        spec = self._cluster(cluster)
        stops = [e for e in self.engine.mine if e.undo is not None
                 and e.undo.action in (ops.START_WHOLE, ops.START_MEMBERS)
                 and e.undo.args.get("cluster") == cluster]
        if not self.engine.dry_run:
            self._operator().start_whole(spec, next(
                (list(e.undo.args.get("order") or []) for e in reversed(stops)
                 if e.undo.action == ops.START_WHOLE), list(spec.members)))
        for entry in reversed(stops):
            self.engine.undo(entry)  # every member runs: closes it

    @keyword
    def get_cluster_of_service(self, service: str) -> str:
        """The name of the target's cluster whose members run ``service`` (``mariadb`` ->
        ``database``), or an empty string when no cluster of the target runs it. Never
        fails on a known target.

        | ${cluster} = | `Get Cluster Of Service` | mariadb |
        """
        try:
            found = clusters_of(self.target)
        except TargetError as error:
            raise FaultError(str(error)) from None
        return next((name for name, spec in found.items() if spec.service == service), "")

    # -- reading and the verdict
    @keyword
    def get_cluster_problems(self, cluster: str) -> list[str]:
        """What keeps ``cluster`` from being whole, one line per member (the member and
        what it reports); an empty list when it is whole. Changes nothing and never
        fails: a member that does not answer is one of the lines.

        | ${problems} = | `Get Cluster Problems` | database |
        """
        return read_cluster(self._cluster(cluster), ops.connect(self.target)).problems

    @keyword
    def get_bootstrap_member(self, cluster: str) -> str:
        """The member a stopped Galera ``cluster`` would be bootstrapped from, as
        `Start Whole Cluster` chooses it (grastate.dat, ``--wsrep-recover``), logged with
        why. Changes nothing; run it only while every member is stopped. Fails on a
        RabbitMQ cluster, and when no member knows its position.
        """
        spec = self._cluster(cluster)
        if not spec.galera:
            raise FaultError(f"'{cluster}' is a {spec.type} cluster: only Galera bootstraps.")
        operator = self._operator()
        states = {m: operator.saved_state(spec, m) for m in spec.members}
        try:
            chosen, why = galera.bootstrap_member(states, list(spec.members))
        except ValueError as error:
            raise FaultError(f"{cluster}: {error}") from None
        logger.info(why)
        return chosen

    @results.verdict
    def cluster_should_be_whole_within(self, cluster: str, limit: timedelta,
                                       ends_fault: bool = False) -> float:
        """Waits until every member of ``cluster`` is back in a whole cluster (Galera:
        all Primary, Synced, ready, full size; RabbitMQ: every node running, no partition,
        every quorum queue with a leader), at most ``limit``, counting from the call:
        a case that leaves recovery to the cloud measures whether, and when, it comes.

        ``ends_fault=True``: the cluster's recovery ends the fault on the monitor's
        timeline (a ``fault end`` mark, as `Mark Timeline` puts, at the start of the
        reading that found it whole). For a quorum loss, which lasts until the members
        form their Primary component again, not until the last one is resumed or started:
        the monitor then judges the cloud's recovery, and what fails after it, from there.

        Publishes its expectation record (seconds until whole <= ``limit``; uncertainty:
        one reading interval) and returns the seconds. Fails after ``limit`` naming each
        member still not whole and what it reports.

        | `Heal Cluster Partition` | messaging | db |
        | `Cluster Should Be Whole Within` | messaging | 60 s |
        | `Cluster Should Be Whole Within` | database | 3 min | ends_fault=True |
        """
        spec = self._cluster(cluster)
        shell = ops.connect(self.target)
        limit_s = limit.total_seconds()
        start = time.monotonic()
        previous = start
        while True:
            reading = time.monotonic()
            report = read_cluster(spec, shell)
            now = time.monotonic()
            if report.whole or now - start >= limit_s:
                break
            previous = now
            time.sleep(min(WHOLE_POLL, max(0.0, limit_s - (now - start))))
        measured = now - start if report.whole else None
        record = results.publish_expectation(
            "Cluster Should Be Whole Within", "time until the cluster is whole", limit_s,
            "<=", measured, unit="s", subject=cluster, uncertainty=now - previous)
        if report.whole and ends_fault:
            fault_events.publish("faults", "undone", f"{cluster} whole again", cluster,
                                 monotonic=reading)
        if record["passed"]:
            logger.info(f"{cluster} is whole after {measured:.1f} s. {report.summary()}")
            return measured
        if report.whole:
            raise FaultError(f"Expected cluster '{cluster}' whole within {limit_s:g} s; it "
                             f"was whole only after {measured:.1f} s.")
        raise FaultError(f"Expected cluster '{cluster}' whole within {limit_s:g} s; after "
                         f"{now - start:.1f} s it is not: " + "; ".join(report.problems))

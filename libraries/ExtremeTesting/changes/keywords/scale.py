"""Adding and removing nodes with the operator's deploy tool, and what must hold after each
(the procedures and checks are :mod:`..scale`'s; the undo actions :mod:`..undo`'s)."""

from __future__ import annotations

from typing import Any

from robot.api import logger

from ... import events, results
from ...errors import TargetError
from ...lifecycle import Entry, Step
from .. import scale, undo
from ..context import SOURCE
from .base import Component

ADD_COMPUTE = "Add Compute Node"
REMOVE_COMPUTE = "Remove Compute Node"
ADD_CONTROLLER = "Add Controller"
REMOVE_CONTROLLER = "Remove Controller"


class ScaleKeywords(Component):
    def __init__(self, ctx, library: Any):
        super().__init__(ctx)
        self.library = library  # the Changes library: its drain and wait keywords

    # --- the keywords -------------------------------------------------------------
    @results.verdict(ADD_COMPUTE)
    def add_compute_node(self, node: str) -> None:
        """Adds the compute node ``node`` with the target's deploy tool, then checks it is usable.

        Runs the target's ``scale.add`` command (``{role}`` is ``compute``), written to the
        ledger first with its undo, the removal (`Remove Compute Node`'s steps), done
        when the test or suite ends. Then reads the target file again (the tool may have
        written the node in) and checks, each published as an expectation record:
        ``nova-compute`` on the node up and enabled; its host mapped to a cell (with
        ``cell_discovery: command`` this keyword runs ``nova-manage cell_v2
        discover_hosts`` first; with ``periodic`` it waits ``periodic_within``), seen in
        ``nova-manage cell_v2 list_hosts``; a placement resource provider with non-zero
        VCPU, MEMORY_MB and DISK_GB inventory; the ``availability_zone`` and
        ``aggregate`` the target names; a server booted targeted at the host (compute
        API 2.74) ACTIVE, then deleted. Waits at most ``ready_within``.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        without a ``scale`` section; fails with the command's error output when it fails
        or outlives its timeout, and naming each check not met, what is missing and what
        to do (an unmapped host: ``HostMappingNotFound``).

        | `Add Compute Node`    cmp2
        """
        self._add(ADD_COMPUTE, node, "compute")

    @results.verdict(REMOVE_COMPUTE)
    def remove_compute_node(self, node: str) -> None:
        """Removes the compute node ``node`` safely, then checks that it left nothing behind.

        Disables its ``nova-compute`` service first (enabled again at scope end if the
        removal stops before its command), moves its servers away (the target's
        ``scale.migration``: live and/or cold, in that order), runs the ``scale.remove``
        command, deletes its compute services and network agents. Then checks, each
        published as an expectation record: no placement resource provider, no host
        mapping (``nova-manage cell_v2 list_hosts``) and no network agent left, and no
        service or agent that registers again within ``scale.settle``. Written to the
        ledger first with its undo, the addition (the add command, the service up, the
        host mapped), done when the test or suite ends; a removal after `Add Compute
        Node` in the same test closes that addition instead.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        without a ``scale`` section; fails naming the servers that could not be moved
        (the node is then not removed), the command's error output, or each thing left
        behind and how to remove it.

        | `Remove Compute Node`    cmp2
        """
        self._settings(f"remove compute node {node}")
        procedures = self.ctx.scale()
        host = scale.hostname(self.target, node)
        disabled = self.ctx.changes.record(
            Step("disable compute service", "nova-compute", [node]),
            Step(undo.ENABLE_COMPUTE, "nova-compute", [node]))
        procedures.disable(host)
        providers = procedures.cloud.hypervisors(host)
        moved = procedures.move_servers(host)
        entry, reverses = self._open(node, "compute", "remove")
        self._deploy(procedures, "remove", node, "compute", entry)
        services, agents = procedures.forget(host)
        self.ctx.changes.close(disabled, "completed", "the compute service was deleted")
        if reverses:
            self.ctx.changes.close(entry, "undone", f"removed by {REMOVE_COMPUTE}")
        logger.info(f"{node}: moved {moved} server(s) away, ran the remove command, "
                    f"deleted {services} compute service(s) and {agents} network agent(s).")
        checks = procedures.left_behind(REMOVE_COMPUTE, host, providers)
        checks.append(procedures.stays_gone(REMOVE_COMPUTE, host))
        self._judge(REMOVE_COMPUTE, node, checks)

    @results.verdict(ADD_CONTROLLER)
    def add_controller(self, node: str) -> None:
        """Adds the controller ``node``, which joins the load balancer once it serves.

        Runs the target's ``scale.add`` command (``{role}`` is ``controller``), written
        to the ledger first with its undo, the removal, done when the test or suite
        ends. Then reads the target file again and, for every API service the target
        runs on the node: takes its load-balancer server out of rotation at once
        (`Drain Node From Load Balancer`), sends the availability monitor's real requests
        straight to the node's own address (the roll-out's gate), and only when every
        service passed puts them in rotation and waits until HAProxy sees them UP.
        Publishes two expectation records: servers that were in rotation before the node
        served (the add command put it there while requests to it failed) and services
        that failed the gate.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        without a ``scale`` section; fails with the command's error output, when the load
        balancer has no server of the node, when it was in rotation before it served, or
        when a service failed real requests (it is then kept out of rotation).

        | `Add Controller`    ctl3
        """
        self._add(ADD_CONTROLLER, node, "controller")

    @results.verdict(REMOVE_CONTROLLER)
    def remove_controller(self, node: str) -> None:
        """Removes the controller ``node`` after draining it from the load balancer.

        Drains every API service of the node (`Drain Node From Load Balancer`) and waits
        until it has no session left (`Wait Until Node Is Drained`), then runs the
        ``scale.remove`` command (``{role}`` is ``controller``), deletes its compute
        services and network agents, and checks (expectation records): no server of the
        node left in rotation, no network agent left, none registering again within
        ``scale.settle``. Written to the ledger first with its undo, the addition (the
        add command, then the gate before rotation), done when the test or suite ends.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        without a ``scale`` section; fails when the node does not drain (it is then not
        removed), with the command's error output, or naming what is left.

        | `Remove Controller`    ctl3
        """
        self._settings(f"remove controller {node}")
        services = self._api_services(node)
        for service in services:
            self.library.drain_node_from_load_balancer(node, service)
        self.library.wait_until_node_is_drained(node)
        procedures = self.ctx.scale()
        host = scale.hostname(self.target, node)
        entry, reverses = self._open(node, "controller", "remove")
        self._deploy(procedures, "remove", node, "controller", entry)
        for drained in self.ctx.pending(undo.LB_READY, node):
            self.ctx.changes.close(drained, "completed", "the node was removed")
        if reverses:
            self.ctx.changes.close(entry, "undone", f"removed by {REMOVE_CONTROLLER}")
        procedures.forget(host)
        checks = [scale.leave_controller(REMOVE_CONTROLLER, self.ctx.haproxy(), node)]
        checks += [c for c in procedures.left_behind(REMOVE_CONTROLLER, host, [])
                   if c.what == "network agents left"]
        checks.append(procedures.stays_gone(REMOVE_CONTROLLER, host))
        self._judge(REMOVE_CONTROLLER, node, checks)

    # --- the steps ------------------------------------------------------------------
    def _settings(self, action: str) -> None:
        scale.settings(self.target)  # TargetError naming the key and the fix
        self.ctx.require_destructive(action)

    def _api_services(self, node: str) -> list[str]:
        services = self.ctx.lb_services(node, None)
        if not services:
            raise TargetError(f"Target file {self.target.path}: no API service runs on "
                              f"{node}; list it under services.<name>.nodes for each API "
                              f"service of the controller.")
        return services

    def _open(self, node: str, role: str, verb: str) -> tuple[Entry, bool]:
        """The ledger entry of this change: a new one whose undo is the opposite change,
        or, when this change reverses an open one of the same node (an add after a
        removal in the same scope), that one (True: close it once done)."""
        reversing = undo.ADD_NODE if verb == "add" else undo.REMOVE_NODE
        open_ = self.ctx.pending(reversing, node, role=role)
        if open_:
            return open_[-1], True
        opposite = undo.REMOVE_NODE if verb == "add" else undo.ADD_NODE
        entry = self.ctx.changes.record(Step(f"{verb} node", None, [node], {"role": role}),
                                        Step(opposite, None, [node], {"role": role}))
        return entry, False

    def _deploy(self, procedures: scale.Scale, which: str, node: str, role: str,
                entry: Entry) -> None:
        what = f"{role} {node}"
        events.publish(SOURCE, "requested", f"{which} node", what, entry.id)
        try:
            seconds = procedures.deploy(which, node, role)
        except Exception as error:
            # the entry stays open: a half-made change is undone at scope end
            events.publish(SOURCE, "failed", f"{which} node", what, entry.id, str(error))
            raise
        events.publish(SOURCE, "in effect", f"{which} node", what, entry.id,
                       f"{which} command: {seconds:.0f} s")
        logger.info(f"The {which} command for {node} ended after {seconds:.1f} s.")

    def _add(self, keyword: str, node: str, role: str) -> None:
        self._settings(f"add {role} {node}")
        procedures = self.ctx.scale()
        entry, reverses = self._open(node, role, "add")
        self._deploy(procedures, "add", node, role, entry)
        if reverses:
            self.ctx.changes.close(entry, "undone", f"added again by {keyword}")
        self.ctx.reload_target()
        procedures.nodes = self.ctx.nodes
        if role == "compute":
            checks = self._compute_checks(procedures, node)
        else:
            checks = self._controller_checks(node)
        self._judge(keyword, node, checks)

    def _compute_checks(self, procedures: scale.Scale, node: str) -> list[scale.Check]:
        host = scale.hostname(self.target, node)
        up = procedures.service_up(ADD_COMPUTE, host)
        if not up.passed:
            return [up]  # the rest cannot be there without the service
        checks = [up, procedures.mapped(ADD_COMPUTE, host)]
        checks += procedures.inventory(ADD_COMPUTE, host)
        checks += procedures.placement(ADD_COMPUTE, host)
        if checks[1].passed:
            checks.append(procedures.boots_on(ADD_COMPUTE, host))
        return checks

    def _controller_checks(self, node: str) -> list[scale.Check]:
        services = self._api_services(node)
        lb = self.ctx.haproxy()
        cloud = bool(self.target.data.get("cloud"))
        if not cloud:
            logger.warn(f"No 'cloud' in target file {self.target.path}: {node} cannot be "
                        f"sent real requests before it joins (not checked).")

        def ready(service: str) -> None:
            backend = lb.spec.backend(service)
            lb.set_state(backend, node, "ready")
            for drained in self.ctx.pending(undo.LB_READY, node, backend=backend):
                self.ctx.changes.close(drained, "restored", f"joined by {ADD_CONTROLLER}")

        joined = scale.join_controller(
            lb, node, services, lambda s: self.library.drain_node_from_load_balancer(node, s),
            ready, lambda s: self.ctx.gate(self.target, node, s) if cloud else None)
        checks = scale.joined_checks(ADD_CONTROLLER, node, joined)
        if not joined.failed:
            self.library.wait_until_node_is_up_in_load_balancer(node)
        return checks

    def _judge(self, keyword: str, node: str, checks: list[scale.Check]) -> None:
        """Publish every comparison; fail naming each one not met."""
        for check in checks:
            check.publish()
        failed = [c.problem or f"{c.what}: {c.measured} not {c.comparison} {c.limit:g}"
                  for c in checks if not c.passed]
        if failed:
            events.publish(SOURCE, "mark", f"{keyword} failed", node, "", failed[0])
            raise scale.ScaleError(f"{keyword} {node}: " + "; ".join(failed) + ".")
        events.publish(SOURCE, "mark", f"{keyword} checked", node, "",
                       f"{len(checks)} checks met")
        logger.info(f"{keyword} {node}: every check met ("
                    + ", ".join(c.what for c in checks) + ").")

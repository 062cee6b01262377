"""Drain a node from the load balancer, wait for it, return it through the gate."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from ... import events
from ...lifecycle import Step, undo_entries
from .. import gate, undo
from ..context import SOURCE
from .base import Component


class LoadBalancerKeywords(Component):
    @keyword
    def drain_node_from_load_balancer(self, node: str, service: str | None = None) -> None:
        """Drains ``node`` from the load balancer: no new connection, running ones finish.

        Sets the node's server in the backend of ``service`` (every API service of the
        node when no service is given) to DRAIN. Written to the ledger before, and made
        READY again when the test or suite ends (or by `Return Node To Load Balancer`).

        Fails, before touching anything, on a target not marked ``destructive: true``, an
        unknown node or service, or a target without a load balancer; fails with HAProxy's
        answer when it refuses.

        | `Drain Node From Load Balancer`    ctl1    keystone
        """
        services = self.ctx.lb_services(node, service)
        self.ctx.require_destructive(f"drain {node} from the load balancer")
        lb = self.ctx.haproxy()
        for name in services:
            backend = lb.spec.backend(name)
            if self.ctx.pending(undo.LB_READY, node, backend=backend):
                continue
            args = {"backend": backend, "server": node}
            entry = self.ctx.changes.record(Step("drain", name, [node], args),
                                            Step(undo.LB_READY, name, [node], args))
            events.publish(SOURCE, "requested", "drain", f"{name} on {node}", entry.id)
            try:
                lb.set_state(backend, node, "drain")
            except Exception as error:
                self.ctx.changes.close(entry, "failed", str(error))
                events.publish(SOURCE, "failed", "drain", f"{name} on {node}", entry.id,
                               str(error))
                raise
            events.publish(SOURCE, "in effect", "drain", f"{name} on {node}", entry.id)
            logger.info(f"Drained {backend}/{node}.")

    @keyword
    def return_node_to_load_balancer(self, node: str, service: str | None = None,
                                     gate: bool = True) -> None:
        """Returns ``node`` to the load balancer: its server(s) of ``service`` READY again,
        then checks that it serves real requests (the gate).

        Every API service of the node when no ``service`` is given; closes the drains of
        `Drain Node From Load Balancer`. The gate: for the target's ``gate_window``
        (``expectations.rolling_changes``, default 5 s) the requests the availability
        monitor sends for the service (version document, token validation, authenticated
        reads, the target's writes), with its credentials, go straight to the node's own
        address and the service's port, and none may fail. When one does, the node is
        taken out of rotation again, every change this library made on it is undone, and
        the keyword fails naming the node, the requests that failed and their statuses.
        ``gate=False`` only returns the node. Fails with HAProxy's answer when it refuses,
        or on an unknown node or service.

        | `Return Node To Load Balancer`    ctl1    keystone
        """
        services = self.ctx.lb_services(node, service)
        lb = self.ctx.haproxy()
        # The gates log in first, while the node is still out of rotation.
        gates = {name: self._prepare_gate(node, name) for name in services} if gate else {}
        for name in services:
            backend = lb.spec.backend(name)
            lb.set_state(backend, node, "ready")
            for entry in self.ctx.pending(undo.LB_READY, node, backend=backend):
                self.ctx.changes.close(entry, "restored", "by Return Node To Load Balancer")
                events.publish(SOURCE, "undone", "drain", f"{name} on {node}", entry.id)
            logger.info(f"Returned {backend}/{node} to the load balancer.")
        for name, prepared in gates.items():
            if prepared is not None:
                self._gate(node, name, prepared)

    def _prepare_gate(self, node: str, service: str) -> gate.Gate | None:
        if not self.target.data.get("cloud"):
            logger.warn(f"No 'cloud' in target file {self.target.path}: the gate cannot "
                        f"send real requests to {service} on {node} (not checked).")
            return None
        return self.ctx.gate(self.target, node, service)

    def _gate(self, node: str, service: str, prepared: gate.Gate) -> None:
        """The gate of `Return Node To Load Balancer`: real requests to the node, or the
        node out of rotation again, its changes undone and a `GateError`."""
        found = prepared.run()
        mark = f"{service} on {node}"
        if found.ok:
            events.publish(SOURCE, "mark", "serves real requests", mark, "",
                           f"{found.requests} requests in {found.window:g} s")
            after = (f" after a warm-up in which {len(found.warmup)} failed"
                     f" ({', '.join(sorted({f['error'] or 'failed' for f in found.warmup}))})"
                     if found.warmup else "")
            logger.info(f"{mark} served {found.requests} real requests, the last "
                        f"{found.window:g} s without a failure{after} ({found.url}).")
            return
        what = found.describe()
        events.publish(SOURCE, "failed", "gate", mark, "", what)
        self.drain_node_from_load_balancer(node, service)
        raise gate.GateError(f"{what}. {node} is out of rotation again; its change undone: "
                             f"{self.undo_changes_of(node)}.")

    def undo_changes_of(self, node: str) -> str:
        """Undo this library's open changes of ``node`` (not its drains); returns what was
        undone, in words, with what could not be."""
        changed = self.ctx.changed_on(node)
        undone = ", ".join(e.step.describe() for e in changed) or "nothing to undo"
        failures = undo_entries(self.ctx.changes, changed, logger.error)
        if failures:
            undone += f" (could not undo: {'; '.join(failures)})"
        return undone

    def _wait_servers(self, node: str, service: str | None, timeout: timedelta,
                      done, what: str) -> float:
        services = self.ctx.lb_services(node, service)
        lb = self.ctx.haproxy()
        return lb.wait_until(node, [lb.spec.backend(s) for s in services], done, what,
                             timeout.total_seconds())

    @keyword
    def wait_until_node_is_drained(self, node: str, service: str | None = None,
                                   timeout: timedelta = timedelta(seconds=60)) -> float:
        """Waits until ``node``'s load-balancer server(s) have no active session left.

        Of ``service`` (every API service of the node when none is given). Returns the
        seconds waited. Fails after ``timeout`` naming the sessions left, or when HAProxy
        has no such server.

        | `Wait Until Node Is Drained`    ctl1    keystone    timeout=30 s
        """
        return self._wait_servers(node, service, timeout, lambda s: s.sessions == 0, "drained")

    @keyword
    def wait_until_node_is_up_in_load_balancer(self, node: str, service: str | None = None,
                                               timeout: timedelta = timedelta(seconds=60)
                                               ) -> float:
        """Waits until the load balancer's checks see ``node`` UP again (its rise).

        Of ``service`` (every API service of the node when none is given). Returns the
        seconds waited. Fails after ``timeout`` with the status HAProxy shows, or when it
        has no such server.

        | `Wait Until Node Is Up In Load Balancer`    ctl1    keystone
        """
        return self._wait_servers(node, service, timeout, lambda s: s.status == "UP", "up")

    def load_balancer_servers(self) -> list[dict]:
        """Every load-balancer server as HAProxy's ``show stat`` reports it (plain Python,
        not a keyword: suites use the Cloud library's `Get Load Balancer Servers`, one
        name for one act)."""
        return [asdict(s) for s in self.ctx.haproxy().servers()]

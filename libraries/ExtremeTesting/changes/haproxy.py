"""Changing the load balancer for a rolling change: a server set to drain, ready or maint,
and the waits until a drained server has no session left or a returned one is UP again.

Reading HAProxy is :mod:`ExtremeTesting.loadbalancer`'s (the one reader, also the steady
state's): the target's ``load_balancer`` section, ``show stat`` through the admin socket on
the load balancer node, its `Server` rows. Here it runs over the Changes library's SSH
connections (:class:`.remote.Nodes`), and the commands need ``admin_socket``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import loadbalancer
from ..errors import TargetError
from ..loadbalancer import Server
from ..target import Target
from .errors import ChangeError
from .remote import Nodes

STATES = ("ready", "drain", "maint")


class HAProxy(loadbalancer.HAProxy):
    """The target's HAProxy (see :func:`of`) with the commands a rolling change needs."""

    def servers(self) -> list[Server]:
        try:
            return super().servers()
        except ValueError as error:  # not show stat's CSV
            raise ChangeError(f"HAProxy on {self.spec.node} answered something else: "
                              f"{error}.") from None

    def set_state(self, backend: str, server: str, state: str) -> None:
        """``set server <backend>/<server> state <state>``; fails with HAProxy's answer."""
        if state not in STATES:
            raise ChangeError(f"Unknown server state '{state}': one of {', '.join(STATES)}.")
        answer = self.command(f"set server {backend}/{server} state {state}").strip()
        if answer:
            raise ChangeError(f"HAProxy refused 'set server {backend}/{server} state "
                              f"{state}': {answer}. Check the backend and server names "
                              f"(the Cloud library's Get Load Balancer Servers).")

    def wait_until(self, node: str, backends: list[str], done: Callable[[Server], bool],
                   what: str, timeout: float, interval: float = 0.2) -> float:
        """Polls ``show stat`` until ``done`` holds for ``node``'s server in each backend;
        returns the seconds waited. Fails after ``timeout`` with what HAProxy shows, or at
        once when a backend has no such server."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            seen = {s.backend: s for s in self.servers()
                    if s.name == node and s.backend in backends}
            missing = [b for b in backends if b not in seen]
            if missing:
                raise ChangeError(f"HAProxy has no server {node} in backend(s) "
                                  f"{', '.join(missing)}.")
            pending = [s for s in seen.values() if not done(s)]
            if not pending:
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise ChangeError(
                    f"{node} was not {what} within {timeout:g} s: "
                    + ", ".join(f"{s.backend} {s.status} with {s.sessions} session(s)"
                                for s in pending) + ".")
            time.sleep(interval)


def of(target: Target, nodes: Nodes) -> HAProxy:
    """The target's load balancer, its commands run on its node through ``nodes``. Fails
    in one line when the target names none or gives no admin socket."""
    spec = loadbalancer.spec_from_target(target)
    if spec is None or not spec.admin_socket:
        raise TargetError(f"Target file {target.path}: changing the load balancer needs "
                          f"'load_balancer: {{type: haproxy, node: <node>, admin_socket: "
                          f"<path>}}' (HAProxy's stats socket on that node).")

    def run(_address: str, line: str, timeout: float) -> str:
        # spec.address is spec.node's address: Nodes reaches it by its name
        return nodes.run(spec.node, line, timeout=timeout).out

    return HAProxy(spec, run, target.section("nodes"))

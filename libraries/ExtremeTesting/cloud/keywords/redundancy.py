from __future__ import annotations

from datetime import timedelta

from robot.api import SkipExecution, logger
from robot.api.deco import keyword

from ... import loadbalancer
from ..apierrors import CloudError
from ..polling import wait_until
from ..redundancy import Getter, Instance, api_instances, http_status, silent
from .base import Component

INSTANCE_TIMEOUT = timedelta(seconds=5)


class RedundancyKeywords(Component):
    """Full redundancy: each API instance on its own node, each load balancer backend."""

    get: Getter = staticmethod(http_status)  # tests replace it with a fake

    def _instances(self, service: str | None = None, node: str | None = None
                   ) -> list[Instance]:
        target = self.ctx.target()
        if target is None:
            raise SkipExecution("No target file: the library does not know which node runs "
                                "which API, so the instances are not checked.")
        return api_instances(target.data, service, node)

    @keyword("Every API Should Serve On Every Node")
    def every_api_should_serve_on_every_node(self, timeout: timedelta = INSTANCE_TIMEOUT
                                             ) -> None:
        """Each instance of each API answers on its own node, not only through the VIP.

        For every service of the target with an ``api`` and a ``port``, on every node its
        ``nodes`` list names: GET ``<scheme>://<node address>:<port><version path>``
        (the VIP endpoint's path, no token); any status below 500 within ``timeout``
        counts as serving. Fails naming each service and node that did not, with what
        it answered: the load balancer hides such an instance, so the cloud has lost
        redundancy while every VIP check passes.

        | `Every API Should Serve On Every Node` |
        | `Every API Should Serve On Every Node` | timeout=10 s |
        """
        instances = self._instances()
        answers, failed = silent(instances, timeout.total_seconds(), self.get)
        logger.info("\n".join(str(a) for a in answers))
        if failed:
            raise CloudError(
                f"Expected every API to serve on every node; {len(failed)} of "
                f"{len(answers)} instances did not: " + "; ".join(str(a) for a in failed)
                + ". Start or repair the service on that node (the VIP hides it).")

    @keyword
    def service_should_serve_on_node(self, service: str, node: str,
                                     timeout: timedelta = INSTANCE_TIMEOUT) -> None:
        """The instance of API ``service`` on ``node`` answers there (status below 500
        within ``timeout``), as in `Every API Should Serve On Every Node`. Fails naming the
        node, the service, its URL and what it answered (or that it did not answer).

        | `Service Should Serve On Node` | keystone | ctl1 |
        """
        answers, failed = silent(self._instances(service, node), timeout.total_seconds(),
                                 self.get)
        logger.info(str(answers[0]))
        if failed:
            raise CloudError(f"Expected {service} to serve on {node}; it did not: "
                             f"{failed[0]}.")

    @keyword
    def wait_until_service_serves_on_node(self, service: str, node: str,
                                          timeout: timedelta = timedelta(minutes=2)) -> None:
        """Polls `Service Should Serve On Node` until it passes, at most ``timeout``;
        then fails naming the node and the service, and what it last answered.

        | Restart Service | nova-api | on=ctl1 |
        | `Wait Until Service Serves On Node` | nova-api | ctl1 | timeout=1 min |
        """
        instances = self._instances(service, node)
        per_try = min(INSTANCE_TIMEOUT, timeout).total_seconds()

        def check() -> tuple[bool, str]:
            _, failed = silent(instances, per_try, self.get)
            return not failed, str(failed[0]) if failed else "served"

        try:
            wait_until(check, timeout, f"{service} serves on {node}")
        except CloudError as error:
            raise CloudError(f"{service} on {node} did not serve again: {error}") from None

    # --- the load balancer ----------------------------------------------------------------

    def _balancer(self) -> loadbalancer.HAProxy:
        balancer = self.ctx.load_balancer()
        if balancer is None:
            raise SkipExecution("The target names no load_balancer: its backends are not "
                                "checked (add the section, see "
                                "variables/example-3-controllers.yaml).")
        return balancer

    @keyword
    def get_load_balancer_servers(self) -> list[loadbalancer.Server]:
        """Every server of every backend as the load balancer sees it: ``backend``,
        ``name``, ``node``, ``status`` (HAProxy's word: UP, DOWN, MAINT, DRAIN...),
        ``check``, ``sessions``.

        Read from HAProxy's admin socket on the target's ``load_balancer.node`` over SSH
        (``show stat``), or from its ``stats_url``. Fails when neither can be read; skips
        the test when the target names no ``load_balancer``.
        """
        balancer = self._balancer()
        try:
            servers = balancer.servers()
        except Exception as error:  # noqa: BLE001 - SSH, socket or page: say which
            raise CloudError(f"Could not read the load balancer {balancer.spec.label}: "
                             f"{type(error).__name__}: {error}. Check the target's "
                             "load_balancer section and that HAProxy runs.") from None
        logger.info("\n".join(f"{s.backend}/{s.name}: {s.status} ({s.check})"
                              for s in servers))
        return servers

    @keyword
    def every_load_balancer_backend_should_be_up(self) -> None:
        """Every server of every backend is in rotation (UP, or ``no check``): none
        DOWN, in maintenance, draining or on its way down.

        Fails naming each backend, server, node and state. Skips when the target names
        no ``load_balancer``.

        | `Every Load Balancer Backend Should Be Up` |
        """
        servers = self.get_load_balancer_servers()
        if not servers:
            raise CloudError(f"The load balancer {self._balancer().spec.label} lists no "
                             "backend server at all.")
        found = loadbalancer.problems(servers)
        if found:
            raise CloudError(f"Expected every load balancer backend UP; {len(found)} of "
                             f"{len(servers)} servers are not: " + "; ".join(found) + ".")

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from robot.api import SkipExecution, logger
from robot.api.deco import keyword

from ... import results
from .. import health
from ..apierrors import CloudError, api_call, describe
from ..polling import wait_until
from .base import Component
from .clusters import ClusterKeywords
from .redundancy import RedundancyKeywords


class HealthKeywords(Component):
    # --- catalog and endpoints ------------------------------------------------------

    @keyword
    @api_call("Reading the service catalog")
    def get_service_catalog(self) -> list[dict[str, Any]]:
        """Returns the token's service catalog: a list of ``{type, name, endpoints}``.

        Fails with the API's answer (HTTP status, message, request id) when the call fails.

        | ${catalog} =    `Get Service Catalog`
        """
        entries = self.ctx.catalog(refresh=True)
        logger.info("Service catalog: " + ", ".join(health.service_types(entries)))
        return entries

    @keyword
    @api_call("Checking the service catalog")
    def service_catalog_should_contain(self, *service_types: str) -> None:
        """Checks that the catalog has an endpoint for each of ``service_types``.

        Fails naming the types missing and those the catalog has.

        | `Service Catalog Should Contain` | identity | compute | image | network |
        """
        present = health.service_types(self.ctx.catalog(refresh=True))
        missing = [t for t in service_types if t not in present]
        if missing:
            raise CloudError(f"Expected the catalog to list {', '.join(service_types)}; "
                             f"missing: {', '.join(missing)}. The catalog has: "
                             f"{', '.join(present) or 'nothing'}. Register the endpoints "
                             "(openstack endpoint create) or fix the expectation.")

    def _probe_all(self, interface: str) -> list[health.EndpointAnswer]:
        entries = self.ctx.catalog(refresh=True)
        found = health.endpoints(entries, interface)
        if not found:
            raise CloudError(f"The catalog has no {interface} endpoints; interfaces seen: "
                             f"{self._interfaces(entries) or 'none'}.")
        return [health.probe_endpoint(self.conn, service, url, interface, self.ctx.api_timeout)
                for service, url in found]

    @staticmethod
    def _interfaces(entries: list[dict[str, Any]]) -> str:
        return ", ".join(sorted({e.get("interface", "?") for entry in entries
                                 for e in entry.get("endpoints") or []}))

    @keyword
    @api_call("Checking the endpoints")
    def all_endpoints_should_answer(self, interface: str = "public"
                                    ) -> list[health.EndpointAnswer]:
        """GETs the version document of every catalog endpoint of ``interface``.

        An endpoint answers when it returns any HTTP status below 500 within the API timeout (no
        token is sent: version documents are public). Returns the answers (service, url, status,
        seconds, version). Fails naming every endpoint that did not answer, and when the catalog
        has no endpoint of ``interface``.

        | `All Endpoints Should Answer`    interface=internal
        """
        answers = self._probe_all(interface)
        logger.info("\n".join(str(a) for a in answers))
        silent = [a for a in answers if not a.answered]
        if silent:
            raise CloudError(f"Expected every {interface} endpoint to answer; "
                             f"{len(silent)} of {len(answers)} did not: "
                             + "; ".join(str(a) for a in silent)
                             + ". Check the service and the load balancer in front of it.")
        return answers

    # --- services ---------------------------------------------------------------------

    def _compute_services(self) -> list[Any]:
        return list(self.conn.compute.services())

    @keyword
    @api_call("Listing compute services")
    def all_compute_services_should_be_up(self, disabled_ok: bool = False) -> None:
        """Checks that every compute service (conductor, scheduler, compute...) is up and enabled.

        ``disabled_ok`` accepts disabled services. Fails naming every service down (or disabled),
        and when the compute API lists none. Nova marks a service down when it missed its
        heartbeats for ``service_down_time`` (60 s by default): a service stopped a moment ago
        still shows up. Use `Wait Until Compute Service Is Down` to await that.

        | `All Compute Services Should Be Up`    disabled_ok=True
        """
        services = self._compute_services()
        problems = health.service_problems(services, disabled_ok)
        logger.info(f"Compute services: {health.summarize(services)}: "
                    + ", ".join(f"{s.binary}@{s.host}={s.state}" for s in services))
        if not services:
            raise CloudError("Expected compute services; the compute API lists none. "
                             "Start nova-conductor, nova-scheduler and nova-compute.")
        if problems:
            raise CloudError("Expected every compute service up"
                             f"{'' if disabled_ok else ' and enabled'}; not so: "
                             + "; ".join(problems) + f" ({health.summarize(services)}). "
                             "Start the service named, or check its log and its link to "
                             "the message bus.")

    @keyword
    def wait_until_compute_services_are_up(self, timeout: timedelta = timedelta(minutes=3),
                                           disabled_ok: bool = False) -> None:
        """Polls until `All Compute Services Should Be Up` passes, at most ``timeout``.

        ``disabled_ok`` as there. API errors while polling are retried. Fails after ``timeout``
        with the problems last seen.

        | `Wait Until Compute Services Are Up`    timeout=5 min
        """
        def check() -> tuple[bool, str]:
            try:
                services = self._compute_services()
            except Exception as error:  # noqa: BLE001 - the API may be down: keep asking
                return False, _error_text(error)
            problems = health.service_problems(services, disabled_ok)
            return bool(services) and not problems, "; ".join(problems) or "no services"

        wait_until(check, timeout, "every compute service is up")

    @keyword
    def wait_until_compute_service_is_down(self, binary: str, host: str | None = None,
                                           timeout: timedelta = timedelta(minutes=3)) -> None:
        """Polls until the compute service ``binary`` (on ``host``, or on any host) is reported
        down.

        Polls at most ``timeout``. Fails at once when no such service is registered, and after
        ``timeout`` with the states last seen.

        | `Wait Until Compute Service Is Down` | nova-compute | cmp1 | timeout=2 min |
        """
        def check() -> tuple[bool, str]:
            services = [s for s in self._compute_services()
                        if s.binary == binary and (host is None or s.host == host)]
            if not services:
                raise CloudError(f"No compute service {binary}"
                                 f"{' on ' + host if host else ''} is registered.")
            down = [s for s in services if str(s.state).lower() != "up"]
            return bool(down), ", ".join(f"{s.binary}@{s.host} {s.state}" for s in services)

        wait_until(api_call("Listing compute services")(check), timeout,
                   f"{binary}{' on ' + host if host else ''} is down")

    @keyword
    @api_call("Listing network agents")
    def all_network_agents_should_be_up(self) -> None:
        """Checks that every Neutron agent is alive and administratively up.

        Fails naming every agent that is not. A cloud without agents (e.g. an ML2 setup with no
        mechanism driver agents, like the lab) passes, saying so in the log. Skips when the cloud
        has no network API.

        | `All Network Agents Should Be Up`
        """
        if "network" not in health.service_types(self.ctx.catalog()):
            raise SkipExecution("The cloud has no network service in its catalog: "
                                "no agents to check.")
        from openstack import exceptions as sdk

        try:
            agents = list(self.conn.network.agents())
        except sdk.NotFoundException:
            logger.info("The network API has no agent extension: no agents to check.")
            return
        if not agents:
            logger.info("The network API lists no agents: nothing to check (not a "
                        "failure; this cloud runs without Neutron agents).")
            return
        problems = health.agent_problems(agents)
        logger.info(f"Network agents: {len(agents) - len(problems)} of {len(agents)} up.")
        if problems:
            raise CloudError("Expected every network agent alive and up; not so: "
                             + "; ".join(problems) + ". Start the agent named or check its "
                             "link to the message bus.")

    @keyword
    @api_call("Listing volume services")
    def all_volume_services_should_be_up(self, disabled_ok: bool = False) -> None:
        """Checks that every Cinder service is up and enabled.

        ``disabled_ok`` accepts disabled services. Fails naming every service down (or disabled).
        Skips when the cloud has no volume service.

        | `All Volume Services Should Be Up`    disabled_ok=True
        """
        if not self.ctx.has_volume_service():
            raise SkipExecution("The cloud has no volume service (no block-storage endpoint "
                                "in the catalog): volume services not checked.")
        services = list(self.conn.block_storage.services())
        problems = health.service_problems(services, disabled_ok)
        logger.info(f"Volume services: {health.summarize(services)}.")
        if problems:
            raise CloudError("Expected every volume service up; not so: "
                             + "; ".join(problems) + ". Start the service named.")

    @keyword
    @api_call("Listing hypervisors")
    def get_hypervisors(self) -> list[Any]:
        """Returns the hypervisors with their details (name, state, status, type).

        Fails with the API's answer (HTTP status, message, request id) when the call fails.
        """
        return list(self.conn.compute.hypervisors(details=True))

    @keyword
    @api_call("Checking hypervisors")
    def all_hypervisors_should_be_up(self, minimum: int = 1) -> None:
        """Checks that at least ``minimum`` hypervisors exist and every one is up and enabled.

        Fails when fewer than ``minimum`` exist (with how to register them) or naming every
        hypervisor down or disabled.

        | `All Hypervisors Should Be Up`    minimum=2
        """
        hypervisors = self.get_hypervisors()
        problems = health.hypervisor_problems(hypervisors)
        logger.info("Hypervisors: " + ", ".join(
            f"{h.name} ({h.state}, {h.status}, {getattr(h, 'hypervisor_type', '?')})"
            for h in hypervisors))
        if len(hypervisors) < minimum:
            raise CloudError(f"Expected at least {minimum} hypervisor(s); the cloud lists "
                             f"{len(hypervisors)}. Start nova-compute on the compute nodes "
                             "and map them to a cell (nova-manage cell_v2 discover_hosts).")
        if problems:
            raise CloudError("Expected every hypervisor up and enabled; not so: "
                             + "; ".join(problems) + ".")

    # --- versions and the steady-state check ------------------------------------------

    @keyword
    @api_call("Reading the cloud's versions")
    def record_cloud_versions(self, interface: str = "public") -> dict[str, Any]:
        """Reads each service's API version (and microversion range) from its version document.

        Reads the endpoints of ``interface``; publishes the versions as the run's ``environment``
        record for the sign-off report and returns it. Fails when the catalog has no endpoint of
        ``interface``.
        """
        answers = self._probe_all(interface)
        return self._publish_environment(answers)

    def _publish_environment(self, answers: list[health.EndpointAnswer]) -> dict[str, Any]:
        conn = self.conn
        services = {a.service: {"url": a.url, **a.version} for a in answers}
        record = {
            "cloud": self.ctx.settings.cloud,
            "region": getattr(getattr(conn, "config", None), "region_name", None),
            "auth_url": ((getattr(getattr(conn, "config", None), "config", None) or {})
                         .get("auth", {}).get("auth_url")),
            "services": services,
            "resource_prefix": self.ctx.prefix,
        }
        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{html.escape(str(v.get('api', '?')))}</td>"
            f"<td>{html.escape(str(v.get('max_microversion', '')))}</td></tr>"
            for t, v in sorted(services.items()))
        summary = (f"<b>Cloud {html.escape(str(record['cloud']))}</b><table border='1'>"
                   f"<tr><th>service</th><th>API</th><th>max microversion</th></tr>{rows}"
                   "</table>")
        results.publish("environment", record, summary)
        self.ctx.environment_published = True
        return record

    @keyword
    @api_call("Checking the cloud's health")
    def cloud_should_be_healthy(self, interface: str = "public", min_hypervisors: int = 1,
                                disabled_ok: bool = False) -> None:
        """The steady-state check before and after a destructive case, in one keyword.

        Checks, collecting every problem before failing: the catalog lists identity and
        compute; every ``interface`` endpoint answers; every compute service is up
        (``disabled_ok`` accepts disabled ones); every
        network agent is up (none is fine); every volume service is up when the cloud has
        Cinder; at least ``min_hypervisors`` hypervisors are up. Full redundancy too:
        every API answers on every node the target places it on
        (`Every API Should Serve On Every Node`) and, when the target names its
        ``load_balancer``, every backend server is UP there
        (`Every Load Balancer Backend Should Be Up`); when the target has ``clusters:``,
        every member of every cluster Synced in a whole cluster
        (`Every Cluster Should Be Whole`). The failure lists each problem:
        the node, service, backend and state. The first call also publishes the
        ``environment`` record (see `Record Cloud Versions`). Fails listing every check that
        failed and why.

        | `Cloud Should Be Healthy` |
        | Restart Service | nova-api |
        | `Cloud Should Be Healthy` |
        """
        problems: list[str] = []
        redundancy = RedundancyKeywords(self.ctx)
        checks = [
            ("catalog", lambda: self.service_catalog_should_contain("identity", "compute")),
            ("compute services",
             lambda: self.all_compute_services_should_be_up(disabled_ok)),
            ("network agents", self.all_network_agents_should_be_up),
            ("volume services",
             lambda: self.all_volume_services_should_be_up(disabled_ok)),
            ("hypervisors", lambda: self.all_hypervisors_should_be_up(min_hypervisors)),
            ("API instances", redundancy.every_api_should_serve_on_every_node),
            ("load balancer", redundancy.every_load_balancer_backend_should_be_up),
            ("clusters", ClusterKeywords(self.ctx).every_cluster_should_be_whole),
        ]
        try:
            answers = self._probe_all(interface)
            silent = [str(a) for a in answers if not a.answered]
            if silent:
                problems.append("endpoints: " + "; ".join(silent))
            if not self.ctx.environment_published:
                self._publish_environment(answers)
        except CloudError as error:
            problems.append(f"endpoints: {error}")
        for what, check in checks:
            try:
                check()
            except SkipExecution as skipped:
                logger.info(f"{what}: {skipped}")
            except CloudError as error:
                problems.append(f"{what}: {error}")
        if problems:
            # The first line names what is wrong (reports and CI summaries show only it).
            first = problems[0] if len(problems[0]) <= 160 else problems[0][:157] + "..."
            raise CloudError(f"Expected a healthy cloud; found {len(problems)} problem(s), "
                             f"first {first.splitlines()[0]}:\n"
                             + "\n".join(f"- {p}" for p in problems))
        logger.info("The cloud is healthy.")


def _error_text(error: Exception) -> str:
    try:
        return str(describe(error, "Listing compute services"))
    except Exception:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"

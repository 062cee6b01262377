"""The data-plane fixture's keywords: guests booted once per suite, their paths, where
their router forwards (see ExtremeTesting.cloud.dataplane)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from robot.api import SkipExecution, logger
from robot.api.deco import keyword

from ... import target as target_module
from .. import dataplane
from ..apierrors import CloudError, describe
from ..polling import wait_until
from .base import Component


class DataPlaneKeywords(Component):
    """Boot the data plane's guests, read their paths and their router's nodes."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.fixture: dataplane.Fixture | None = None
        self._scope: Any = None  # the tracker's suite scope the fixture belongs to
        self._failed: tuple[Any, str] | None = None  # (scope, why) of a boot that failed
        self._made: tuple[Any, list] | None = None  # (scope, tracked) of the last boot
        self.answers: dataplane.Answers = dataplane.answers  # tests give fakes of these
        self.clock, self.sleep = time.monotonic, time.sleep

    # --- the target ---------------------------------------------------------------
    def settings(self) -> target_module.DataPlaneSettings:
        """The target's ``data_plane`` section; skips the test (not applicable) when the
        target has none."""
        target = self.ctx.target()
        if target is None or target.data.get("data_plane") is None:
            raise SkipExecution(target_module.NO_DATA_PLANE)
        return target_module.parse_data_plane(target.data, f"Target file {target.path}")

    def _current(self) -> dataplane.Fixture | None:
        """The fixture booted in a suite still running (its resources still there)."""
        if self.fixture is not None and any(s is self._scope for s in
                                            self.ctx.tracker.scopes):
            return self.fixture
        self.fixture = None
        return None

    # --- keywords -------------------------------------------------------------------
    @keyword
    def boot_data_plane_guests(self, timeout: timedelta | None = None) -> dict[str, str]:
        """Boots the guests whose data plane the suite measures, once per suite, and waits
        until each path answers; returns the paths (``north-south``, ``east-west``) as
        `Start Probing Data Plane` takes them.

        From the target's ``data_plane`` section: two tenant networks with DHCP subnets
        (``subnets``), a router joining them with its gateway on ``external_network`` (HA
        where the cloud makes HA routers, or as ``ha_router`` says), a security group
        letting ICMP and ``tcp_port`` in, one server per network from ``image`` and
        ``flavor``, a floating IP on the first. ``north-south`` goes from
        ``probe_namespace`` to that floating IP; ``east-west`` from the first guest's own
        namespace (where ``guests`` says how to enter it: the lab's guests are
        namespaces) to the second guest's address, through the router; without
        ``guests`` only north-south. With an existing ``tenant_network`` both guests boot
        on it (no networks or router made). With ``paths`` and no image in the target
        nothing is booted: those paths are waited for and returned.

        Every resource is tracked in the current *suite*, even when a test calls this,
        and deleted when the suite ends whatever happens; called again in the same suite
        it boots nothing and only waits until the paths answer. Waits at most ``timeout``
        (default: the target's ``guest_ready_timeout``) for the servers and for the
        answers.

        Skipped as not applicable when the target has no ``data_plane`` section. Fails
        naming the resource and the API's answer when a creation fails, naming each path
        and its last error when a path does not answer in time; a boot that failed is not
        tried again in the same suite (the later calls fail at once with its error).

        | &{paths} = | `Boot Data Plane Guests` |
        | `Start Probing Data Plane` | &{paths} |
        """
        settings = self.settings()
        wait = timeout.total_seconds() if timeout is not None else settings.ready_within
        fixture = self._current()
        if fixture is None:
            suite = self.ctx.tracker.suite_scope()
            if self._failed is not None and self._failed[0] is suite:
                raise CloudError(f"The data plane's guests could not be booted earlier in "
                                 f"this suite: {self._failed[1]}")
            started = time.monotonic()
            booter = dataplane.Booter(self.ctx, settings)
            self._made = (suite, booter.tracked)  # deletable even if the boot fails
            try:
                fixture = booter.boot() if settings.boots else booter.adopt()
                self._wait_answering(fixture.paths, wait)
            except Exception as error:
                self._failed = (suite, str(error))
                raise
            self.fixture, self._scope = fixture, suite
            logger.info(f"Data plane {'booted' if fixture.booted else 'taken from the target'}"
                        f" and answering in {time.monotonic() - started:.1f} s: "
                        f"{fixture.as_dict()}")
        else:
            self._wait_answering(fixture.paths, wait)
        return dict(fixture.paths)

    @keyword
    def delete_data_plane_guests(self, timeout: timedelta = timedelta(minutes=5)) -> None:
        """Deletes now what `Boot Data Plane Guests` booted in this suite (servers,
        floating IP, router with its interfaces, subnets, networks, security group), rather
        than when the suite ends: a suite teardown can do it under the destructive lock,
        so that no other suite's case is measuring meanwhile. Nothing to do when nothing
        was booted (or the target listed its own paths). Waits at most ``timeout`` for
        each deletion; fails naming what it could not delete (that stays tracked, deleted
        again when the suite ends).

        | `Delete Data Plane Guests` |
        """
        suite = self.ctx.tracker.suite_scope()
        made = list(self._made[1]) if self._made and self._made[0] is suite else []
        self.fixture, self._made = None, None
        if not made:
            logger.info("No data-plane guests to delete in this suite.")
            return
        for tracked in made:
            self.ctx.tracker.forget(tracked.id)
        problems = self.ctx.delete_tracked(made, timeout)
        if problems:
            self.ctx.tracker.suite_scope().resources.extend(t for t, _ in problems)
            raise CloudError("Could not delete every resource of the data plane's guests "
                             "(tried again when the suite ends):\n"
                             + "\n".join(f"- {p}" for _, p in problems))
        logger.info(f"Deleted the data plane's {len(made)} resource(s): "
                    + ", ".join(str(t) for t in made))

    @keyword
    def get_data_plane_paths(self) -> dict[str, str]:
        """Returns the paths of the guests `Boot Data Plane Guests` booted in this suite
        (or took from the target), as `Start Probing Data Plane` takes them. Fails when
        none were booted in a suite still running; skipped when the target has no
        ``data_plane`` section.

        | &{paths} = | `Get Data Plane Paths` |
        """
        return dict(self._fixture().paths)

    @keyword
    def data_plane_guests_should_answer(self, timeout: timedelta = timedelta(0)) -> None:
        """Checks that every path of the suite's guests answers: its ICMP echo and, with a
        TCP port, its TCP echo, from the probe's vantage point; polls up to ``timeout``
        (default: asks once). Fails naming each path that did not, with its error, and
        when no guests were booted in this suite; skipped as not applicable when the target
        has no ``data_plane`` section (so a data-plane case starting with it injects no
        fault where it cannot apply).

        | `Data Plane Guests Should Answer` | timeout=30 s |
        """
        self._wait_answering(self._fixture().paths, timeout)

    @keyword
    def get_node_of_active_router(self) -> str:
        """Returns the node (as the target's ``nodes`` name it) where the suite's router
        forwards now: the node whose L3 agent holds its active HA instance (Neutron's
        ``ha_state``), or the one agent of a router that is not HA.

        Skipped when the target lists paths without the ``router`` behind them. Fails
        when no agent, or more than one, holds the router active (naming each agent's
        state), or when the agent's host is no node of the target.

        | ${node} = | `Get Node Of Active Router` |
        | `Kill Service` | neutron-l3-agent | on=${node} |
        """
        hosts = dataplane.router_hosts(self.conn, self._router())
        active = dataplane.active_hosts(hosts)
        if len(active) != 1:
            raise CloudError(f"Expected one L3 agent to hold the data plane's router "
                             f"active; Neutron says: {_states(hosts)}.")
        return dataplane.node_of_host(active[0], self._nodes())

    @keyword
    def wait_until_router_is_active_on_another_node(
            self, node: str, timeout: timedelta = timedelta(minutes=1)) -> str:
        """Polls Neutron until the suite's router is active on a node other than ``node``
        (an HA failover seen by Neutron: the agent there reported its keepalived's new
        state); returns that node. ``node`` itself may still be shown active meanwhile:
        Neutron keeps a powered-off node's state until its agent is declared dead
        (``agent_down_time``). A failed listing (an API error while a controller is off) is
        asked again. Waits at most ``timeout``; fails naming each agent's HA state last
        seen (or the last error), or when two other nodes are active at once.

        | ${now} = | `Wait Until Router Is Active On Another Node` | ctl1 | timeout=1 min |
        """
        router, nodes = self._router(), self._nodes()

        def moved() -> tuple[bool, Any]:
            try:
                hosts = dataplane.router_hosts(self.conn, router)
            except CloudError as error:
                # The surviving neutron-server may answer 500 for a while after a controller
                # is powered off (the API monitor judges that): keep asking until timeout.
                return False, f"Neutron failed to list the router's agents: {error}"
            active = [dataplane.node_of_host(h, nodes) for h in dataplane.active_hosts(hosts)]
            others = [n for n in active if n != node]
            if len(others) > 1:
                raise CloudError(f"The data plane's router is active on several nodes at "
                                 f"once: {_states(hosts)}.")
            return bool(others), others[0] if others else _states(hosts)

        return wait_until(moved, timeout, f"the data plane's router is active on a node "
                          f"other than {node}", interval=1.0, max_interval=2.0,
                          clock=self.clock, sleep=self.sleep)

    # --- the agents that wire the data plane -------------------------------------------
    @keyword
    def get_network_agent(self, binary: str, node: str) -> Any:
        """Returns the Neutron agent ``binary`` (``neutron-l3-agent``,
        ``neutron-dhcp-agent``, ``neutron-linuxbridge-agent``...) of ``node`` (as the
        target's ``nodes`` name it) as Neutron shows it now: ``is_alive``, ``started_at``,
        ``last_heartbeat_at``... Fails when Neutron lists no such agent on that node.

        | ${before} = | `Get Network Agent` | neutron-l3-agent | ctl1 |
        """
        return self._agent(binary, node)

    @keyword
    def wait_until_network_agent_has_restarted(self, binary: str, node: str, before: Any,
                                               timeout: timedelta = timedelta(minutes=2)
                                               ) -> Any:
        """Polls Neutron until the agent ``binary`` of ``node`` has started again since
        ``before`` (what `Get Network Agent` returned before the restart: its
        ``started_at`` has changed) and is alive; returns it. An agent restarted a moment
        ago still shows alive from its last report, so only a new start time says it is
        back. Waits at most ``timeout``; fails naming what Neutron showed last.

        | ${before} = | `Get Network Agent` | neutron-l3-agent | ctl1 |
        | Restart Service On Node | ctl1 | neutron-l3-agent |
        | `Wait Until Network Agent Has Restarted` | neutron-l3-agent | ctl1 | ${before} |
        """
        since = getattr(before, "started_at", None)

        def back() -> tuple[bool, Any]:
            agent = self._agent(binary, node)
            started = getattr(agent, "started_at", None)
            if started != since and agent.is_alive:
                return True, agent
            return False, (f"started at {started} (before: {since}), "
                           f"{'alive' if agent.is_alive else 'dead'}")

        return wait_until(back, timeout, f"{binary} on {node} has started again",
                          interval=1.0, max_interval=3.0, clock=self.clock, sleep=self.sleep)

    # --- helpers --------------------------------------------------------------------
    def _agent(self, binary: str, node: str) -> Any:
        nodes = self._nodes()
        try:
            agents = list(self.conn.network.agents(binary=binary))
        except Exception as error:
            raise describe(error, f"Listing the {binary} agents") from error
        found = []
        for agent in agents:
            try:
                if agent.binary == binary and dataplane.node_of_host(agent.host, nodes) == node:
                    found.append(agent)
            except CloudError:
                continue  # an agent on a host the target does not name
        if len(found) != 1:
            seen = ", ".join(sorted(f"{a.binary}@{a.host}" for a in agents)) or "none"
            raise CloudError(f"Expected one {binary} on {node}; Neutron lists {len(found)} "
                             f"there (agents of that kind: {seen}).")
        return found[0]

    def _wait_answering(self, paths: dict[str, str], timeout: timedelta | float) -> None:
        dataplane.wait_until_answering(paths, timeout, self.answers, self.clock, self.sleep)

    def _fixture(self) -> dataplane.Fixture:
        fixture = self._current()
        if fixture is None:
            self.settings()  # a target without data_plane: skipped, not applicable
            raise CloudError("No data-plane guests in this suite: call `Boot Data Plane "
                             "Guests` first (in the suite, or in a test of it).")
        return fixture

    def _router(self) -> str:
        router = self._fixture().router
        if router is None:
            raise SkipExecution("The target's data_plane lists paths without the router "
                                "behind them (data_plane.router): which node forwards them "
                                "cannot be known.")
        return router

    def _nodes(self) -> dict[str, Any]:
        target = self.ctx.target()
        return target.section("nodes") if target is not None else {}


def _states(hosts: dict[str, str | None]) -> str:
    return ", ".join(f"{h} {s or 'not HA'}" for h, s in sorted(hosts.items())) or "no agent"

"""The data-plane fixture's keywords: guests booted once per run (or once per suite when a
suite runs on its own), their paths, where their router forwards (see
ExtremeTesting.cloud.dataplane)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from robot.api import SkipExecution, logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn

from ... import target as target_module
from .. import dataplane
from ..apierrors import CloudError, describe
from ..polling import wait_until
from ..tracking import Tracked
from .base import Component


def _pabot_if_any() -> Any:
    """A PabotLib client when pabot runs this process (``${PABOTLIBURI}`` set), else None."""
    if not BuiltIn().get_variable_value("${PABOTLIBURI}"):
        return None
    from pabot.pabotlib import PabotLib

    return PabotLib()


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
        # The run's guests (`Keep Data Plane Guests For The Run`), None: per suite.
        self.run_guests: dataplane.RunGuests | None = None
        self.pabot: Any = _pabot_if_any  # tests give a fake PabotLib

    # --- the target ---------------------------------------------------------------
    def settings(self) -> target_module.DataPlaneSettings:
        """The target's ``data_plane`` section; skips the test (not applicable) when the
        target has none."""
        target = self.ctx.target()
        if target is None or target.data.get("data_plane") is None:
            raise SkipExecution(target_module.NO_DATA_PLANE)
        return target_module.parse_data_plane(target.data, f"Target file {target.path}")

    def _current(self) -> dataplane.Fixture | None:
        """The fixture booted in a suite still running (its resources still there), or
        the run's (its scope the tracker's run scope, always there)."""
        if self.fixture is not None and any(s is self._scope for s in
                                            self.ctx.tracker.scopes):
            return self.fixture
        self.fixture = None
        return None

    # --- keywords -------------------------------------------------------------------
    @keyword
    def boot_data_plane_guests(self, timeout: timedelta | None = None) -> dict[str, str]:
        """Boots the guests whose data plane the suites measure, once per run (or once per
        suite, see below), and waits until each path answers; returns the paths
        (``north-south``, ``east-west``) as `Start Probing Data Plane` takes them.

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

        *Once per run* when the run's top-level suite keeps them (`Keep Data Plane Guests
        For The Run`: the project's suites/__init__.robot, so ``pabot ... suites`` and
        ``robot suites``): the run's first call boots them and publishes them (under
        pabot in PabotLib's parallel values, keyed by the target's name; every suite runs
        in its own process); every later call, in any suite or process, takes them over
        and only waits until the paths answer. They are then tracked in no suite: `Delete
        Data Plane Guests Of The Run` deletes them once, at the run's end. Call it under
        the destructive lock, as `Prepare A Destructive Case` does: the lock makes the
        look-up and the boot one step for the whole run.

        *Once per suite* otherwise (a suite file run on its own): every resource is
        tracked in the current *suite*, even when a test calls this, and deleted when the
        suite ends whatever happens; called again in the same suite it boots nothing and
        only waits until the paths answer.

        Waits at most ``timeout`` (default: the target's ``guest_ready_timeout``) for the
        servers and for the answers.

        Skipped as not applicable when the target has no ``data_plane`` section. Fails
        naming the resource and the API's answer when a creation fails, naming each path
        and its last error when a path does not answer in time; a boot that failed is not
        tried again in the same suite, nor in the run when the run keeps the guests (the
        later calls fail at once with its error; what it made is deleted when its suite
        ends).

        | &{paths} = | `Boot Data Plane Guests` |
        | `Start Probing Data Plane` | &{paths} |
        """
        settings = self.settings()
        wait = timeout.total_seconds() if timeout is not None else settings.ready_within
        fixture = self._current()
        if fixture is None and self.run_guests is not None:
            fixture = self._take_the_runs()
        if fixture is None:
            fixture = self._boot(settings, wait)
        else:
            self._wait_answering(fixture.paths, wait)
        return dict(fixture.paths)

    def _boot(self, settings: Any, wait: float) -> dataplane.Fixture:
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
            if self.run_guests is not None:
                self._publish({"state": "booted", "by": self._suite_name(),
                               "fixture": fixture.as_dict(),
                               "resources": [vars(t) for t in booter.tracked]})
        except Exception as error:
            self._failed = (suite, str(error))
            if self.run_guests is not None:
                try:
                    self._publish({"state": "failed", "by": self._suite_name(),
                                   "error": str(error)})
                except Exception as unpublished:  # noqa: BLE001 - the boot's error matters
                    logger.warn(f"Could not publish the failed boot of the data plane's "
                                f"guests to the run's other suites: {unpublished}")
            raise
        if self.run_guests is not None:
            # The run's now: out of every scope of this process (its suite's end, and
            # under pabot its top-level suite's end, must not delete them).
            for tracked in booter.tracked:
                self.ctx.tracker.forget(tracked.id)
            self.ctx.kept_for_run = list(booter.tracked)
            self._made, self._scope = None, self.ctx.tracker.scopes[0]
        else:
            self._scope = suite
        self.fixture = fixture
        logger.info(f"Data plane {'booted' if fixture.booted else 'taken from the target'}"
                    f"{' for the run' if self.run_guests is not None else ''}"
                    f" and answering in {time.monotonic() - started:.1f} s: "
                    f"{fixture.as_dict()}")
        return fixture

    def _take_the_runs(self) -> dataplane.Fixture | None:
        """The guests an earlier suite of the run booted (None: none yet, boot them)."""
        record = self._record()
        if record is None or record.get("state") == "deleted":
            return None
        if record.get("state") == "failed":
            raise CloudError(f"The data plane's guests could not be booted earlier in this "
                             f"run (suite {record.get('by')}), not tried again: "
                             f"{record.get('error')}")
        self.fixture = dataplane.Fixture.from_dict(record["fixture"])
        self._scope = self.ctx.tracker.scopes[0]
        self.ctx.kept_for_run = [Tracked(**t) for t in record.get("resources", [])]
        logger.info(f"Data plane of the run taken over (booted by suite {record.get('by')}):"
                    f" {record['fixture']}")
        return self.fixture

    def _key(self) -> str:
        target = self.ctx.target()
        return dataplane.RUN_KEY.format(target=target.name if target is not None else "")

    def _record(self) -> dict[str, Any] | None:
        assert self.run_guests is not None
        return self.run_guests.get(self._key())

    def _publish(self, record: dict[str, Any]) -> None:
        assert self.run_guests is not None
        self.run_guests.put(self._key(), record)

    @staticmethod
    def _suite_name() -> str:
        try:
            return str(BuiltIn().get_variable_value("${SUITE NAME}") or "")
        except Exception:  # noqa: BLE001 - outside Robot (tests, benches)
            return ""

    @keyword
    def keep_data_plane_guests_for_the_run(self) -> None:
        """Makes `Boot Data Plane Guests` boot the guests once for the whole run rather
        than once per suite: the suite setup of the run's top-level suite (the project's
        suites/__init__.robot). Asks nothing of the cloud and boots nothing: the first
        case that needs the guests boots them. Under pabot (``${PABOTLIBURI}`` set) the
        guests are published in PabotLib's parallel values, so that the suites of every
        process take them over; otherwise in this process. `Delete Data Plane Guests Of
        The Run` deletes them at the run's end. Never fails (pabot's server is asked only
        when the guests are booted or taken over).

        | Suite Setup    `Keep Data Plane Guests For The Run`
        """
        pabot = self.pabot() if callable(self.pabot) else self.pabot
        self.run_guests = dataplane.RunGuests(pabot)
        logger.info("The data plane's guests are kept for the run "
                    f"({'published to every pabot process' if pabot else 'this process'}).")

    @keyword
    def delete_data_plane_guests_of_the_run(self, timeout: timedelta = timedelta(minutes=5)
                                            ) -> None:
        """Deletes the run's guests (`Keep Data Plane Guests For The Run`) from what the
        booting suite published, once: the record is marked deleted first, so a second
        call deletes nothing. The suite teardown of the run's top-level suite, at the very
        end of the run (under pabot through PabotLib's `Run Teardown Only Once`, in the
        run's last item, under the destructive lock). Nothing to do when no suite booted
        them, when the boot failed (its suite deleted what it made) or without a
        ``data_plane`` in the target. Waits at most ``timeout`` for each deletion; fails
        naming what it could not delete (`Purge Leftovers` deletes it later: its name
        starts with ``xt-``). Call it under the destructive lock.

        | Suite Teardown    `Delete Data Plane Guests Of The Run`
        """
        target = self.ctx.target()
        if self.run_guests is None or target is None \
                or target.data.get("data_plane") is None:
            logger.info("No data-plane guests kept for the run.")
            return
        record = self._record()
        if record is None or record.get("state") != "booted":
            logger.info(f"No data-plane guests of the run to delete "
                        f"({'none booted' if record is None else record.get('state')}).")
            return
        made = [Tracked(**t) for t in record.get("resources", [])]
        self._publish({"state": "deleted", "by": self._suite_name(),
                       "resources": record.get("resources", [])})
        self.fixture, self._scope, self.ctx.kept_for_run = None, None, []
        problems = self.ctx.delete_tracked(made, timeout) if made else []
        if problems:
            raise CloudError("Could not delete every resource of the run's data-plane "
                             "guests; once the cloud answers, the Cloud library's `Purge "
                             "Leftovers` (names starting with xt-) deletes them:\n"
                             + "\n".join(f"- {p}" for _, p in problems))
        logger.info(f"Deleted the run's data-plane guests, {len(made)} resource(s) booted by "
                    f"suite {record.get('by')}: " + ", ".join(str(t) for t in made))

    @keyword
    def get_data_plane_guests_of_the_suite(self) -> list[Tracked]:
        """Returns what `Boot Data Plane Guests` booted in this suite and `Delete Data
        Plane Guests` would delete: empty when nothing was booted here, or when the guests
        are the run's (`Keep Data Plane Guests For The Run`: the run's end deletes them).
        `Finish A Destructive Suite` takes the destructive lock only when there is some.
        Never fails; asks nothing of the cloud.

        | ${own} = | `Get Data Plane Guests Of The Suite` |
        """
        suite = self.ctx.tracker.suite_scope()
        return list(self._made[1]) if self._made and self._made[0] is suite else []

    @keyword
    def delete_data_plane_guests(self, timeout: timedelta = timedelta(minutes=5)) -> None:
        """Deletes now what `Boot Data Plane Guests` booted in this suite (servers,
        floating IP, router with its interfaces, subnets, networks, security group), rather
        than when the suite ends: a suite teardown can do it under the destructive lock,
        so that no other suite's case is measuring meanwhile. Nothing to do when nothing
        was booted here (or the target listed its own paths), and never the run's guests
        (`Keep Data Plane Guests For The Run`: `Delete Data Plane Guests Of The Run`
        deletes those); what a failed boot of the run's made is its suite's, deleted here.
        Waits at most ``timeout`` for each deletion; fails naming what it could not delete
        (that stays tracked, deleted again when the suite ends).

        | `Delete Data Plane Guests` |
        """
        made = self.get_data_plane_guests_of_the_suite()
        if self._scope is not self.ctx.tracker.scopes[0]:  # the run's stay
            self.fixture = None
        self._made = None
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
        or took over from the run (or took from the target), as `Start Probing Data
        Plane` takes them. Fails when none were booted in a suite still running, nor
        taken over from the run; skipped when the target has no ``data_plane`` section.

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

"""The roll-out: a prepared change applied node by node, each drained while it changes and
gated before it goes back (the order of steps is :mod:`..rollout`'s)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword
from robot.libraries.BuiltIn import BuiltIn
from robot.utils import timestr_to_secs

from ... import events
from ...errors import TargetError
from ...lifecycle import Step
from .. import ini, packages, settle, undo
from ..context import SOURCE
from ..errors import ChangeError
from ..kinds import Change, ConfigChange, KeywordChange, PackageChange, RestartOnly
from ..rollout import roll_out
from .base import Component

DEPRECATED_FORM = ("`Roll Out Change` with a keyword name and its arguments is deprecated "
                   "until 1.0: prepare the change first (`Prepare Config Change`, "
                   "`Prepare Package Upgrade`, `Prepare Package Downgrade`) and pass it, or "
                   "use `Roll Out Restart`.")


class RolloutKeywords(Component):
    def __init__(self, ctx, library: Any):
        super().__init__(ctx)
        self.library = library  # the Changes library: a change applies itself through it

    # --- the service ----------------------------------------------------------------
    @keyword
    def restart_service_on_node(self, node: str, service: str) -> None:
        """Restarts ``service`` on ``node`` with the target's restart command.

        Written to the ledger before (a restart is over once made: nothing to undo).
        Fails, before touching anything, on a target not marked ``destructive: true``;
        fails with the command's error output when the restart fails.

        | `Restart Service On Node`    ctl1    keystone
        """
        self.target.node(node)
        self.ctx.require_destructive(f"restart {service} on {node}")
        events.publish(SOURCE, "mark", "restart", f"{service} on {node}")
        self.ctx.transient(Step("restart", service, [node]),
                           lambda: undo.restart(self.target, self.nodes, node, [service]))
        self.ctx.mark_restarted(node, [service])

    def wait_until_service_serves_on_node(self, node: str, service: str,
                                          timeout: timedelta = timedelta(minutes=2)) -> float:
        """Waits until ``service`` answers HTTP on ``node``'s own address and port.

        Any answer below 500 counts; asked directly, not through the load balancer.
        Returns the seconds waited. Fails after ``timeout`` with the last answer, or when
        the target has no address for the node or no port for the service.

        Not a keyword (`Roll Out Change` uses it): suites use the Cloud library's
        ``Wait Until Service Serves On Node    <service>    <node>``, one keyword of
        that name."""
        import requests

        address = self.target.node(node).get("address")
        port = (self.target.section("services").get(service) or {}).get("port")
        if not address or not port:
            raise TargetError(f"Target file {self.target.path}: need the address of {node} "
                              f"and the port of {service}.")
        started = time.monotonic()
        deadline = started + timeout.total_seconds()
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://{address}:{port}/", timeout=2)
                if answer.status_code < 500:
                    return time.monotonic() - started
                last = f"HTTP {answer.status_code}"
            except requests.RequestException as error:
                last = type(error).__name__
            time.sleep(0.2)
        raise ChangeError(f"{service} did not serve on {node} ({address}:{port}) within "
                          f"{timeout.total_seconds():g} s; last: {last}.")

    # --- what to roll out -------------------------------------------------------------
    @keyword
    def prepare_config_change(self, path: str, section: str, *,
                      services: list[str] | str | None = None, **options: str) -> Change:
        """A change of the INI file ``path`` to roll out: each of ``options``
        (``option=value``) set in ``section``. Returns it for `Roll Out Change`; changes
        nothing by itself.

        ``services`` restart on a node when its original file comes back (a list or
        comma-separated; default: the service rolled out). Fails, before anything, when no
        option is given or a section or option name is not valid INI.

        | ${change} =    `Prepare Config Change`    /etc/keystone/keystone.conf    token
        | ...    caching=false    cache_on_issue=false
        | `Roll Out Change`    keystone    ${change}
        """
        if not options:
            raise ChangeError(f"`Prepare Config Change` of {path} [{section}] sets no "
                              f"option: give at least one option=value.")
        for option, value in options.items():
            ini.set_option("", section, option, str(value))  # bad names fail here
        if isinstance(services, str):
            services = [s.strip() for s in services.split(",") if s.strip()]
        return ConfigChange(path, section, tuple((o, str(v)) for o, v in options.items()),
                            tuple(services or ()))

    @keyword
    def prepare_package_upgrade(self, *pairs: str) -> Change:
        """An upgrade to roll out: the ``name=version`` ``pairs`` installed on each node
        (their services restart there). Returns it for `Roll Out Change`; changes nothing
        by itself. Fails, before anything, on a pair that is not ``name=version``.

        | ${from}    ${to} =    `Get Upgrade Of`    keystone
        | ${upgrade} =    `Prepare Package Upgrade`    @{to}
        | `Roll Out Change`    keystone    ${upgrade}
        """
        packages.parse_pairs(pairs)
        return PackageChange(tuple(pairs), downgrade=False)

    @keyword
    def prepare_package_downgrade(self, *pairs: str) -> Change:
        """A downgrade (a rollback) to roll out: older ``name=version`` ``pairs``, as
        `Prepare Package Upgrade`. Fails, before anything, on a pair that is not
        ``name=version``.

        | ${rollback} =    `Prepare Package Downgrade`    @{from}
        | `Roll Out Change`    keystone    ${rollback}
        """
        packages.parse_pairs(pairs)
        return PackageChange(tuple(pairs), downgrade=True)

    # --- the roll-out -----------------------------------------------------------------
    @keyword
    def roll_out_restart(self, service: str) -> None:
        """Restarts ``service`` node by node, each drained first: `Roll Out Change` with
        nothing to change but the restart. Fails as `Roll Out Change` does.

        | `Roll Out Restart`    glance-api
        """
        self.roll_out_change(service, RestartOnly())

    @keyword
    def roll_out_change(self, service: str, change: Change | str, *args: Any,
                        **kwargs: Any) -> None:
        """Rolls ``change`` of ``service`` out node by node, each drained while it changes.

        ``change`` comes from `Prepare Config Change`, `Prepare Package Upgrade` or
        `Prepare Package Downgrade` (`Roll Out Restart` restarts only). For each node that
        runs ``service``, one at a time: drain it from the load balancer, wait until
        drained, apply the change, restart ``service`` there (unless the change did), wait
        until it serves on that node, wait until its CPU use settles, return it to the load
        balancer with its gate (real requests of the service sent to the node for the
        target's ``gate_window``, see `Return Node To Load Balancer`), wait for the load
        balancer's rise; then the next node. Every step is on the monitor's timeline.

        A step that fails stops the roll-out at that node, as a canary does, and no later
        node is touched: the keyword fails naming the node, the step and the nodes left.
        From the change on (apply, restart, serve, settle) the node stays out of rotation
        and its change is undone at once; a node that fails the gate is taken out of
        rotation again and its change undone; the rest (its drain) is undone when the test
        ends.

        Fails, before touching anything, on a target not marked ``destructive: true``, a
        service that runs on no node, or a change that is not one.

        *DEPRECATED until 1.0*: the old form, a keyword name as ``change`` then its
        ``args`` and ``kwargs`` (run with the node first), still works and warns.

        | ${change} =    `Prepare Config Change`    /etc/keystone/keystone.conf    DEFAULT
        | ...    max_param_size=80
        | `Roll Out Change`    keystone    ${change}
        """
        if isinstance(change, str):
            logger.warn(DEPRECATED_FORM)
            change = KeywordChange(change, args, dict(kwargs), BuiltIn().run_keyword)
        elif args or kwargs:
            raise ChangeError(f"`Roll Out Change` of {service} got arguments after the "
                              f"change ({change}): a prepared change takes none.")
        if not isinstance(change, Change):
            raise ChangeError(f"`Roll Out Change` needs a change from `Prepare Config "
                              f"Change`, `Prepare Package Upgrade` or `Prepare Package "
                              f"Downgrade`, got "
                              f"{type(change).__name__}.")
        spec = self.target.section("services").get(service)
        if not spec or not spec.get("nodes"):
            raise TargetError(f"Unknown service '{service}' or it runs on no node; known: "
                              f"{', '.join(sorted(self.target.section('services')))}.")
        self.ctx.require_destructive(f"roll out a change of {service}")
        rollout = uuid.uuid4().hex[:12]
        events.publish(SOURCE, "requested", "roll out", service, rollout, change.describe())

        def mark(what: str, node: str) -> None:
            what = f"apply {change.describe()}" if what == "apply" else what
            events.publish(SOURCE, "mark", what, f"{service} on {node}", rollout)

        try:
            roll_out(service, list(spec["nodes"]),
                     _Operations(self, service, change, mark), mark)
        finally:
            events.publish(SOURCE, "undone", "roll out", service, rollout, change.describe())

    def wait_settled(self, node: str, before: float | None, mark: str) -> None:
        """Before a changed node goes back: its CPU use within ``settle_margin`` cores of
        what it was drained, before the change (``expectations.rolling_changes``; the
        start-up of the services a change restarted), at most ``settle_within``."""
        limits = self.target.section("expectations").get("rolling_changes") or {}
        margin = float(limits.get("settle_margin", 0.3))
        within = timestr_to_secs(str(limits.get("settle_within", "60 s")))
        settled, use, waited = settle.wait_settled(self.nodes, node, before, margin, within)
        text = (f"{node}: {_cores(use)} used after the change, {_cores(before)} before it "
                f"(margin {margin:g}), after {waited:.1f} s")
        if settled:
            events.publish(SOURCE, "mark", "settled", mark, "", text)
            logger.info(f"Settled: {text}.")
        else:
            events.publish(SOURCE, "mark", "not settled", mark, "", text)
            logger.warn(f"Returned to the load balancer without settling: {text}.")


class _Operations:
    """The roll-out's steps (:class:`..rollout.Operations`) over the library's components."""

    def __init__(self, keywords: RolloutKeywords, service: str, change: Change, mark):
        self.keywords, self.service, self.change, self.mark = keywords, service, change, mark
        self.library = keywords.library
        self.ctx = keywords.ctx

    def drain(self, node: str) -> None:
        self.library.drain_node_from_load_balancer(node, self.service)

    def wait_drained(self, node: str) -> None:
        self.library.wait_until_node_is_drained(node, self.service)

    def cpu_use(self, node: str) -> float | None:
        return settle.cpu_use(self.ctx.nodes, node)

    def apply(self, node: str) -> None:
        self.change.apply(self.library, node, self.service)

    def restarted_since(self, node: str, since: float) -> bool:
        return self.ctx.restarted.get((node, self.service), 0) >= since

    def restart(self, node: str) -> None:
        self.keywords.restart_service_on_node(node, self.service)

    def wait_serving(self, node: str) -> None:
        self.keywords.wait_until_service_serves_on_node(node, self.service)

    def settle(self, node: str, before: float | None) -> None:
        self.keywords.wait_settled(node, before, f"{self.service} on {node}")

    def return_node(self, node: str) -> None:
        self.library.return_node_to_load_balancer(node, self.service)

    def wait_up(self, node: str) -> None:
        self.library.wait_until_node_is_up_in_load_balancer(node, self.service)

    def undo_changes_of(self, node: str) -> str:
        return self.library.undo_changes_of(node)


def _cores(value: float | None) -> str:
    return "? cores" if value is None else f"{value:.2f} cores"

"""The roll-out gate: a changed node must serve real requests before the next one is drained.

A node can answer its health URL (the load balancer's check, `Wait Until Service Serves On
Node`) and still fail every real request: a roll-out that then drains the next, healthy
node sends every user to the broken one. So before the roll-out moves on, the node's
service gets the requests the availability monitor sends for that service (its version
document, the token validation for Keystone, the authenticated reads and, when the target
lists them, the writes), with the monitor's credentials, sent straight to the node's own
address and the service's port (``http://<nodes.<node>.address>:<services.<s>.port>`` and
the path of the service's endpoint), for a settle window (the target's
``expectations.rolling_changes.gate_window``, default 5 s) without one failure.

The window starts once the node has answered every kind of request once (its warm-up:
a freshly started API worker's first request loads its policy, its database pool and its
token cache, and on a busy machine takes longer than the monitor's timeout; measured on
the lab 2026-12-06, one `read-servers` timeout in 18 requests right after nova-api's
restart, none after). The warm-up is bounded by the window itself: a node that has not
answered every kind once by then fails the gate with what it answered. The failures of
the warm-up are kept and shown, but only a failure inside the settle window, or a
warm-up that never ends, stops the roll-out. The monitor's probes through the load
balancer judge what users felt meanwhile.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ..errors import TargetError
from ..monitor import config as monitor_config
from ..monitor.probes import Probe, TokenHolder, WriteProbe
from ..target import Target
from .errors import ChangeError

DEFAULT_WINDOW = 5.0
INTERVAL = 0.5  # s between two rounds of requests (each probe once a round)
MAX_FAILURES = 10  # a broken node is known by then: stop early


class GateError(ChangeError):
    """A changed node did not serve real requests: the roll-out stopped there."""


@dataclass
class GateResult:
    node: str
    service: str
    url: str
    window: float
    requests: int = 0
    failures: list[dict] = field(default_factory=list)  # probe, status, error, request id
    warmup: list[dict] = field(default_factory=list)  # failures before the first clean round
    warmed: bool = False  # every kind of request answered once: the window started

    @property
    def ok(self) -> bool:
        return self.warmed and not self.failures

    def describe(self) -> str:
        """What failed, in words: each kind of request, its statuses, a few request ids."""
        by_probe: dict[str, Counter] = {}
        ids: list[str] = []
        if not self.warmed:
            failed = self.failures + self.warmup
            return (f"{self.service} on {self.node} ({self.url}) did not answer every kind "
                    f"of real request once within {self.window:g} s: "
                    + GateResult(self.node, self.service, self.url, self.window,
                                 self.requests, failed, warmed=True).describe())
        for failure in self.failures:
            by_probe.setdefault(failure["probe"], Counter())[failure["error"] or "failed"] += 1
            if failure["request_id"]:
                ids.append(failure["request_id"])
        kinds = "; ".join(f"{probe}: " + ", ".join(f"{error} x{count}"
                                                   for error, count in errors.most_common(3))
                          for probe, errors in by_probe.items())
        shown = f"; request ids {', '.join(ids[:5])}" if ids else ""
        return (f"{len(self.failures)} of {self.requests} real requests to {self.service} on "
                f"{self.node} ({self.url}) failed: {kinds}{shown}")


def window_of(target: Target) -> float:
    """``expectations.rolling_changes.gate_window`` (seconds or a Robot time string)."""
    from robot.utils import timestr_to_secs

    limits = target.section("expectations").get("rolling_changes") or {}
    return float(timestr_to_secs(str(limits.get("gate_window", DEFAULT_WINDOW))))


def node_url(target: Target, node: str, service: str) -> str | None:
    """The service's API root on the node itself; None for a service without an API."""
    spec = target.section("services").get(service) or {}
    api, port = spec.get("api"), spec.get("port")
    if not api:
        return None
    address = target.node(node).get("address")
    if not address or not port:
        raise TargetError(f"Target file {target.path}: the gate needs the address of {node} "
                          f"and the port of {service}.")
    base = str(target.section("endpoints").get(api) or "")
    path = urlsplit(base).path.rstrip("/") if base else ""
    return urlunsplit(("http", f"{address}:{port}", path, "", ""))


def node_probes(target: Target, node: str, service: str, tokens: TokenHolder | None = None
                ) -> tuple[str, list[Probe]]:
    """The monitor's probes of ``service``'s API, aimed at the node: (its URL, probes)."""
    url = node_url(target, node, service)
    if url is None:
        return "", []
    api = str(target.section("services")[service]["api"])
    section = dict(target.section("probes"))
    section["versions"] = [api]
    reads = section.get("reads", list(monitor_config.READS))
    section["reads"] = [r for r in (reads or []) if _kind(r) in monitor_config.READS
                        and monitor_config.READS[_kind(r)][0] == api]
    section["writes"] = [{**_item(w), "keep": 0} for w in (section.get("writes") or [])
                         if _kind(w) in monitor_config.WRITES
                         and monitor_config.WRITES[_kind(w)][0] == api]
    if api != "identity":
        section["token"] = False
    found = monitor_config.settings(section, {api: url})
    if tokens is None and (found.token is not None or found.reads or found.writes):
        creds = monitor_config.credentials(target)
        tokens = TokenHolder(creds.auth_url, creds.body, timeout=max(5.0, found.timeout),
                             relogin=found.relogin, verify=creds.verify)
    prefix = monitor_config.run_prefix(f"gate-{node}")
    return url, monitor_config.build_probes(found, {api: url}, tokens, prefix)


def run(probes: list[Probe], result: GateResult, interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep) -> GateResult:
    """Each probe once a round: first until a round with no failure (the warm-up, at most
    ``result.window`` seconds), then for ``result.window`` seconds (the settle window);
    stops early after ``MAX_FAILURES`` failures. A write probe's leftovers are deleted at
    the end."""
    deadline = clock() + result.window  # of the warm-up, then of the window
    try:
        while len(result.failures) + len(result.warmup) < MAX_FAILURES:
            failed = []
            for probe in probes:
                outcome = probe.check()
                result.requests += 1
                if not outcome.ok:
                    failed.append({"probe": probe.name, "status": outcome.status,
                                   "error": outcome.error, "request_id": outcome.request_id})
            if result.warmed:
                result.failures += failed
            elif failed:
                result.warmup += failed
            else:
                result.warmed = True
                deadline = clock() + result.window
                sleep(interval)
                continue
            if clock() >= deadline:
                break
            sleep(min(interval, max(0.0, deadline - clock())))  # the pace of the gate
    finally:
        for probe in probes:
            if isinstance(probe, WriteProbe):
                try:
                    probe.delete_ids([h.resource_id for h in probe.list_held()])
                except Exception as error:  # noqa: BLE001 - say it; the verdict matters more
                    result.failures.append({"probe": probe.name, "status": None,
                                            "error": f"leftovers not deleted: {error}",
                                            "request_id": ""})
    return result


@dataclass
class Gate:
    """The gate of one service on one node, ready to run: its probes (logged in)."""

    result: GateResult
    probes: list[Probe]

    def run(self) -> GateResult:
        return run(self.probes, self.result)


def prepare(target: Target, node: str, service: str, window: float | None = None
            ) -> Gate | None:
    """The gate's probes for ``service`` on ``node``, logged in now: before the node is
    back in rotation, so that the login goes to a node that serves. None when the service
    has no API (nothing to send)."""
    url, probes = node_probes(target, node, service)
    if not probes:
        return None
    for probe in probes:
        tokens = getattr(probe, "tokens", None)
        if tokens is not None:
            tokens.token()
            break
    found = GateResult(node, service, url, window_of(target) if window is None else window)
    return Gate(found, probes)


def _kind(item) -> str:
    return str(item if isinstance(item, str) else (item or {}).get("kind", ""))


def _item(item) -> dict:
    return {"kind": item} if isinstance(item, str) else dict(item)

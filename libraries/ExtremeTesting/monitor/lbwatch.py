"""How long the load balancer took to take a failing backend out of rotation.

While a monitor runs, :class:`BackendWatch` reads the load balancer's servers (HAProxy's
stats page, else ``show stat`` through its admin socket over SSH: the one reader,
ExtremeTesting.loadbalancer) every ``interval`` seconds and keeps every change of a
server's status, on the monitor's monotonic clock. :func:`removals` then gives, for each
server the balancer marked DOWN, the time from the first failed request of its service
(the monitor's probes of that API, since the fault began or the server's previous change)
to the poll that first saw it DOWN: what users of that service went through before the
balancer stopped sending them to it. A server never marked DOWN while requests failed is
not in the list: a black-holed backend the balancer's check does not notice shows as a
partial outage instead (`Partial Outage Should Stay Within`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .. import events
from ..loadbalancer import Server

MAX_TRANSITIONS = 10_000


@dataclass(frozen=True)
class Transition:
    seen: float  # monotonic time of the poll that saw the new status
    previous_poll: float  # monotonic time of the poll before it (the change lies between)
    backend: str
    server: str
    before: str
    after: str


class BackendWatch:
    """Polls ``read`` (a list of `Server`) in a thread between :meth:`start` and
    :meth:`stop`; a failed read is counted and kept as ``last_error``, never raised."""

    def __init__(self, read: Callable[[], list[Server]], interval: float, source: str,
                 backends: dict[str, str]) -> None:
        self.read = read
        self.interval = interval
        self.source = source
        self.backends = dict(backends)  # backend -> the API's service type it serves
        self.transitions: list[Transition] = []
        self.polls = 0
        self.errors = 0
        self.last_error = ""
        self._states: dict[tuple[str, str], str] = {}
        self._last_poll = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lb-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 20)

    def poll(self) -> None:
        """One read of the servers: their changes since the last one are kept."""
        try:
            servers = self.read()
        except Exception as error:  # noqa: BLE001 - a figure lost, never a failed case
            self.errors += 1
            self.last_error = f"{type(error).__name__}: {error}"[:300]
            return
        now = time.monotonic()
        for server in servers:
            if server.backend not in self.backends:
                continue
            key = (server.backend, server.name)
            before = self._states.get(key)
            if before is not None and before != server.status and \
                    len(self.transitions) < MAX_TRANSITIONS:
                self.transitions.append(Transition(now, self._last_poll, server.backend,
                                                   server.name, before, server.status))
                if is_down(before) != is_down(server.status):  # drawn on the timeline
                    events.publish("load balancer", "mark", f"{server.name} {server.status}",
                                   server.backend)
            self._states[key] = server.status
        self.polls += 1
        self._last_poll = now

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.poll()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def figures(self, timelines: dict[str, Sequence], services: dict[str, str],
                fault_start: float | None, origin: float) -> dict:
        """What the monitor's result holds: the changes seen and the removal times."""
        return {
            "source": self.source, "interval": self.interval, "polls": self.polls,
            "errors": self.errors, "last_error": self.last_error,
            "transitions": [{"t": round(t.seen - origin, 6), "backend": t.backend,
                             "server": t.server, "before": t.before, "after": t.after}
                            for t in self.transitions],
            "removals": removals(self.transitions, self.backends, timelines, services,
                                 fault_start, origin),
        }


def is_down(status: str) -> bool:
    """Taken out by its health check (HAProxy's ``DOWN``, ``DOWN 1/2``...), not by us."""
    return status.upper().startswith("DOWN")


def removals(transitions: Iterable[Transition], backends: dict[str, str],
             timelines: dict[str, Sequence], services: dict[str, str],
             fault_start: float | None, origin: float) -> list[dict]:
    """For each server marked DOWN: seconds from the first failed request of its service
    to the balancer's DOWN. ``timelines``: probe -> samples; ``services``: probe -> its
    API's service type; ``backends``: backend -> service type. The DOWN lies between two
    polls (its uncertainty is half that gap) and the first failure up to half a probe
    period before its sample; 0 s when it came before any failure."""
    found = []
    last_change: dict[tuple[str, str], float] = {}
    for change in sorted(transitions, key=lambda t: t.seen):
        key = (change.backend, change.server)
        previous = last_change.get(key)
        last_change[key] = change.seen
        if not is_down(change.after) or is_down(change.before):
            continue
        down = (change.seen + change.previous_poll) / 2
        low = max(x for x in (previous, fault_start, origin) if x is not None)
        service = backends.get(change.backend, "")
        failed, period = [], 0.0
        for probe, samples in timelines.items():
            if services.get(probe) != service or not samples:
                continue
            ours = [s.start for s in samples if not s.ok and low <= s.start <= down]
            if ours:
                failed.append(min(ours))
                gaps = [b.start - a.start for a, b in zip(samples, samples[1:], strict=False)]
                period = max(period, min(gaps) if gaps else 0.0)
        first = min(failed) if failed else None
        uncertainty = (change.seen - change.previous_poll) / 2 + (period / 2 if failed else 0)
        found.append({
            "backend": change.backend, "server": change.server, "service": service,
            "down": round(down - origin, 6),
            "first_failure": None if first is None else round(first - origin, 6),
            "seconds": 0.0 if first is None else round(max(0.0, down - first), 6),
            "uncertainty": round(uncertainty, 6),
            "before_any_failure": first is None,
        })
    return found


def from_target(target, probes_services: Iterable[str]) -> BackendWatch | None:
    """A watch of the target's load balancer over the backends of the services the probes
    exercise; None when the target names no load balancer. The stats page is read when
    the target gives one (cheap: 4 reads a second), else the admin socket over SSH (one
    connection a read: one a second)."""
    from dataclasses import replace

    from .. import loadbalancer

    spec = loadbalancer.spec_from_target(target)
    if spec is None:
        return None
    wanted = set(probes_services)
    backends = {spec.backend(name): str(svc.get("api")) for name, svc in
                target.section("services").items()
                if isinstance(svc, dict) and svc.get("api") in wanted}
    if not backends:
        return None
    nodes = target.section("nodes")
    if spec.stats_url:
        reader = loadbalancer.HAProxy(replace(spec, admin_socket=""), lambda *a: "", nodes,
                                      timeout=2.0)
        return BackendWatch(reader.servers, 0.25, f"stats page {spec.stats_url}", backends)
    reader = loadbalancer.HAProxy(spec, loadbalancer.ssh_runner(target), nodes, timeout=5.0)
    return BackendWatch(reader.servers, 1.0, f"admin socket on {spec.node}", backends)

"""One monitor from start to result: run, analyse, reconcile writes, draw, export.

Its reads' answers (and the token and version documents') are checked against their
published response schemas by sample (:mod:`ExtremeTesting.schemas.watch`: each kind's first
answer, then one a minute); the result's ``schemas`` holds what was checked and found."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from .. import events as fault_events
from ..schemas.watch import Watch
from .analysis import analyze, fault_window
from .engine import MonitorRun, run_deferred
from .lbwatch import BackendWatch
from .plot import timeline_png
from .probes import GetProbe, Probe, TokenHolder, TokenProbe, WriteProbe
from .reconcile import Reconciliation, settle_and_reconcile


class MonitorSession:
    """A named monitor: its probes running, then its result."""

    def __init__(self, name: str, probes: list[Probe], sample_cap: int = 50_000,
                 settle: float = 30.0, tokens: TokenHolder | None = None,
                 target_name: str = "", prefix: str = "",
                 watch: BackendWatch | None = None, schemas: Watch | None = None) -> None:
        self.name = name
        self.watch = watch  # the load balancer's servers, read in the background
        self.run = MonitorRun(probes, sample_cap, name=name)
        # The reads' answers against their published schemas, by sample (none without a
        # probe of an API: the data plane's monitors).
        readers = [p for p in self.run.probes if isinstance(p, (GetProbe, TokenProbe))]
        self.schemas = (schemas or Watch()) if readers else None
        for probe in readers:
            if probe.schemas is None:
                probe.schemas = self.schemas
        self.settle = settle
        self.tokens = tokens
        self.target_name = target_name
        self.prefix = prefix
        self.result: dict | None = None
        self.png: bytes | None = None
        self.scope: tuple[str, str] = ("global", "")
        self.warm_up: dict = {}

    @property
    def write_probes(self) -> list[WriteProbe]:
        return [p for p in self.run.probes if isinstance(p, WriteProbe)]

    def start(self) -> None:
        self.warm_up = warm_up(self.run.probes)
        self.run.start()
        if self.watch is not None:
            self.watch.start()

    def wait_for_baseline(self, seconds: float, deadline: float) -> list[str]:
        """Polls until the monitor has run ``seconds`` and every probe has at least one
        finished sample, so that a fault injected next has a steady state before it; gives
        up after ``deadline`` seconds. Returns the probes still without a sample."""
        started = time.monotonic()
        while True:
            empty = [name for name, samples in self.run.samples().items() if not samples]
            elapsed = time.monotonic() - started
            if (elapsed >= seconds and not empty) or elapsed >= deadline:
                return empty
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self.run.running

    def stop(self, settle: float | None = None, draw: bool = True) -> dict:
        """Stop probing, reconcile writes, clean up the run's resources; the result."""
        if self.result is not None:
            return self.result
        self.run.stop()
        if self.watch is not None:
            self.watch.stop()
        writes = {p.name: self._reconcile(p, self.settle if settle is None else settle)
                  for p in self.write_probes}
        self.result = self.snapshot(writes)
        if draw:
            self.png = self.draw(self.result)
        return self.result

    def _reconcile(self, probe: WriteProbe, settle: float) -> dict:
        result: Reconciliation = settle_and_reconcile(probe.ledger.writes, probe.list_held,
                                                      settle, origin=self.run.origin)
        found = result.as_dict()
        found["forgotten"] = probe.ledger.forgotten
        try:
            leftovers = probe.list_held()
            found["cleanup_errors"] = probe.delete_ids([h.resource_id for h in leftovers])
            found["cleaned_up"] = len(leftovers)
        except Exception as error:  # noqa: BLE001 - report, the run's result matters more
            found["cleanup_errors"] = [f"could not list leftovers: {error}"]
        return found

    def events(self) -> list[dict]:
        end = self.run.stopped_at if self.run.stopped_at is not None else time.monotonic()
        found = []
        for event in fault_events.between(self.run.origin, end):
            item = event.as_dict()
            item["t"] = round(event.monotonic - self.run.origin, 6)
            item["label"] = " ".join(x for x in (event.action, event.target,
                                                 f"({event.phase})") if x)
            found.append(item)
        return found

    def snapshot(self, writes: dict | None = None) -> dict:
        """Figures so far (a running monitor) or final ones (a stopped one)."""
        run = self.run
        end = run.stopped_at if run.stopped_at is not None else time.monotonic()
        events = self.events()
        raw_events = [{"phase": e["phase"], "monotonic": e["monotonic"]} for e in events]
        timelines = run.samples()
        analysis = analyze(timelines, raw_events, run.origin)
        for probe in run.probes:
            figures = analysis["probes"][probe.name]
            figures["config"] = probe.describe()
            figures["counts"] = run.timelines[probe.name].counts()
            lags = [s.lag for s in run.timelines[probe.name].samples()]
            figures["lag_p99"] = (round(sorted(lags)[int(0.99 * (len(lags) - 1))], 6)
                                  if lags else None)
        duration = end - run.origin
        cpu = run.cpu_seconds if run.stopped_at is not None else None
        return {
            "monitor": self.name,
            "target": self.target_name,
            "running": run.stopped_at is None,
            "started": _iso(run.origin_wall),
            "stopped": _iso(run.wall(end)),
            "origin_wall": run.origin_wall,
            "duration": round(duration, 3),
            "prefix": self.prefix,
            "events": events,
            "fault": analysis["fault"],
            "probes": analysis["probes"],
            "overall": analysis["overall"],
            "writes": writes or {},
            "scheduling": run.scheduling(),
            "cpu_seconds": None if cpu is None else round(cpu, 3),
            "cpu_share": None if cpu is None or duration <= 0 else round(cpu / duration, 4),
            "logins": self.tokens.logins if self.tokens else 0,
            "warm_up": self.warm_up,
            "schemas": self.schemas.figures() if self.schemas is not None else None,
            "load_balancer": None if self.watch is None else self.watch.figures(
                timelines, {p.name: p.service for p in run.probes},
                fault_window(raw_events).start, run.origin),
        }

    def draw(self, result: dict) -> bytes:
        return timeline_png(self.run.samples(), result, result["events"], self.run.origin,
                            title=f"monitor '{self.name}' on {self.target_name or 'target'}")

    def export(self, path: str | Path, samples: bool = False) -> Path:
        result = dict(self.result or self.snapshot())
        if samples:
            result["samples"] = {name: [s.as_dict(self.run.origin) for s in items]
                                 for name, items in self.run.samples().items()}
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
        return target


def _iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall).isoformat(timespec="milliseconds")


def warm_up(probes: list[Probe]) -> dict:
    """Each read, token and version probe once, at the same time, before the timeline
    starts; their outcomes are not samples. The monitor logs in anew, and a service's first
    request with a new token validates it with Keystone and fills its caches: on a busy
    lab that took longer than the probe's timeout (the main job of 2026-12-06 failed a
    healthy controller's case on the first read-networks request, 0.4 s into the
    timeline). A user with a token in use does not pay that; our monitor must not report
    it. Writes are never sent here (each would be a resource to reconcile).
    Returns {"requests": n, "failed": {probe: error}} for the result."""
    import threading

    found: dict[str, str] = {}
    chosen = [p for p in probes if not isinstance(p, WriteProbe)]

    def one(probe: Probe) -> None:
        try:
            outcome = probe.check()
            if not outcome.ok:
                found[probe.name] = outcome.error or f"HTTP {outcome.status}"
            run_deferred(outcome.deferred)  # the first answer of each kind: checked
        except Exception as error:  # noqa: BLE001 - a warm-up never fails the monitor
            found[probe.name] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=one, args=(p,), daemon=True,
                                name=f"warm-up-{p.name}") for p in chosen]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + max((p.sample_timeout for p in chosen), default=0) + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {"requests": len(chosen), "failed": dict(found)}

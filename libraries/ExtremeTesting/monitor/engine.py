"""The background run: every probe's slots on a monotonic grid, each sample in a worker.

Slot k of probe i falls at ``origin + offset_i + k / rate``: computed from k, never by
adding periods, so the grid does not drift; the offsets spread the probes evenly over a
period, so their requests do not all leave at the same instant (bursts of simultaneous
slots made the scheduling lag p99 20x worse in bench/monitor_capacity.py).

One scheduler thread hands each due slot to a bounded pool of worker threads, so a hung
request delays no other probe and no later slot of its own. A slot is *missed* (counted,
never silently dropped) when the scheduler woke too late for it or the probe already has
``max_in_flight`` requests outstanding.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ..evidence import ids
from .analysis import percentile
from .probes import Probe
from .samples import DEFAULT_SAMPLE_CAP, ProbeTimeline, Sample

MAX_WORKERS = 256
LAG_CAP = 100_000


class MonitorRun:
    """Probes running in the background between :meth:`start` and :meth:`stop`."""

    def __init__(self, probes: list[Probe], sample_cap: int = DEFAULT_SAMPLE_CAP,
                 max_workers: int | None = None, name: str = "monitor") -> None:
        names = [p.name for p in probes]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"Probe names must be unique; repeated: {sorted(duplicates)}")
        if not probes:
            raise ValueError("A monitor needs at least one probe.")
        self.name = name
        self.probes = list(probes)
        self.timelines = {p.name: ProbeTimeline(p.name, sample_cap) for p in probes}
        wanted = sum(p.max_in_flight for p in probes)
        self.max_workers = max(2, min(max_workers or MAX_WORKERS, wanted))
        self._in_flight = {p.name: 0 for p in probes}
        self._flight_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.lags: deque[float] = deque(maxlen=LAG_CAP)
        self.origin = 0.0  # monotonic time of slot 0
        self.origin_wall = 0.0
        self.stopped_at: float | None = None
        self.cpu_start = 0.0
        self.cpu_seconds = 0.0
        self.scheduler_errors = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"Monitor '{self.name}' was already started.")
        self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix=f"{self.name}-w")
        self.cpu_start = _cpu()
        self.origin = time.monotonic()
        self.origin_wall = time.time()
        self._thread = threading.Thread(target=self._schedule, name=f"{self.name}-scheduler",
                                        daemon=True)
        self._thread.start()

    def stop(self, wait: float | None = None) -> None:
        """Stop scheduling and wait for outstanding samples (at most their timeouts)."""
        if self._thread is None or self.stopped_at is not None:
            return
        self._stop.set()
        self._thread.join()
        self.stopped_at = time.monotonic()
        longest = max(p.sample_timeout for p in self.probes)
        deadline = time.monotonic() + (wait if wait is not None else longest + 1.0)
        while time.monotonic() < deadline and sum(self._in_flight.values()):
            time.sleep(0.01)  # poll until outstanding samples are in
        assert self._pool is not None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.cpu_seconds = _cpu() - self.cpu_start

    def _schedule(self) -> None:
        count = len(self.probes)
        offsets = [i / count * p.period for i, p in enumerate(self.probes)]
        heap = [(self.origin + offsets[i], i, 0) for i in range(count)]
        heapq.heapify(heap)
        while not self._stop.is_set():
            due, index, slot = heap[0]
            now = time.monotonic()
            if due > now:
                self._stop.wait(due - now)
                continue
            probe = self.probes[index]
            period = probe.period
            # Every slot up to now that is already past its successor is missed.
            late = int((now - due) / period)
            if late:
                self.timelines[probe.name].missed(late)
                slot += late
                due = self.origin + offsets[index] + slot * period
            self._dispatch(probe, slot, due)
            heapq.heapreplace(heap, (self.origin + offsets[index] + (slot + 1) * period, index,
                                     slot + 1))

    def _dispatch(self, probe: Probe, slot: int, due: float) -> None:
        with self._flight_lock:
            if self._in_flight[probe.name] >= probe.max_in_flight:
                busy = True
            else:
                busy = False
                self._in_flight[probe.name] += 1
        if busy:
            self.timelines[probe.name].missed()
            return
        assert self._pool is not None
        try:
            self._pool.submit(self._sample, probe, slot, due)
        except RuntimeError:  # the pool is shutting down
            with self._flight_lock:
                self._in_flight[probe.name] -= 1

    def _sample(self, probe: Probe, slot: int, due: float) -> None:
        try:
            wall = time.time()
            start = time.monotonic()
            self.lags.append(start - due)
            ids.forget()
            deferred = None
            try:
                outcome = probe.check()
                ok, status, error, request_id = (outcome.ok, outcome.status, outcome.error,
                                                 outcome.request_id)
                deferred = outcome.deferred
            except Exception as failure:  # noqa: BLE001 - a probe bug is a failed sample
                ok, status, error, request_id = False, None, f"probe error: {failure!r}", ""
                self.scheduler_errors += 1
            end = time.monotonic()
            if ok and not probe.times_itself and end - start > probe.sample_timeout:
                ok, error = False, f"answer after {end - start:.3f} s, over the timeout"
            self.timelines[probe.name].add(Sample(
                probe.name, slot, due, start, end, wall, wall + (end - start), ok, status,
                error[:300], request_id, ids.last_sent()))
            run_deferred(deferred)
        finally:
            with self._flight_lock:
                self._in_flight[probe.name] -= 1

    def samples(self) -> dict[str, list[Sample]]:
        return {name: timeline.samples() for name, timeline in self.timelines.items()}

    def scheduling(self) -> dict:
        lags = list(self.lags)
        missed = sum(t.missed_slots for t in self.timelines.values())
        return {
            "lag_p50": _round(percentile(lags, 50)), "lag_p99": _round(percentile(lags, 99)),
            "lag_max": _round(max(lags) if lags else None), "missed_slots": missed,
            "max_workers": self.max_workers, "probe_errors": self.scheduler_errors,
        }

    def wall(self, monotonic: float) -> float:
        return self.origin_wall + (monotonic - self.origin)


def run_deferred(deferred) -> None:
    """A probe's work after its sample is recorded (the schema check): never fails it."""
    if deferred is None:
        return
    try:
        deferred()
    except Exception:  # noqa: BLE001, S110 - the sample is recorded; this is a side look
        pass


def _cpu() -> float:
    return time.process_time()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)



"""In-process runners: constant concurrency and constant rate, with threads.

Both stop by themselves: at their duration, their iteration count, or when ``stop()`` is
called; a worker stuck in a request ends with that request's own timeout, and the runner
waits for it no longer than ``grace`` seconds (it is then reported as unfinished).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ExtremeError
from .samples import Sample
from .workloads import WorkerContext, Workload, run_iteration

Mode = Literal["concurrency", "rate"]


class LoadPlanError(ExtremeError):
    """A load plan that cannot run (no bound, nonsense numbers)."""


@dataclass
class LoadPlan:
    workload: str
    mode: Mode = "concurrency"
    concurrency: int = 1  # workers (concurrency mode) or the pool (rate mode)
    rate: float = 0.0  # iterations started per second (rate mode)
    duration: float | None = None  # seconds, ramp-up included
    iterations: int | None = None  # total iterations over all workers
    ramp_up: float = 0.0  # seconds to reach full concurrency / rate
    params: dict = field(default_factory=dict)
    prefix: str = "xload-"
    timeout: float = 30.0  # each request's own timeout
    grace: float | None = None  # wait this long after the end for in-flight iterations

    def check(self) -> LoadPlan:
        if self.duration is None and self.iterations is None:
            raise LoadPlanError("A load needs an end: give a duration, an iteration count, "
                                "or both.")
        if self.duration is not None and self.duration <= 0:
            raise LoadPlanError(f"Duration must be positive, got {self.duration} s.")
        if self.iterations is not None and self.iterations < 1:
            raise LoadPlanError(f"Iterations must be at least 1, got {self.iterations}.")
        if self.concurrency < 1:
            raise LoadPlanError(f"Concurrency must be at least 1, got {self.concurrency}.")
        if self.mode == "rate" and self.rate <= 0:
            raise LoadPlanError(f"A constant-rate load needs a rate above 0/s, got "
                                f"{self.rate}.")
        if self.ramp_up < 0 or (self.duration is not None and self.ramp_up >= self.duration):
            raise LoadPlanError(f"Ramp-up ({self.ramp_up} s) must be at least 0 and shorter "
                                f"than the duration ({self.duration} s).")
        return self

    @property
    def span(self) -> float:
        """Seconds the plan may run: its duration, or for an iteration count the longest
        it can take if every request used its whole timeout (a hard bound, not a guess)."""
        if self.duration is not None:
            return self.duration
        assert self.iterations is not None
        if self.mode == "rate":
            return schedule_offset(self.iterations, self.rate, self.ramp_up) + self.timeout
        return self.ramp_up + math.ceil(self.iterations / self.concurrency) * self.timeout

    @property
    def grace_seconds(self) -> float:
        return self.timeout + 5.0 if self.grace is None else self.grace


@dataclass
class RunOutcome:
    samples: list[Sample]
    started: float  # monotonic
    ended: float
    wall_started: float
    not_started: int = 0  # rate mode: iterations due but no worker was free before the end
    unfinished: int = 0  # iterations still running when the runner gave up waiting
    max_in_flight: int = 0
    engine: str = "inprocess"
    log: str = ""


def schedule_offset(k: int, rate: float, ramp_up: float) -> float:
    """Seconds after the start at which the k-th iteration (0-based) is due, with the rate
    rising linearly from 0 to ``rate`` over ``ramp_up`` seconds."""
    if ramp_up <= 0:
        return k / rate
    in_ramp = rate * ramp_up / 2.0
    if k < in_ramp:
        return math.sqrt(2.0 * ramp_up * k / rate)
    return ramp_up + (k - in_ramp) / rate


class InProcessRunner:
    """Runs a :class:`LoadPlan` with threads in this process."""

    def __init__(self, plan: LoadPlan, workload: Workload, connect: Callable[[], Any] | None,
                 on_sample: Callable[[Sample], None] | None = None):
        self.plan = plan.check()
        self.workload = workload
        self.connect = connect
        self.on_sample = on_sample
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._count = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._threads: list[threading.Thread] = []
        self._not_started = 0

    def stop(self) -> None:
        self._stop.set()

    def _claim(self) -> int | None:
        """The next iteration number, or None when the plan's count is reached."""
        with self._lock:
            if self.plan.iterations is not None and self._count >= self.plan.iterations:
                return None
            self._count += 1
            return self._count - 1

    def _iterate(self, ctx: WorkerContext, number: int, scheduled: float | None) -> None:
        ctx.iteration = number
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            sample = run_iteration(self.workload, ctx, self.plan.workload, scheduled)
        finally:
            with self._lock:
                self._in_flight -= 1
        with self._lock:
            self._samples.append(sample)
        if self.on_sample:
            self.on_sample(sample)

    def _context(self, worker: int) -> WorkerContext:
        return WorkerContext(worker=worker, prefix=self.plan.prefix, params=self.plan.params,
                             connect=self.connect)

    def run(self) -> RunOutcome:
        plan = self.plan
        started, wall_started = time.monotonic(), time.time()
        deadline = started + plan.span
        target = self._concurrency_worker if plan.mode == "concurrency" else self._rate_worker
        jobs: queue.Queue = queue.Queue()
        for worker in range(plan.concurrency):
            delay = (plan.ramp_up * worker / plan.concurrency
                     if plan.mode == "concurrency" else 0.0)
            thread = threading.Thread(target=target, name=f"load-{worker}", daemon=True,
                                      args=(worker, started + delay, deadline, jobs))
            self._threads.append(thread)
            thread.start()
        if plan.mode == "rate":
            self._dispatch(started, deadline, jobs)
        self._join(deadline)
        ended = time.monotonic()
        with self._lock:
            samples = sorted(self._samples, key=lambda s: s.start)
            unfinished = self._in_flight
        return RunOutcome(samples=samples, started=started, ended=ended,
                          wall_started=wall_started, not_started=self._not_started,
                          unfinished=unfinished, max_in_flight=self._max_in_flight)

    def _join(self, end_of_plan: float) -> None:
        while alive := [t for t in self._threads if t.is_alive()]:
            now = time.monotonic()
            if now >= end_of_plan:
                self._stop.set()
            if now > end_of_plan + self.plan.grace_seconds:
                break
            alive[0].join(timeout=0.05)
        self._stop.set()

    def _concurrency_worker(self, worker: int, begin: float, deadline: float,
                            _jobs: queue.Queue) -> None:
        ctx = self._context(worker)
        try:
            if self._stop.wait(max(0.0, begin - time.monotonic())):
                return
            while not self._stop.is_set() and time.monotonic() < deadline:
                number = self._claim()
                if number is None:
                    return
                self._iterate(ctx, number, None)
        finally:
            ctx.close()

    def _dispatch(self, started: float, deadline: float, jobs: queue.Queue) -> None:
        plan = self.plan
        k = 0
        while not self._stop.is_set():
            if plan.iterations is not None and k >= plan.iterations:
                break
            due = started + schedule_offset(k, plan.rate, plan.ramp_up)
            if due >= deadline:
                break
            if self._stop.wait(max(0.0, due - time.monotonic())):
                break
            jobs.put((k, due))
            k += 1
        for _ in self._threads:
            jobs.put(None)

    def _rate_worker(self, worker: int, _begin: float, deadline: float,
                     jobs: queue.Queue) -> None:
        ctx = self._context(worker)
        try:
            while True:
                try:
                    job = jobs.get(timeout=0.1)
                except queue.Empty:
                    if self._stop.is_set():
                        return
                    continue
                if job is None:
                    return
                number, due = job
                if self._stop.is_set() or time.monotonic() >= deadline:
                    with self._lock:
                        self._not_started += 1
                    continue
                self._iterate(ctx, number, due)
        finally:
            ctx.close()

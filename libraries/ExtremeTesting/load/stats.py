"""Figures from a load's samples: failure rate, percentiles, throughput, achieved rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .samples import Sample

PERCENTILES = (50, 90, 95, 99)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between closest ranks (numpy's
    default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def max_overlap(samples: Sequence[Sample]) -> int:
    """The most iterations that were in flight at one moment."""
    edges = sorted([(s.start, 1) for s in samples] + [(s.end, -1) for s in samples],
                   key=lambda edge: (edge[0], edge[1]))
    current = best = 0
    for _, step in edges:
        current += step
        best = max(best, current)
    return best


@dataclass
class LoadSummary:
    workload: str
    engine: str
    mode: str
    requests: int
    failures: int
    failure_rate: float  # 0..1
    p50: float  # seconds
    p90: float
    p95: float
    p99: float
    max: float
    mean: float
    throughput: float  # completed iterations per second, over the whole run
    requested_rate: float | None  # rate mode
    achieved_rate: float  # iterations started per second after the ramp-up
    concurrency: int
    max_in_flight: int
    elapsed: float
    not_started: int = 0
    unfinished: int = 0
    lag_p99: float | None = None  # rate mode: start minus scheduled time
    errors: dict[str, int] = field(default_factory=dict)  # the most common errors

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in self.__dict__.items()}


def summarise(samples: Sequence[Sample], *, workload: str, engine: str, mode: str,
              started: float, ended: float, concurrency: int, ramp_up: float = 0.0,
              requested_rate: float | None = None, not_started: int = 0,
              unfinished: int = 0, max_in_flight: int | None = None,
              window: float | None = None) -> LoadSummary:
    """``window``: the planned seconds after the ramp-up (duration minus ramp-up); without
    it (an iteration count) the achieved rate is taken over the span the starts covered."""
    durations = [s.duration for s in samples]
    failures = sum(1 for s in samples if not s.ok)
    elapsed = max(ended - started, 1e-9)
    steady_from = started + ramp_up
    steady = [s for s in samples if s.start >= steady_from]
    steady_span = max(ended - steady_from, 1e-9)
    if window:
        steady_span = window
    elif samples:
        last_start = max(s.start for s in samples)
        steady_span = max(min(steady_span, last_start - steady_from + _period(steady)), 1e-9)
    lags = [s.start - s.scheduled for s in samples] if mode == "rate" else []
    errors: dict[str, int] = {}
    for sample in samples:
        if not sample.ok:
            key = sample.error.split("\n", 1)[0][:120] or sample.outcome
            errors[key] = errors.get(key, 0) + 1
    top = dict(sorted(errors.items(), key=lambda item: -item[1])[:5])
    figures = {f"p{p}": percentile(durations, p) for p in PERCENTILES}
    return LoadSummary(
        workload=workload, engine=engine, mode=mode, requests=len(samples),
        failures=failures, failure_rate=failures / len(samples) if samples else 0.0,
        max=max(durations) if durations else math.nan,
        mean=sum(durations) / len(durations) if durations else math.nan,
        throughput=len(samples) / elapsed, requested_rate=requested_rate,
        achieved_rate=len(steady) / steady_span if steady else 0.0,
        concurrency=concurrency,
        max_in_flight=max_in_flight if max_in_flight is not None else max_overlap(samples),
        elapsed=elapsed, not_started=not_started, unfinished=unfinished,
        lag_p99=percentile(lags, 99) if lags else None, errors=top, **figures)


def _period(samples: Sequence[Sample]) -> float:
    """The mean gap between starts: the last start stands for one more period."""
    if len(samples) < 2:
        return 0.0
    starts = sorted(s.start for s in samples)
    return (starts[-1] - starts[0]) / (len(starts) - 1)

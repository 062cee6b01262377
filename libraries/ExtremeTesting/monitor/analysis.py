"""From samples to figures: outage windows, recovery, error rates, latency by phase.

Pure functions over samples (anything with ``start``, ``ok``, ``latency`` and ``error``),
so every figure can be checked on synthetic timelines.

A sample stands for the moment its request was sent (``start``). An outage is a run of
failed samples; its start edge lies at the midpoint between the last OK sample and the
first failed one, with an uncertainty of half that gap (the state changed somewhere in
between), and likewise for its end edge. A run at the very start or end of the timeline is
*open* on that side: its edge is the first/last failed sample itself.

A failure is partial as often as total: one backend of two black-holed makes every other
request fail, and the longest outage is then one sample long whatever the share. So the
figures also hold, per phase, the *partial outage* (see :func:`partial`): the share of
failed samples and the *failing time*, the sum of the outages inside the phase. Besides
``before``, ``during``, ``after`` and ``all`` it has ``after recovery``: from the end of
the outage that outlived the fault (the recovery, judged on its own) onwards.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

PHASES = ("all", "before", "during", "after")
FAULT_START_PHASES = ("requested", "in effect")
FAULT_END_PHASES = ("undone",)


class SampleLike(Protocol):
    start: float
    ok: bool
    error: str

    @property
    def latency(self) -> float: ...


@dataclass
class Outage:
    start: float  # seconds, same clock as the samples
    end: float
    start_uncertainty: float
    end_uncertainty: float
    failed_samples: int = 0
    open_start: bool = False  # already failing when the timeline began
    open_end: bool = False  # still failing when it ended
    errors: dict[str, int] = field(default_factory=dict)  # most common errors
    probes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def uncertainty(self) -> float:
        return self.start_uncertainty + self.end_uncertainty

    def shifted(self, origin: float) -> dict:
        found = asdict(self)
        found["start"] = round(self.start - origin, 6)
        found["end"] = round(self.end - origin, 6)
        found["duration"] = round(self.duration, 6)
        found["uncertainty"] = round(self.uncertainty, 6)
        found["start_uncertainty"] = round(self.start_uncertainty, 6)
        found["end_uncertainty"] = round(self.end_uncertainty, 6)
        return found


@dataclass
class FaultWindow:
    start: float | None = None  # first "requested"/"in effect" event
    end: float | None = None  # last "undone" event (or a "fault end" mark)

    def phase_of(self, t: float) -> str:
        if self.start is None or t < self.start:
            return "before"
        if self.end is None or t <= self.end:
            return "during"
        return "after"


def fault_window(events: Iterable) -> FaultWindow:
    """The fault's extent from events (objects or dicts with ``phase`` and ``monotonic``)."""
    starts, ends = [], []
    for event in events:
        phase = _get(event, "phase")
        when = float(_get(event, "monotonic"))
        if phase in FAULT_START_PHASES:
            starts.append(when)
        elif phase in FAULT_END_PHASES:
            ends.append(when)
    start = min(starts) if starts else None
    end = max(ends) if ends else None
    if start is None and end is not None:
        start = min(ends)
    if start is not None and end is not None and end < start:
        end = None
    return FaultWindow(start, end)


def outages(samples: Sequence[SampleLike], probe: str = "") -> list[Outage]:
    """Outage windows of one probe's samples (sorted by start)."""
    ordered = sorted(samples, key=lambda s: s.start)
    found: list[Outage] = []
    i = 0
    while i < len(ordered):
        if ordered[i].ok:
            i += 1
            continue
        first = i
        while i < len(ordered) and not ordered[i].ok:
            i += 1
        last = i - 1
        t_first, t_last = ordered[first].start, ordered[last].start
        if first > 0:
            gap = t_first - ordered[first - 1].start
            start, start_u, open_start = t_first - gap / 2, gap / 2, False
        else:
            start, start_u, open_start = t_first, 0.0, True
        if i < len(ordered):
            gap = ordered[i].start - t_last
            end, end_u, open_end = t_last + gap / 2, gap / 2, False
        else:
            end, end_u, open_end = t_last, 0.0, True
        errors = Counter(s.error or "failed" for s in ordered[first:i])
        found.append(Outage(start, end, start_u, end_u, i - first, open_start, open_end,
                            dict(errors.most_common(3)), [probe] if probe else []))
    return found


def union(windows: Iterable[Outage]) -> list[Outage]:
    """Merge overlapping windows of several probes: the cloud is out when any probe is."""
    merged: list[Outage] = []
    for window in sorted(windows, key=lambda w: w.start):
        if merged and window.start <= merged[-1].end:
            current = merged[-1]
            if window.end > current.end:
                current.end, current.end_uncertainty = window.end, window.end_uncertainty
            current.open_end = current.open_end or window.open_end
            current.failed_samples += window.failed_samples
            for error, count in window.errors.items():
                current.errors[error] = current.errors.get(error, 0) + count
            current.errors = dict(Counter(current.errors).most_common(3))
            current.probes = sorted(set(current.probes) | set(window.probes))
        else:
            merged.append(Outage(window.start, window.end, window.start_uncertainty,
                                 window.end_uncertainty, window.failed_samples,
                                 window.open_start, window.open_end, dict(window.errors),
                                 list(window.probes)))
    return merged


def recovery(windows: Sequence[Outage], fault: FaultWindow) -> dict:
    """Time from the fault's end until the last outage that outlived it ended."""
    if fault.end is None:
        return {"seconds": None, "uncertainty": None, "recovered": None,
                "reason": "no fault ended inside the monitored window"}
    later = [w for w in windows if w.end > fault.end or w.open_end]
    if any(w.open_end for w in later):
        return {"seconds": None, "uncertainty": None, "recovered": False,
                "reason": "still failing when the monitor stopped"}
    if not later:
        return {"seconds": 0.0, "uncertainty": 0.0, "recovered": True,
                "reason": "no outage outlived the fault"}
    last = max(later, key=lambda w: w.end)
    return {"seconds": round(last.end - fault.end, 6),
            "uncertainty": round(last.end_uncertainty, 6), "recovered": True,
            "reason": "last outage ended after the fault ended"}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies: Sequence[float]) -> dict:
    found: dict = {"count": len(latencies)}
    for q in (50, 90, 95, 99):
        value = percentile(latencies, q)
        found[f"p{q}"] = None if value is None else round(value, 6)
    found["max"] = round(max(latencies), 6) if latencies else None
    return found


def by_phase(samples: Sequence[SampleLike], fault: FaultWindow) -> dict[str, list]:
    phases: dict[str, list] = {phase: [] for phase in PHASES}
    for sample in samples:
        phases["all"].append(sample)
        if fault.start is not None:
            phases[fault.phase_of(sample.start)].append(sample)
    return phases


@dataclass
class Phases:
    """One probe's samples split at the fault: ``before``, ``during``, ``after`` and
    ``all`` (only ``all`` is filled when no fault is on the timeline)."""

    fault: FaultWindow
    samples: dict[str, list]

    def failed(self, phase: str) -> int:
        """How many samples of ``phase`` failed."""
        return sum(1 for s in self.samples[phase] if not s.ok)

    def ok_latencies(self, phase: str) -> list[float]:
        """The latencies of the successful samples of ``phase``."""
        return [s.latency for s in self.samples[phase] if s.ok]

    def latency_percentile(self, phase: str, q: float) -> float | None:
        """The q-th percentile of successful samples' latency in ``phase``; None without."""
        return percentile(self.ok_latencies(phase), q)


def phases(samples: Sequence[SampleLike], events: Iterable) -> Phases:
    """``samples`` split at the fault that ``events`` (dicts or objects with ``phase`` and
    ``monotonic``) delimit."""
    fault = fault_window(events)
    return Phases(fault, by_phase(samples, fault))


PARTIAL_PHASES = (*PHASES, "after recovery")


def phase_span(fault: FaultWindow, phase: str, windows: Sequence[Outage] = ()
               ) -> tuple[float, float]:
    """The time span of ``phase`` (``before``, ``during``, ``after``, ``after recovery``,
    ``all``); without a fault on the timeline only ``all`` spans anything, without its end
    neither ``after`` nor ``after recovery`` do. ``after recovery`` starts where the last
    of ``windows`` that holds the fault's end ends (at the fault's end when none does)."""
    inf = math.inf
    if phase == "all":
        return -inf, inf
    if fault.start is None:
        return inf, inf  # nothing
    end = fault.end if fault.end is not None else inf
    if phase == "after recovery":
        for window in windows:
            if window.start <= end <= window.end:
                end = window.end
        return end, inf
    return {"before": (-inf, fault.start), "during": (fault.start, end),
            "after": (end, inf)}[phase]


def failing_time(windows: Sequence[Outage], low: float, high: float) -> dict:
    """How long a probe was failing between ``low`` and ``high``: the sum of its outages,
    each cut to that span. ``uncertainty`` is the root of the summed squares of the edges'
    uncertainties inside the span (each edge is off by at most half its gap, independently
    of the others; the worst case, their plain sum, would be as large as the figure itself
    for failures that alternate with successes)."""
    seconds, squares, count = 0.0, 0.0, 0
    for window in windows:
        start, end = max(window.start, low), min(window.end, high)
        if end < start:
            continue
        count += 1
        seconds += end - start
        if window.start >= low:
            squares += window.start_uncertainty ** 2
        if window.end <= high:
            squares += window.end_uncertainty ** 2
    return {"seconds": round(seconds, 6), "uncertainty": round(math.sqrt(squares), 6),
            "outages": count}


def partial(samples: Sequence[SampleLike], windows: Sequence[Outage], fault: FaultWindow,
            phase: str) -> dict:
    """The partial outage of one probe in ``phase``: how many of its samples there were and
    failed, their share (``failed_share``, percent; None without samples) and the failing
    time (see :func:`failing_time`)."""
    low, high = phase_span(fault, phase, windows)
    inside = [s for s in samples if low <= s.start <= high]
    failed = sum(1 for s in inside if not s.ok)
    found = failing_time(windows, low, high)
    return {"samples": len(inside), "failed": failed,
            "failed_share": round(100 * failed / len(inside), 6) if inside else None,
            "failing_time": found["seconds"], "uncertainty": found["uncertainty"],
            "outages": found["outages"]}


def degradation(latency: dict[str, dict]) -> dict:
    """How much slower successful requests were during and after the fault than before."""
    found = {}
    for phase in ("during", "after"):
        for q in ("p50", "p99"):
            before, then = latency["before"].get(q), latency[phase].get(q)
            ratio = round(then / before, 3) if before and then is not None else None
            found[f"{phase}_{q}_ratio"] = ratio
    return found


def summarize(samples: Sequence[SampleLike], windows: list[Outage], fault: FaultWindow,
              origin: float) -> dict:
    """Figures of one probe (or of all probes together) over its samples and windows."""
    phases = by_phase(samples, fault)
    error_rate = {}
    latency = {}
    for phase, members in phases.items():
        failed = sum(1 for s in members if not s.ok)
        error_rate[phase] = round(failed / len(members), 6) if members else None
        latency[phase] = latency_summary([s.latency for s in members if s.ok])
    longest = max(windows, key=lambda w: w.duration, default=None)
    return {
        "samples": len(samples),
        "failed": sum(1 for s in samples if not s.ok),
        "outages": [w.shifted(origin) for w in windows],
        "total_outage": round(sum(w.duration for w in windows), 6),
        "longest_outage": longest.shifted(origin) if longest else None,
        "recovery": recovery(windows, fault),
        "error_rate": error_rate,
        "partial": {phase: {**partial(samples, windows, fault, phase),
                            "from": _since(phase_span(fault, phase, windows)[0], origin)}
                    for phase in PARTIAL_PHASES},
        "latency": latency,
        "degradation": degradation(latency),
    }


def _since(moment: float, origin: float) -> float | None:
    return round(moment - origin, 6) if math.isfinite(moment) else None


def analyze(timelines: dict[str, Sequence[SampleLike]], events: Iterable, origin: float,
            ) -> dict:
    """Per-probe and overall figures; times in the result are seconds since ``origin``."""
    fault = fault_window(events)
    probes = {}
    every_window: list[Outage] = []
    every_sample: list[SampleLike] = []
    for name, samples in timelines.items():
        windows = outages(samples, name)
        every_window += windows
        every_sample += samples
        probes[name] = summarize(samples, windows, fault, origin)
    overall = summarize(every_sample, union(every_window), fault, origin)
    return {
        "fault": {"start": None if fault.start is None else round(fault.start - origin, 6),
                  "end": None if fault.end is None else round(fault.end - origin, 6)},
        "probes": probes,
        "overall": overall,
    }


def _get(item, key: str):
    return item[key] if isinstance(item, dict) else getattr(item, key)

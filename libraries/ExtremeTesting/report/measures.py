"""The figures of one case as comparable numbers: one :class:`Measure` per figure.

Compare and history need numbers with a stable name from run to run, not formatted text.
A case's measures come from what the libraries published (:mod:`.model` keeps them as
``Figure`` objects):

``expectation`` records (``schema: 1``, see the shared contract)
    one measure per record: what the verdict keyword judged, with its limit.
``monitor``
    per monitor and probe (and overall): total and longest outage and recovery (seconds,
    with the monitor's uncertainty), error rate overall and during the fault (%), lost and
    duplicate writes (counts, exact), p50/p95/p99 before/during/after (seconds; no stated
    uncertainty).
``load``
    per workload: failure rate (%), p50/p95/p99 and max (s), throughput (req/s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import figures as fig

EXPECTATION = "expectation"
SCHEMA = 1
LOWER, HIGHER = "lower", "higher"  # which way is better


@dataclass
class Measure:
    key: str  # stable from run to run: source · subject · what
    what: str
    subject: str
    value: float | None
    uncertainty: float | None
    unit: str
    better: str | None = LOWER
    limit: float | None = None
    comparison: str = ""
    source: str = ""  # "expectation", "monitor", "load"


def expectation_records(case: Any) -> list[dict]:
    """The case's ``expectation`` records of schema 1 (older shapes are not read)."""
    return [f.data for f in case.figures
            if f.kind == EXPECTATION and isinstance(f.data, dict)
            and f.data.get("schema") == SCHEMA]


def _number(value: Any) -> float | None:
    return float(value) if fig.is_number(value) else None


def _better(comparison: str) -> str | None:
    if comparison.startswith("<"):
        return LOWER
    if comparison.startswith(">"):
        return HIGHER
    return None


def from_expectation(record: dict) -> Measure:
    keyword = str(record.get("keyword") or "")
    what = str(record.get("what") or keyword or "figure")
    subject = str(record.get("subject") or "")
    comparison = str(record.get("comparison") or "")
    return Measure(
        key=" · ".join(p for p in ("expectation", keyword, subject, what) if p),
        what=what, subject=subject, value=_number(record.get("measured")),
        uncertainty=_number(record.get("uncertainty")), unit=str(record.get("unit") or ""),
        better=_better(comparison), limit=_number(record.get("limit")),
        comparison=comparison, source=EXPECTATION)


def _monitor(data: dict, label: str) -> list[Measure]:
    overall, probes = fig.monitor_parts(data)
    found = []
    for subject, figures in [("overall", overall), *probes]:
        writes = fig._writes_of(data, None if subject == "overall" else subject)
        base = f"{label} · {subject}"

        def add(what: str, value: Any, uncertainty: Any, unit: str, better: str = LOWER,
                base: str = base, subject: str = subject) -> None:
            number = fig.seconds(value) if unit == "s" else _number(value)
            if number is not None:
                found.append(Measure(f"{base} · {what}", what, subject, number,
                                     fig.seconds(uncertainty), unit, better,
                                     source="monitor"))

        add("total outage", fig._total_outage(figures),
            fig._uncertainty(figures, "total_outage"), "s")
        add("longest outage", fig._longest_outage(figures),
            fig._uncertainty(figures, "longest_outage"), "s")
        recovery = figures.get("recovery")
        if isinstance(recovery, dict) and recovery.get("recovered") is not False:
            add("recovery", recovery.get("seconds"), recovery.get("uncertainty"), "s")
        rate, phases = fig._error_rate(figures)
        for phase, value in [("all", rate), *phases.items()]:
            if fig.is_number(value) and phase in ("all", "during"):
                name = "error rate" if phase == "all" else "error rate during"
                add(name, value * 100, None, "%")
        for what in ("lost", "duplicates", "deleted_twice", "non_recoverable"):
            counted = fig._loss_count(writes, what)
            if counted is not None:
                found.append(Measure(f"{base} · {what}", what, subject, float(counted), 0.0,
                                     "count", LOWER, source="monitor"))
        for phase, values in fig._latency(figures).items():
            if phase == "all":
                continue
            for p in ("p50", "p95", "p99"):
                add(f"{p} {phase}", values.get(p), None, "s")
        partial = figures.get("partial")
        during = partial.get("during") if isinstance(partial, dict) else None
        if isinstance(during, dict) and during.get("samples"):
            add("failing time during", during.get("failing_time"), during.get("uncertainty"),
                "s")
    balancer = data.get("load_balancer")
    seen: dict[str, int] = {}
    for removal in (balancer.get("removals") or []) if isinstance(balancer, dict) else []:
        if isinstance(removal, dict) and fig.is_number(removal.get("seconds")):
            where = f"{removal.get('backend')}/{removal.get('server')}"
            seen[where] = seen.get(where, 0) + 1
            nth = f" ({seen[where]})" if seen[where] > 1 else ""  # taken out again
            found.append(Measure(f"{label} · {where} · out of rotation after{nth}",
                                 "out of rotation after", where, float(removal["seconds"]),
                                 _number(removal.get("uncertainty")), "s", LOWER,
                                 source="monitor"))
    return found


def _load(data: dict, label: str) -> list[Measure]:
    rate = data.get("failure_rate")
    subject = str(data.get("name") or data.get("workload") or label)
    rows = [("failure rate", rate * 100 if fig.is_number(rate) else None, "%", LOWER)]
    rows += [(p, data.get(p), "s", LOWER) for p in ("p50", "p95", "p99", "max")]
    rows.append(("throughput", data.get("throughput"), "req/s", HIGHER))
    return [Measure(f"{label} · {subject} · {what}", what, subject, _number(value), None, unit,
                    better, source="load")
            for what, value, unit, better in rows if _number(value) is not None]


def of_case(case: Any) -> dict[str, Measure]:
    """Every measure of one case, by key (a key seen twice gets #2, #3...)."""
    found: list[Measure] = []
    for record in expectation_records(case):
        found.append(from_expectation(record))
    monitors = loads = 0
    for figure in case.figures:
        if figure.kind == "monitor":
            monitors += 1
            name = str(figure.data.get("monitor") or "monitor")
            found += _monitor(figure.data, f"monitor {name}")
        elif figure.kind == "load":
            loads += 1
            found += _load(figure.data, "load")
    keyed: dict[str, Measure] = {}
    for measure in found:
        key, n = measure.key, 1
        while key in keyed:
            n += 1
            key = f"{measure.key} #{n}"
        measure.key = key
        keyed[key] = measure
    return keyed


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return fig.fmt_seconds(value)
    if unit == "%":
        return f"{value:.3g} %"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.4g} {unit}".strip()


def fmt_pm(value: float | None, uncertainty: float | None, unit: str) -> str:
    text = fmt(value, unit)
    if value is None or not uncertainty:
        return text
    return f"{text} ± {fmt(uncertainty, unit)}"

"""The zero-impact verdict: a change rolled out should not be seen by the cloud's users.

Judged on a Monitor's samples: no failed sample during the change, and p95 latency of
successful samples during the change at most ``factor`` times the p95 before it. Each
comparison is published as an expectation record (schema 1) for the sign-off report.
"""

from __future__ import annotations

from robot.libraries.BuiltIn import BuiltIn

from .. import results
from ..target import Target
from .errors import ChangeError

EXPECTATION_SECTION = "rolling_changes"


def p95(values: list[float]) -> float | None:
    from ..monitor.analysis import percentile

    return percentile(values, 95)


def judge(before: list, during: list, factor: float) -> dict:
    """Figures of the verdict from samples (objects with ``ok`` and ``latency``)."""
    before_p95 = p95([s.latency for s in before if s.ok])
    during_p95 = p95([s.latency for s in during if s.ok])
    failed = sum(1 for s in during if not s.ok)
    ratio = None if not before_p95 or during_p95 is None else during_p95 / before_p95
    return {"failed_during": failed, "samples_during": len(during),
            "samples_before": len(before), "p95_before": before_p95,
            "p95_during": during_p95, "ratio": ratio, "factor": factor}


def expectation(what: str, subject: str, limit: float, comparison: str, measured,
                unit: str, passed: bool) -> dict:
    try:
        test = BuiltIn().get_variable_value("${TEST NAME}", "") or ""
        suite = BuiltIn().get_variable_value("${SUITE NAME}", "") or ""
        case = f"{suite}.{test}" if test else ""
    except Exception:  # noqa: BLE001 - outside Robot
        case = ""
    return {"schema": 1, "case": case, "keyword": "Change Should Have Zero Impact",
            "what": what, "subject": "" if subject == "overall" else subject,
            "limit": limit, "comparison": comparison, "measured": measured,
            "uncertainty": None, "unit": unit, "passed": passed}


def publish(record: dict) -> None:
    helper = getattr(results, "publish_expectation", None)
    if helper is not None:
        helper(record)
    else:  # until the verdicts branch's helper is merged: the same record, same kind
        results.publish("expectation", record,
                        f"<p>{record['what']} of {record['subject'] or 'overall'}: "
                        f"{record['measured']} {record['unit']} (limit {record['comparison']} "
                        f"{record['limit']}) {'passed' if record['passed'] else 'FAILED'}</p>")


def factor_from(target: Target, factor: float | None) -> float:
    if factor is not None:
        return float(factor)
    expectations = target.section("expectations")
    found = (expectations.get(EXPECTATION_SECTION) or {}).get("latency_factor")
    if found is None:
        found = (expectations.get("default") or {}).get("latency_factor")
    if found is None:
        raise ChangeError(f"Target file {target.path}: set expectations.{EXPECTATION_SECTION}"
                          f".latency_factor (e.g. 2) or pass factor=.")
    return float(found)


def zero_impact_keyword(target: Target, factor: float | None, probe: str, name: str) -> dict:
    from ..monitor.analysis import by_phase, fault_window

    limit = factor_from(target, factor)
    monitor = BuiltIn().get_library_instance("ExtremeTesting.Monitor")
    result = monitor._result(name)
    samples = monitor._probe_samples(monitor._session(name), probe)
    window = fault_window([{"phase": e["phase"], "monotonic": e["monotonic"]}
                           for e in result["events"]])
    if window.start is None:
        raise ChangeError(f"Monitor '{name}' saw no change on its timeline: run "
                          f"`Roll Out Change` while it runs.")
    phases = by_phase(samples, window)
    figures = judge(phases["before"], phases["during"], limit)
    if not figures["samples_before"] or not figures["samples_during"]:
        raise ChangeError(f"Monitor '{name}' has {figures['samples_before']} samples of "
                          f"{probe} before the change and {figures['samples_during']} "
                          f"during it: start it earlier and keep it running through it.")
    failed_ok = figures["failed_during"] == 0
    publish(expectation("failed samples during the change", probe, 0, "==",
                        figures["failed_during"], "count", failed_ok))
    ratio = figures["ratio"]
    ratio_ok = ratio is not None and ratio <= limit
    publish(expectation("p95 latency during / before the change", probe, limit, "<=",
                        None if ratio is None else round(ratio, 3), "ratio", ratio_ok))
    text = (f"{probe}: {figures['failed_during']} failed of {figures['samples_during']} "
            f"samples during the change; p95 {_ms(figures['p95_before'])} before, "
            f"{_ms(figures['p95_during'])} during (x{ratio:.2f}, limit x{limit:g})"
            if ratio is not None else f"{probe}: no latency to compare")
    if not (failed_ok and ratio_ok):
        raise ChangeError(f"The change was seen: {text}.")
    from robot.api import logger

    logger.info(text + ".")
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"

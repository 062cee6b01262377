"""The zero-impact verdict: a change rolled out should not be seen by the cloud's users.

Judged on a Monitor's samples: no failed sample during the change, and p95 latency of
successful samples during the change at most ``factor`` times the p95 before it. Each
comparison is published as an expectation record (schema 1, ``results.publish_expectation``)
for the sign-off report.
"""

from __future__ import annotations

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from .. import results
from ..target import Target
from .errors import ChangeError

EXPECTATION_SECTION = "rolling_changes"
KEYWORD = "Change Should Have Zero Impact"  # in results.VERDICT_KEYWORDS


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
    subject = "" if probe == "overall" else probe
    failed_ok = results.publish_expectation(
        KEYWORD, "failed samples during the change", 0, "==", figures["failed_during"],
        unit="count", subject=subject)["passed"]
    ratio = figures["ratio"]
    ratio_ok = results.publish_expectation(
        KEYWORD, "p95 latency during / before the change", limit, "<=",
        None if ratio is None else round(ratio, 3), unit="ratio", subject=subject)["passed"]
    text = (f"{probe}: {figures['failed_during']} failed of {figures['samples_during']} "
            f"samples during the change; p95 {_ms(figures['p95_before'])} before, "
            f"{_ms(figures['p95_during'])} during (x{ratio:.2f}, limit x{limit:g})"
            if ratio is not None else f"{probe}: no latency to compare")
    if not (failed_ok and ratio_ok):
        raise ChangeError(f"The change was seen: {text}.")
    logger.info(text + ".")
    return figures


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"

"""The zero-impact verdict: a change rolled out should not be seen by the cloud's users.

Judged on a Monitor's samples, through its public ``phases`` (no private access across
libraries): no failed sample during the change, and p95 latency of successful samples
during the change at most ``factor`` times the p95 before it. Each comparison is published
as an expectation record (schema 1, ``results.publish_expectation``) for the sign-off
report.
"""

from __future__ import annotations

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from .. import results
from ..monitor.analysis import Phases
from ..target import Target
from .errors import ChangeError

EXPECTATION_SECTION = "rolling_changes"
KEYWORD = "Change Should Have Zero Impact"  # in results.VERDICT_KEYWORDS


def judge(phases: Phases, factor: float) -> dict:
    """Figures of the verdict from a probe's samples split at the change (the Monitor's
    :meth:`Monitor.phases <ExtremeTesting.monitor.Monitor.phases>`)."""
    before_p95 = phases.latency_percentile("before", 95)
    during_p95 = phases.latency_percentile("during", 95)
    ratio = None if not before_p95 or during_p95 is None else during_p95 / before_p95
    return {"failed_during": phases.failed("during"),
            "samples_during": len(phases.samples["during"]),
            "samples_before": len(phases.samples["before"]), "p95_before": before_p95,
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
    limit = factor_from(target, factor)
    monitor = BuiltIn().get_library_instance("ExtremeTesting.Monitor")
    phases = monitor.phases(probe, name)  # the Monitor's public view of its samples
    if phases.fault.start is None:
        raise ChangeError(f"Monitor '{name}' saw no change on its timeline: run "
                          f"`Roll Out Change` while it runs.")
    figures = judge(phases, limit)
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

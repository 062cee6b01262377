"""The zero-impact verdict: a change rolled out should not be seen by the cloud's users.

Judged on the monitor's own samples (:meth:`Monitor.phases`): no failed sample during the
change, and p95 latency of successful samples during the change at most ``factor`` times
the p95 before it. Each comparison is published as an expectation record
(``results.publish_expectation``) for the sign-off report. The change is whatever the
timeline shows as the fault (the Changes library's roll-out publishes its span there).
"""

from __future__ import annotations

from robot.api import logger

from .. import results
from ..errors import ExtremeError
from ..target import Target
from .analysis import Phases

EXPECTATION_SECTION = "rolling_changes"
KEYWORD = "Change Should Have Zero Impact"


class ZeroImpactError(ExtremeError, AssertionError):
    """The change was seen, or there is nothing to judge it on."""


def judge(phases: Phases, factor: float) -> dict:
    """Figures of the verdict from a probe's samples split at the change."""
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
        raise ZeroImpactError(f"Target file {target.path}: set expectations."
                              f"{EXPECTATION_SECTION}.latency_factor (e.g. 2) or pass factor=.")
    return float(found)


def zero_impact(target: Target, phases: Phases, factor: float | None, probe: str,
                name: str) -> dict:
    limit = factor_from(target, factor)
    if phases.fault.start is None:
        raise ZeroImpactError(f"Monitor '{name}' saw no change on its timeline: run "
                              f"`Roll Out Change` while it runs.")
    figures = judge(phases, limit)
    if not figures["samples_before"] or not figures["samples_during"]:
        raise ZeroImpactError(f"Monitor '{name}' has {figures['samples_before']} samples of "
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
        raise ZeroImpactError(f"The change was seen: {text}.")
    logger.info(text + ".")
    return figures


class ZeroImpactKeywords:
    """Mixed into the Monitor library (it gives ``_load_target`` and ``phases``)."""

    @results.verdict
    def change_should_have_zero_impact(self, factor: float | None = None,
                                       probe: str = "overall", name: str = "default") -> None:
        """Checks that users did not see the change, on the monitor ``name``'s samples.

        No failed sample of ``probe`` during the change (the roll-out's span on the
        timeline), and its p95 latency during the change at most ``factor`` times the p95
        before it (default: the target's ``expectations.rolling_changes.latency_factor``).
        The monitor may be stopped or running. Publishes one expectation record per
        comparison for the sign-off report.

        Fails when a sample failed or the latency grew beyond ``factor``; fails when the
        monitor saw no change on its timeline or has no sample before or during it.

        | `Change Should Have Zero Impact`    factor=1.5
        """
        zero_impact(self._load_target(), self.phases(probe, name), factor, probe, name)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"

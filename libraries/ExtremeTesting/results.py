"""How libraries leave measured figures in a Robot run, and how the report finds them.

A library calls :func:`publish` inside a keyword: it logs an HTML message that shows a
human summary in log.html and carries the full figures as JSON in a
``<script type="application/json" data-extreme="KIND">`` element. The message lands in
output.xml (and survives pabot's merge), so the sign-off report reads the very figures
the run measured: :func:`extract` finds them again in a message's text.

Verdict keywords (:data:`VERDICT_KEYWORDS`) publish one ``expectation`` record (schema 1)
per comparison with :func:`publish_expectation`; readers: :func:`expectation_records`
(from ``(kind, data)`` pairs), :func:`read_records` and :func:`read_expectations` (from an
output.xml), :func:`is_marginal`. The report imports this module, never a keyword library.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Iterable
from typing import Any

_SCRIPT = re.compile(
    r'<script type="application/json" data-extreme="(?P<kind>[\w.-]+)">(?P<body>.*?)</script>',
    re.S)


def render(kind: str, data: dict, summary_html: str = "") -> str:
    # "</" inside the JSON would end the script element early; \u003c keeps it valid JSON.
    body = json.dumps(data, default=str, sort_keys=True).replace("</", "<\\u002f")
    return (f'{summary_html}<script type="application/json" data-extreme="{html.escape(kind)}">'
            f"{body}</script>")


def publish(kind: str, data: dict, summary_html: str = "", level: str = "INFO") -> None:
    """Logs the figures at ``level`` (WARN survives ``--loglevel WARN``)."""
    from robot.api import logger

    logger.write(render(kind, data, summary_html), level, html=True)


def extract(message: str) -> list[tuple[str, dict]]:
    """Every (kind, data) pair carried by one message's text."""
    found = []
    for match in _SCRIPT.finditer(message or ""):
        try:
            found.append((match["kind"], json.loads(match["body"])))
        except json.JSONDecodeError:
            continue
    return found


# --- the expectation record (schema 1): what every verdict keyword judged ---------------

SCHEMA = 1
EXPECTATION = "expectation"
FAULT_DRY_RUN = "fault-dry-run"
COMPARISONS = ("<=", "<", ">=", ">", "==")

# The keywords whose pass or fail is a verdict on the cloud: each publishes one expectation
# record per comparison it judges. The report reads this list (not the libraries): a name
# here that ran in a run without its record means the run's figures are missing.
VERDICT_KEYWORDS = frozenset({
    "Outage Should Be Shorter Than", "Error Rate Should Be Below",
    "Partial Outage Should Stay Within",
    "No Requests Should Be Lost", "Cloud Should Recover Within",
    "Latency Percentile Should Be Below",
    "Load Error Rate Should Be Below", "Load Failure Rate Should Be Below",  # old name, deprecated
    "Load Percentile Should Be Below", "Load Failed Iterations Should Be At Most",
    "Load Max Duration Should Be Below", "Load Throughput Should Be At Least",
    "Load Achieved Rate Should Be At Least",
    "Wait Until Node Serves",
    "Change Should Have Zero Impact",
    "Cluster Should Be Whole Within",
})


def compare(measured: float | None, comparison: str, limit: float) -> bool:
    """Whether ``measured`` meets ``limit``; an unmeasured figure never does."""
    if measured is None:
        return False
    return {"<=": measured <= limit, "<": measured < limit, ">=": measured >= limit,
            ">": measured > limit, "==": measured == limit}[comparison]


def expectation(keyword: str, what: str, limit: float, comparison: str,
                measured: float | None, *, unit: str, subject: str = "",
                uncertainty: float | None = None, passed: bool | None = None,
                case: str | None = None) -> dict[str, Any]:
    """One expectation record (schema 1); ``passed`` defaults to the comparison's result."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {', '.join(COMPARISONS)}, "
                         f"got {comparison!r}")
    return {
        "schema": SCHEMA, "case": current_case() if case is None else case,
        "keyword": keyword, "what": what, "subject": subject,
        "limit": _number(limit), "comparison": comparison, "measured": _number(measured),
        "uncertainty": _number(uncertainty), "unit": unit,
        "passed": compare(measured, comparison, limit) if passed is None else bool(passed),
    }


def publish_expectation(keyword: str, what: str, limit: float, comparison: str,
                        measured: float | None, *, unit: str, subject: str = "",
                        uncertainty: float | None = None,
                        passed: bool | None = None) -> dict[str, Any]:
    """Publishes (and returns) the record of one comparison a verdict keyword judged."""
    record = expectation(keyword, what, limit, comparison, measured, unit=unit,
                         subject=subject, uncertainty=uncertainty, passed=passed)
    met = "met" if record["passed"] else "NOT met"
    shown = "unmeasured" if measured is None else f"{record['measured']:g} {unit}"
    about = f" of {subject}" if subject else ""
    publish(EXPECTATION, record, html.escape(
        f"{what}{about}: {shown} {comparison} {record['limit']:g} {unit}: {met}"))
    return record


def is_marginal(record: dict[str, Any]) -> bool:
    """Within its uncertainty of the limit (DECISIONS); figures without one never are."""
    spread, measured, limit = (record.get("uncertainty"), record.get("measured"),
                               record.get("limit"))
    if not all(isinstance(v, (int, float)) for v in (spread, measured, limit)):
        return False
    if limit == 0:
        return measured <= spread
    return abs(measured - limit) <= spread


def expectation_records(pairs: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The expectation records (schema 1) among published ``(kind, data)`` pairs."""
    return [data for kind, data in pairs
            if kind == EXPECTATION and isinstance(data, dict) and data.get("schema") == SCHEMA]


def read_records(output: str | os.PathLike) -> list[tuple[str, dict]]:
    """Every ``(kind, data)`` pair published into one output.xml, in the order logged."""
    from robot.api import ExecutionResult, ResultVisitor

    found: list[tuple[str, dict]] = []

    class Messages(ResultVisitor):
        def visit_message(self, message) -> None:
            found.extend(extract(message.message))

    ExecutionResult(str(output)).visit(Messages())
    return found


def read_expectations(output: str | os.PathLike) -> list[dict[str, Any]]:
    """Every expectation record (schema 1) of one output.xml, in the order logged."""
    return expectation_records(read_records(output))


def current_case() -> str:
    """The running test's full name, "" outside a test (or outside Robot)."""
    try:
        from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

        builtin = BuiltIn()
        test = builtin.get_variable_value("${TEST NAME}")
        suite = builtin.get_variable_value("${SUITE NAME}")
    except (ImportError, RobotNotRunningError):
        return ""
    return f"{suite}.{test}" if test is not None and suite is not None else ""


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None

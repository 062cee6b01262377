"""How libraries leave measured figures in a Robot run, and how the report finds them.

A library calls :func:`publish` inside a keyword: it logs an HTML message that shows a
human summary in log.html and carries the full figures as JSON in a
``<script type="application/json" data-extreme="KIND">`` element. The message lands in
output.xml (and survives pabot's merge), so the sign-off report reads the very figures
the run measured: :func:`extract` finds them again in a message's text.

Verdict keywords (declared with :func:`verdict`, listed by :data:`VERDICT_KEYWORDS`) publish
one ``expectation`` record (schema 1) per comparison with :func:`publish_expectation`;
readers: :func:`expectation_records` (from ``(kind, data)`` pairs), :func:`read_records` and
:func:`read_expectations` (from an output.xml), :func:`is_marginal`. The report imports this
module, never a keyword library: it finds a run's verdicts by their ``verdict`` tag.
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
# record per comparison it judges. They say so themselves with `verdict` (instead of
# Robot's ``@keyword``), which registers the name and tags the keyword ``verdict``: the tag
# lands in output.xml, so the report finds the verdicts of a run without importing a
# keyword library, and a verdict that passed without its record is "figures missing".
VERDICT_TAG = "verdict"
_VERDICTS: set[str] = set()


def verdict(name: Any = None, tags: tuple[str, ...] = (), types: Any = ()) -> Any:
    """Robot's ``@keyword`` for a verdict keyword: ``@verdict`` or ``@verdict("Name")``."""
    from robot.api.deco import keyword
    from robot.utils import printable_name

    def register(function: Any) -> Any:
        function = keyword(name, tags=(*tags, VERDICT_TAG), types=types)(function)
        _VERDICTS.add(name or printable_name(function.__name__, code_style=True))
        return function

    if callable(name):  # bare @verdict
        function, name = name, None
        return register(function)
    return register


def is_verdict(tags: Iterable[str]) -> bool:
    """Whether a keyword that ran (its tags, as output.xml keeps them) is a verdict."""
    return VERDICT_TAG in tags


def __getattr__(name: str) -> Any:
    # VERDICT_KEYWORDS is computed: the verdicts of every keyword library imported so far
    # (this module never imports one; a Robot run has imported those it uses).
    if name == "VERDICT_KEYWORDS":
        return frozenset(_VERDICTS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

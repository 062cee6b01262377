"""How a QA author writes a rate or a percentile, the same in every library.

Rates are percentages: ``1``, ``1%`` and ``1 %`` all mean one percent; a rate must be above 0
and at most 100. Percentiles are ``p95`` or ``95``, above 0 and at most 100. A value that
cannot be read, or is out of range, fails at once naming the rule and the fix.
"""
from __future__ import annotations

RATE_RULE = ("a rate is a percentage above 0 and at most 100, written as a number or with "
             "a % sign: 1 and 1% both mean one percent")
PERCENTILE_RULE = ("a percentile is written p95 or 95, above 0 and at most 100")


class FigureError(ValueError):
    """A written rate or percentile that breaks the rule."""


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def rate(written: str | float, what: str = "rate") -> float:
    """The percentage a QA author wrote: ``'1'``, ``1``, ``'1%'``, ``'0.5 %'`` -> 1.0, 1.0,
    1.0, 0.5. Fails naming the rule when it cannot be read or is not in (0, 100]."""
    text = str(written).strip()
    value = _number(text[:-1].strip() if text.endswith("%") else text)
    if value is None:
        raise FigureError(f"{what} {written!r} cannot be read: {RATE_RULE}.")
    if not 0 < value <= 100:
        hint = (" (to require none at all, count instead: e.g. `Load Failed Iterations "
                "Should Be At Most    0`)" if value <= 0 else "")
        raise FigureError(f"{what} {written!r} is out of range: {RATE_RULE}{hint}.")
    return value


def percentile(written: str | float, what: str = "percentile") -> float:
    """The percentile a QA author wrote: ``'p95'``, ``'95'``, ``95``, ``'P99.9'`` -> 95.0,
    95.0, 95.0, 99.9. Fails naming the rule when it cannot be read or is not in (0, 100]."""
    text = str(written).strip()
    value = _number(text[1:].strip() if text[:1] in ("p", "P") else text)
    if value is None:
        raise FigureError(f"{what} {written!r} cannot be read: {PERCENTILE_RULE}.")
    if not 0 < value <= 100:
        raise FigureError(f"{what} {written!r} is out of range: {PERCENTILE_RULE}.")
    return value

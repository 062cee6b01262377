"""The target's ``safeguards:`` section (see variables/example-3-controllers.yaml).

::

    safeguards:
      preflight:                # before the first destructive or change case of the run
        checks:                 # keywords that must pass besides the steady state
          - Cluster Should Be Whole Within    30 s
      emergency:                # watched while a destructive or change case runs
        longest_outage: 120 s   # the monitor's overall outage so far (union of probes)
        error_rate: {limit: 40, over: 2 min}   # % of the monitor's samples in a window
        node_off: 5 min         # a node the run powered off and has not powered on
        probes: {read-servers: 90 s}            # one probe's own outage so far
      poll: 1 s                 # how often the limits are checked
      stop_within: 2 min        # the bound `extreme stop` waits for the undo and the end

The pre-flight gate, the degraded-cloud rule and the kill switch are always on. Emergency
limits are the operator's choice: none on an operator's cloud unless the section sets
them; the lab's are in variables/lab-expectations.yaml (folded into the lab's target at
every load), and a lab target without the section (a file written before it existed) gets
the same :data:`LAB_EMERGENCY`, so the planted-emergency test means something.
Every problem is one line naming the key and the fix, before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import TargetError
from ..target import Target
from ..vocabulary import FigureError, rate

# The lab's emergency limits: far above anything a healthy case shows (its longest planned
# outage is the switch restart's 40 s limit; a controller stays off 60 s; a whole-cluster
# case fails every request for 10-40 s, a third of a 2 min window at most), so that only a
# case gone wrong trips them: 3x the longest outage, half the requests failing for 3 min,
# a node off 5x as long as planned.
LAB_EMERGENCY = {"longest_outage": "120 s", "error_rate": {"limit": 50, "over": "3 min"},
                 "node_off": "5 min"}
KEYS = {"preflight", "emergency", "poll", "stop_within"}
EMERGENCY_KEYS = {"longest_outage", "error_rate", "node_off", "probes"}
EXAMPLE = "see variables/example-3-controllers.yaml"


@dataclass(frozen=True)
class Limits:
    """Emergency limits in seconds and percent; None: not watched."""

    longest_outage: float | None = None
    error_rate: float | None = None
    error_rate_over: float = 120.0
    node_off: float | None = None
    probes: dict[str, float] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.longest_outage, self.error_rate,
                                           self.node_off)) or bool(self.probes)


@dataclass(frozen=True)
class Settings:
    limits: Limits = field(default_factory=Limits)
    checks: tuple[tuple[str, ...], ...] = ()  # pre-flight keywords with their arguments
    poll: float = 1.0
    stop_within: float = 120.0


def seconds(value: Any, what: str) -> float:
    from robot.utils import timestr_to_secs

    try:
        result = float(timestr_to_secs(value))
    except (ValueError, TypeError):
        raise TargetError(f"safeguards: {what} {value!r} is not a time: write e.g. 90 s "
                          f"or 5 min ({EXAMPLE}).") from None
    if result <= 0:
        raise TargetError(f"safeguards: {what} must be above 0 s, got {value!r}.")
    return result


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TargetError(f"safeguards: '{what}' must be a mapping ({EXAMPLE}).")
    return value


def _limits(section: dict[str, Any]) -> Limits:
    unknown = sorted(set(section) - EMERGENCY_KEYS)
    if unknown:
        raise TargetError(f"safeguards.emergency: unknown keys {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(EMERGENCY_KEYS))}.")
    error_rate, over = None, 120.0
    written = section.get("error_rate")
    if written is not None:
        if isinstance(written, dict):
            if set(written) - {"limit", "over"} or "limit" not in written:
                raise TargetError("safeguards.emergency.error_rate must be a percentage or "
                                  "{limit: <%>, over: <time>}.")
            over = seconds(written.get("over", "2 min"), "emergency.error_rate.over")
            written = written["limit"]
        try:
            error_rate = rate(written, "safeguards.emergency.error_rate")
        except FigureError as error:
            raise TargetError(str(error)) from None
    probes = {str(name): seconds(limit, f"emergency.probes.{name}")
              for name, limit in _mapping(section.get("probes"), "emergency.probes").items()}
    return Limits(
        longest_outage=None if section.get("longest_outage") is None else
        seconds(section["longest_outage"], "emergency.longest_outage"),
        error_rate=error_rate, error_rate_over=over,
        node_off=None if section.get("node_off") is None else
        seconds(section["node_off"], "emergency.node_off"),
        probes=probes)


def _checks(preflight: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    unknown = sorted(set(preflight) - {"checks"})
    if unknown:
        raise TargetError(f"safeguards.preflight: unknown keys {', '.join(unknown)}; "
                          f"known: checks.")
    checks = preflight.get("checks") or []
    if not isinstance(checks, list):
        raise TargetError("safeguards.preflight.checks must be a list of keywords, each "
                          "'Keyword Name    arg    arg' (four spaces between) or a list.")
    found = []
    for index, check in enumerate(checks, 1):
        if isinstance(check, str):
            parts = tuple(p.strip() for p in check.split("    ") if p.strip())
        elif isinstance(check, list) and check and all(isinstance(p, (str, int, float))
                                                      for p in check):
            parts = tuple(str(p) for p in check)
        else:
            parts = ()
        if not parts:
            raise TargetError(f"safeguards.preflight.checks #{index} must be a keyword "
                              f"name (and its arguments).")
        found.append(parts)
    return tuple(found)


def is_lab(target: Target) -> bool:
    return target.data.get("name") == "lab" and isinstance(target.data.get("lab"), dict)


def settings(target: Target) -> Settings:
    """The target's safeguards; fails naming the key and the fix on a bad section."""
    if "safeguards" not in target.data and is_lab(target):
        return Settings(limits=_limits(dict(LAB_EMERGENCY)))
    section = _mapping(target.data.get("safeguards"), "safeguards")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise TargetError(f"Target file {target.path}: safeguards has unknown keys "
                          f"{', '.join(unknown)}; known: {', '.join(sorted(KEYS))}.")
    return Settings(
        limits=_limits(_mapping(section.get("emergency"), "safeguards.emergency")),
        checks=_checks(_mapping(section.get("preflight"), "safeguards.preflight")),
        poll=seconds(section.get("poll", 1), "poll"),
        stop_within=seconds(section.get("stop_within", "2 min"), "stop_within"))

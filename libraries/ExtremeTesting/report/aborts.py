"""A run the safeguards ended early, as the report reads it.

From output.xml alone (the test messages the Safeguards library writes), and, when the
report is given the target, from the run's safeguard events beside the ledger
(:mod:`ExtremeTesting.safeguards.journal`: the figures of the trip, what was undone and
how long it took, who stopped the run, the pre-flight's checks):

- ``safeguard``: a case failed ``ABORTED BY SAFEGUARD: <what> <figure>, limit <limit> at
  <time> in <case>; undone in <s>: ...``;
- ``stopped``: ``extreme stop``, SIGINT or SIGTERM (``STOPPED by ...``; Robot's
  "Execution terminated by signal"; pabot's "User interrupted Pabot execution");
- ``preflight``: the pre-flight gate failed, ``NOT STARTED: pre-flight failed: ...``.

Each makes the run's verdict ABORTED (exit status 4). A case that left the cloud degraded
is not an abort (the run goes on with the non-destructive suites): the report names it
and the cases it kept from running (``NOT RUN: the cloud was left degraded by ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SAFEGUARD = "ABORTED BY SAFEGUARD"
NOT_STARTED = "NOT STARTED:"
NOT_RUN = "NOT RUN:"
PREFLIGHT = "NOT STARTED: pre-flight failed:"
STOP_MARKS = ("STOPPED by ", "Execution terminated by signal",
              "User interrupted Pabot execution", "NOT STARTED: the run was stopped by")
KIND_TEXT = {"safeguard": "ABORTED BY SAFEGUARD: an emergency limit was crossed",
             "stopped": "STOPPED: the run was stopped (extreme stop, SIGINT or SIGTERM)",
             "preflight": "PRE-FLIGHT FAILED: no fault was injected"}


def not_started(message: str) -> bool:
    return message.startswith((NOT_STARTED, NOT_RUN))


@dataclass
class Abort:
    kind: str  # "safeguard", "stopped", "preflight"
    case: str = ""  # the case that tripped or was running
    what: str = ""  # the message: what tripped, when, the figures, what was undone
    not_started: list[Any] = field(default_factory=list)  # Case objects
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return KIND_TEXT[self.kind]

    @property
    def undone(self) -> list[str]:
        """What was undone, with the time it took, from the events."""
        lines = []
        for event in self.events:
            if event.get("event") == "undone":
                what = "; ".join(event.get("undone") or []) or "nothing was left open"
                lines.append(f"{_clock(event)}: undone in {event.get('seconds', 0):.1f} s "
                             f"(process {event.get('pid')}): {what}")
                lines += [f"could NOT undo: {f}" for f in event.get("failed") or []]
        return lines

    @property
    def details(self) -> list[str]:
        lines = []
        for event in self.events:
            kind = event.get("event")
            if kind == "tripped":
                lines.append(f"{_clock(event)}: {event.get('what')} {event.get('measured')}, "
                             f"limit {event.get('limit')} in {event.get('case')}"
                             + (f" ({event['detail']})" if event.get("detail") else ""))
            elif kind == "stop requested":
                lines.append(f"{_clock(event)}: stop requested by {event.get('by')}")
            elif kind == "preflight":
                lines.append(f"{_clock(event)}: pre-flight "
                             f"{'passed' if event.get('passed') else 'FAILED'}: "
                             f"{', '.join(event.get('checks') or [])}"
                             + (f" — {event['detail']}" if event.get("detail") else ""))
        return lines + self.undone


@dataclass
class Degraded:
    case: str
    wrong: str
    not_run: list[Any] = field(default_factory=list)


def _clock(event: dict[str, Any]) -> str:
    wall = event.get("wall")
    return datetime.fromtimestamp(wall).strftime("%H:%M:%S") if isinstance(
        wall, (int, float)) else "?"


def abort_of(cases: list[Any], events: list[dict[str, Any]] | None = None) -> Abort | None:
    """The run's abort, or None. ``cases`` are the report's Case objects."""
    events = events or []
    found: Abort | None = None
    for case in cases:
        message = case.message or ""
        if SAFEGUARD in message and not message.startswith(NOT_STARTED):
            found = Abort("safeguard", case.full_name, message[message.index(SAFEGUARD):])
            break
    if found is None:
        tripped = [e for e in events if e.get("event") == "tripped"]
        if tripped:
            found = Abort("safeguard", str(tripped[0].get("case", "")))
    if found is None:
        stopped = [c for c in cases if any(m in (c.message or "") for m in STOP_MARKS)]
        running = [c for c in stopped if (c.message or "").startswith(STOP_MARKS[:2])]
        if stopped or any(e.get("event") == "stop requested" for e in events):
            # The case that ran: its own message, else the journal's (pabot replaces the
            # messages of every case of a process it interrupted with the same line).
            case = running[0].full_name if running else next(
                (str(e["case"]) for e in events if e.get("event") in {"undone",
                                                                      "stop requested"}
                 and e.get("case")), "")
            first = (running or stopped)[0].message.splitlines()[0] if stopped else ""
            found = Abort("stopped", case, first)
    if found is None:
        for case in cases:
            if (case.message or "").startswith(PREFLIGHT):
                found = Abort("preflight", "", case.message)
                break
    if found is None and any(e.get("event") == "preflight" and not e.get("passed")
                             for e in events):
        found = Abort("preflight")
    if found is None:
        return None
    found.not_started = [c for c in cases if c.status == "SKIP"
                         and (c.message or "").startswith(NOT_STARTED)]
    found.events = [e for e in events if e.get("event") in
                    {"tripped", "undone", "stop requested", "preflight"}]
    return found


def degraded_of(cases: list[Any], events: list[dict[str, Any]] | None = None) -> list[Degraded]:
    """The cases that left the cloud degraded, each with the cases it kept from running."""
    found: dict[str, Degraded] = {}
    for event in events or []:
        if event.get("event") == "degraded":
            found.setdefault(str(event.get("case")), Degraded(str(event.get("case")),
                                                              str(event.get("wrong", ""))))
    prefix = "NOT RUN: the cloud was left degraded by "
    for case in cases:
        message = case.message or ""
        if message.startswith(prefix):
            rest = message[len(prefix):]
            name, _, wrong = rest.partition(" (")
            entry = found.setdefault(name, Degraded(name, wrong.rstrip(")")))
            entry.not_run.append(case)
    return list(found.values())

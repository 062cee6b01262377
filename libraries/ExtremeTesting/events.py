"""Fault events on one timeline, shared by every library in a Robot process.

The Faults, Power and Switch libraries publish what they did (requested, in effect,
undone) here; the Monitor and Load libraries read the events that fall inside their own
run, so faults and measurements are drawn on the same clock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

_LOCK = threading.Lock()
_EVENTS: list["Event"] = []
_MAX_EVENTS = 10_000


@dataclass(frozen=True)
class Event:
    source: str  # "faults", "power", "switch", ...
    phase: str  # "requested", "in effect", "undone", "failed"
    action: str  # "restart", "power off", ...
    target: str  # "keystone on ctl1", "ctl1", "sw1"
    fault_id: str = ""
    detail: str = ""
    monotonic: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        return asdict(self)


def publish(source: str, phase: str, action: str, target: str, fault_id: str = "",
            detail: str = "", monotonic: float | None = None) -> Event:
    """Puts an event on the timeline, now or at an earlier ``monotonic`` time (a moment
    a keyword learnt of only afterwards, e.g. the start of the reading that found it)."""
    if monotonic is None:
        event = Event(source, phase, action, target, fault_id, detail)
    else:
        wall = time.time() - (time.monotonic() - monotonic)
        event = Event(source, phase, action, target, fault_id, detail, monotonic, wall)
    with _LOCK:
        _EVENTS.append(event)
        del _EVENTS[:-_MAX_EVENTS]
    return event


def between(start: float, end: float | None = None) -> list[Event]:
    """Events whose monotonic time lies in [start, end] (end open when None)."""
    with _LOCK:
        return [e for e in _EVENTS
                if e.monotonic >= start and (end is None or e.monotonic <= end)]


def clear() -> None:
    with _LOCK:
        _EVENTS.clear()

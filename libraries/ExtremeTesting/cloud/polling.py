"""Wait for a condition by asking again, with a deadline; never a blind sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from .apierrors import CloudTimeout

T = TypeVar("T")


class GiveUp(Exception):
    """Raised by a check to stop polling at once (e.g. a server went to ERROR)."""


def seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def wait_until(check: Callable[[], tuple[bool, T]], timeout: timedelta | float,
               what: str, interval: float = 0.5, max_interval: float = 3.0,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Call *check* until it returns ``(True, value)``; return the value.

    *check* returns ``(done, last_seen)``; on timeout the error names *what* was awaited
    and the last thing seen. The interval grows from *interval* to *max_interval* and is
    cut so that the last check happens at the deadline.
    """
    limit = seconds(timeout)
    deadline = clock() + limit
    delay = interval
    attempts = 0
    while True:
        attempts += 1
        done, seen = check()
        if done:
            return seen
        remaining = deadline - clock()
        if remaining <= 0:
            raise CloudTimeout(f"Timed out after {limit:g} s ({attempts} checks) waiting "
                               f"until {what}. Last seen: {seen}.")
        sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_interval)

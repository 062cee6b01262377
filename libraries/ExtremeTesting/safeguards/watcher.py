"""The watch kept while a destructive or change case runs, and the stop it obeys.

One :class:`Watcher` per robot process. A background thread calls :meth:`Watcher.check`
every ``poll`` seconds (and at once when a signal or a stop request wakes it):

1. a stop (``extreme stop`` naming this run, or SIGINT/SIGTERM of this process): what the
   run injected is undone at once, the case is interrupted with ``STOPPED: ...``;
2. while a case is *armed* (from the end of its setup to the start of its teardown): the
   emergency limits on the monitor's live samples and on the ledger's open power-offs;
   the first one crossed is written to the journal, everything the run injected is
   undone at once (``undo``: the ledger in reverse, as ``extreme recover``), then the
   case is interrupted with ``ABORTED BY SAFEGUARD: ...``.

Both happen once per process. The thread, the clock and every source are injected, so
the unit tests drive :meth:`check` with a fake clock and fake figures, without sleeping.

What the watch costs: judging the samples means reading every sample of the horizon
(190 s on the lab: some 27,000 samples of the API and data-plane probes) at every poll,
15-21 ms of CPU on an AMD EPYC 2-core machine (2 % of a core at one poll a second,
bench/monitor_overhead.py), taken from the cloud being measured. A sample that failed
was counted when it ended, after it started: while no failure count of a running monitor
has changed for a whole horizon, no failed sample started inside it, so no outage and no
error is there to judge, and the watch reads nothing (``failures``).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .config import Settings
from .journal import DEGRADED, STOP, TRIPPED, UNDONE, Journal, clock
from .triggers import PowerOff, SampleLike, Trip, check_monitor, check_nodes

LOG = logging.getLogger(__name__)
ABORTED = "ABORTED BY SAFEGUARD"
HORIZON_SLACK = 10.0  # s of samples read before the longest limit
STOPPED = "STOPPED"


@dataclass
class UndoResult:
    """What an undo did: the ledger lines it undid, those it could not, how long it took."""

    undone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def text(self) -> str:
        if not self.undone and not self.failed:
            return f"nothing was left to undo ({self.seconds:.1f} s)"
        parts = [f"undone in {self.seconds:.1f} s: {'; '.join(self.undone) or 'none'}"]
        if self.failed:
            parts.append(f"could NOT undo: {'; '.join(self.failed)} — run `extreme recover`")
        return ", ".join(parts)


Samples = Mapping[str, Sequence[SampleLike]]
Failures = Mapping[str, tuple[int, int]]  # probe -> (its timeline's identity, failures)


class Watcher:
    def __init__(self, settings: Settings, journal: Journal, *,
                 samples: Callable[[float], Samples | None] = lambda since: None,
                 failures: Callable[[], Failures | None] = lambda: None,
                 power_offs: Callable[[], list[PowerOff]] = list,
                 stop_request: Callable[[], dict | None] = lambda: None,
                 undo: Callable[[], UndoResult] = UndoResult,
                 interrupt: Callable[[str], None] = lambda message: None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.settings = settings
        self.journal = journal
        self._samples = samples
        self._failures = failures
        self._failures_seen: Failures | None = None
        self._failures_changed = float("-inf")  # monotonic: when the counts last changed
        self._power_offs = power_offs
        self._stop_request = stop_request
        self._undo = undo
        self._interrupt = interrupt
        self._monotonic = monotonic
        self._wall = wall
        self.case = ""  # the armed case ("" when none)
        self.tripped: Trip | None = None
        self.tripped_case = ""
        self.stopped = ""  # who stopped the run ("" while not stopped)
        self.message = ""  # what the interrupted case was told
        self.undo_result: UndoResult | None = None
        self.signalled = ""  # set by a signal handler: the signal's name
        self.stopping = threading.Event()  # set once the run is being stopped
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    # -- arming ---------------------------------------------------------------------------

    def arm(self, case: str) -> None:
        self.case = case
        self.start()

    def disarm(self) -> None:
        self.case = ""

    # -- the checks -------------------------------------------------------------------------

    def check(self) -> str:
        """One round; returns what it did: "", "stopped" or "tripped"."""
        with self._lock:
            if self.tripped is not None or self.stopped:
                return ""
            by = self.signalled
            if not by:
                request = self._stop_request()
                by = request.get("by", "extreme stop") if request else ""
            if by:
                self._stop(by)
                return "stopped"
            if not self.case:
                return ""
            trip = self._trip()
            if trip is None:
                return ""
            self._abort(trip)
            return "tripped"

    def _trip(self) -> Trip | None:
        limits = self.settings.limits
        if not limits.any:
            return None
        wall, now = self._wall(), self._monotonic()
        # Only what can still cross a limit: a longer outage crossed it at an earlier poll.
        horizon = max([limits.longest_outage or 0.0, limits.error_rate_over,
                       *limits.probes.values()]) + HORIZON_SLACK
        samples = self._samples(now - horizon) if self._failed_within(now, horizon) else None
        if samples:
            trip = check_monitor(limits, samples, now, wall)
            if trip is not None:
                return trip
        return check_nodes(limits, self._power_offs(), wall)

    def _failed_within(self, now: float, horizon: float) -> bool:
        """Whether a running monitor may hold a failed sample sent in the last ``horizon``
        seconds: its failure counts changed within it (True when they are not known)."""
        counts = self._failures()
        if counts is None:
            return True
        if counts != self._failures_seen:
            self._failures_seen = dict(counts)
            if any(failed for _, failed in counts.values()):
                self._failures_changed = now
        return now - self._failures_changed <= horizon

    def _abort(self, trip: Trip) -> None:
        case = self.case
        self.tripped = trip
        self.tripped_case = case
        self.journal.append(TRIPPED, case=case, **trip.as_dict())
        result = self._run_undo()
        self.message = (f"{ABORTED}: {trip.text()} at {clock(trip.when)} in {case}; "
                        f"{result.text()}. The remaining destructive and change cases are "
                        f"not started.")
        _console(self.message)
        self._interrupt(self.message)

    def _stop(self, by: str) -> None:
        self.stopped = by
        self.stopping.set()
        if self.signalled:  # `extreme stop` writes its own event
            self.journal.append(STOP, by=by, case=self.case)
        result = self._run_undo()
        self.message = (f"{STOPPED} by {by} at {clock(self._wall())}"
                        f"{' in ' + self.case if self.case else ''}; {result.text()}. The "
                        f"remaining cases are not started.")
        _console(self.message)
        if self.case and not self.signalled:  # a signal: Robot stops the case itself
            self._interrupt(self.message)

    def _run_undo(self) -> UndoResult:
        started = self._monotonic()
        try:
            result = self._undo()
        except Exception as error:  # noqa: BLE001 - the journal must say it failed
            result = UndoResult(failed=[f"the undo failed: {error}"])
        result.seconds = self._monotonic() - started
        self.undo_result = result
        self.journal.append(UNDONE, case=self.case, seconds=round(result.seconds, 3),
                            undone=result.undone, failed=result.failed)
        return result

    def left_degraded(self, case: str, wrong: str) -> None:
        self.journal.append(DEGRADED, case=case, wrong=wrong)

    # -- the thread -------------------------------------------------------------------------

    def wake(self, signal_name: str = "") -> None:
        """From a signal handler: only flags and an event (no I/O, no lock)."""
        if signal_name and not self.signalled:
            self.signalled = signal_name
        self._wake.set()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._closed.clear()
            self._thread = threading.Thread(target=self._loop, name="extreme-safeguards",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.settings.poll)
            self._wake.clear()
            if self._closed.is_set():
                break
            try:
                self.check()
            except Exception as error:  # noqa: BLE001 - the watch must go on
                LOG.error(f"Safeguards: a check failed: {error}")

    def close(self, timeout: float = 5.0) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def _console(message: str) -> None:
    """Said on the console at once (Robot ignores log messages of other threads)."""
    LOG.error(message)
    try:
        if sys.__stderr__ is not None:
            sys.__stderr__.write(f"[ SAFEGUARDS ] {message}\n")
            sys.__stderr__.flush()
    except (OSError, ValueError):
        pass

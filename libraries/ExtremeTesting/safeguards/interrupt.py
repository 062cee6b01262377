"""Interrupting the running case from the watch thread, the way Robot's own timeouts do.

Robot stops a keyword that overruns its timeout by raising ``TimeoutExceeded`` from a
signal handler in the main thread (``SIGALRM``); nothing catches it on the way (neither
``Wait Until Keyword Succeeds`` nor ``Run Keyword And Ignore Error``), a sleep or a wait
is cut short, the test fails with the message and its teardown runs. The watch thread
does the same with ``SIGUSR1`` sent to the main thread, only while a keyword of an armed
case runs (never in a teardown: the case is disarmed when its teardown starts), and sends
it again until it lands.

:func:`chain_stop_signals` puts a small handler in front of Robot's SIGINT/SIGTERM
handler: it only wakes the watcher (which undoes at once), then lets Robot stop the run
as it always does.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from robot.errors import TimeoutExceeded

SIGNAL = signal.SIGUSR1
RETRY = 0.2  # s between two deliveries


def robot_runs_a_keyword() -> bool:
    try:
        from robot.running.signalhandler import STOP_SIGNAL_MONITOR
    except ImportError:  # pragma: no cover - Robot is a dependency
        return True
    return bool(getattr(STOP_SIGNAL_MONITOR, "_running_keyword", True))


class Interrupter:
    """Raises ``TimeoutExceeded(message)`` in the main thread of an armed case."""

    def __init__(self, running_keyword: Callable[[], bool] = robot_runs_a_keyword):
        self.armed = False
        self._message = ""
        self._landed = threading.Event()
        self._running_keyword = running_keyword
        self._main = threading.main_thread().ident
        self.installed = False

    def install(self) -> None:
        """Register the handler; only possible from the main thread (a library's import)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(SIGNAL, self.handle)
            self.installed = True

    def handle(self, signum=None, frame=None) -> None:
        if self.armed and self._message and self._running_keyword():
            message, self._message = self._message, ""
            self.armed = False
            self._landed.set()
            raise TimeoutExceeded(message)

    def deliver(self, message: str, attempts: int = 150) -> bool:
        """Interrupt the case with ``message``; True when it landed (at most
        ``attempts`` x :data:`RETRY` seconds; False when the case ended first)."""
        if not self.installed:
            return False
        self._landed.clear()
        self._message = message
        for _ in range(attempts):
            if not self.armed:
                break
            signal.pthread_kill(self._main, SIGNAL)
            if self._landed.wait(RETRY):
                return True
        self._message = ""
        return self._landed.is_set()


def chain_stop_signals(wake: Callable[[str], None]) -> None:
    """Before Robot's SIGINT/SIGTERM handler (which stops the run gracefully), wake the
    watcher with the signal's name."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if getattr(previous, "extreme_safeguards", False):
            continue

        def handler(number, frame, previous=previous):
            wake(signal.Signals(number).name)
            if callable(previous):
                previous(number, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(number, signal.SIG_DFL)
                signal.raise_signal(number)

        handler.extreme_safeguards = True
        signal.signal(signum, handler)

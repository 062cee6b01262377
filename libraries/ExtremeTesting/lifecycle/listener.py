"""The one scope listener: what a test or suite changed is undone when it ends, whatever
its outcome, and an undo that fails fails its test.

Every library that changes the cloud gives Robot a ``ScopeListener`` over its owner (a
:class:`~.tracker.Tracker`, or any object with the same few members: ``scope``,
``pending``, ``undo``, ``undo_failed``, ``forget``, ``release_lock_if_clean``,
``release_lock``). At the end of a test it undoes, newest first, the pending entries of
that test; at the end of a suite those of the suite (its tests and child suites
included); at the end of the run everything left. An exception while undoing (or while
writing the ledger) does not stop the others: the entry stays open in the ledger for
``extreme recover``, the owning test is marked FAIL with "could not undo <fault>: the
cloud may be left broken — run `extreme recover`" (for a suite's fault: its teardown,
when it has one, and its message), and the pabot lock is released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol

from robot.api import logger

from .ledger import Entry
from .scope import Scope, full_name

LOG = logging.getLogger(__name__)


class Level(Enum):
    """When the listener undoes by itself: TEST (a test's changes at its end, a suite's at
    the suite's end), SUITE (everything at the suite's end), MANUAL (never)."""

    TEST = "TEST"
    SUITE = "SUITE"
    MANUAL = "MANUAL"


class Owner(Protocol):
    scope: Scope
    pending: list[Entry]

    def undo(self, entry: Entry) -> None: ...
    def undo_failed(self, entry: Entry, error: str) -> None: ...
    def forget(self, entry: Entry) -> None: ...
    def release_lock_if_clean(self) -> None: ...
    def release_lock(self) -> None: ...


def undo_failure(entry: Entry, error: BaseException | str) -> str:
    """The message of an undo that failed, as tests, suites and the report show it."""
    who = entry.test or entry.suite or "an earlier run"
    return (f"could not undo {entry.step.describe()}: the cloud may be left broken — run "
            f"`extreme recover`. {error} (fault {entry.id}, injected by {who})")


def undo_entries(owner: Owner, entries: list[Entry],
                 log: Callable[[str], None] = LOG.error) -> list[str]:
    """Undo ``entries`` newest first, carrying on past any failure; returns the failures.

    A failed entry is recorded in the ledger (when it can be) and no longer tracked: it
    is ``extreme recover``'s now, and the lock can be released."""
    failures = []
    for entry in reversed(entries):
        try:
            owner.undo(entry)
        except Exception as error:  # noqa: BLE001 - whatever fails, undo the others
            message = undo_failure(entry, error)
            failures.append(message)
            try:
                owner.undo_failed(entry, str(error))
            except Exception as ledger_error:  # noqa: BLE001 - e.g. disk full
                message += f" The ledger could not record it either: {ledger_error}"
            owner.forget(entry)
            log(message)
    return failures


def _in_suite(entry: Entry, suite: str) -> bool:
    return entry.suite == suite or entry.suite.startswith(suite + ".")


class ScopeListener:
    """Robot listener (API 3) that keeps ``owner.scope`` current and undoes at scope end."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, owner: Owner, level: Callable[[], Level | str] = lambda: Level.TEST,
                 at_run_end: Callable[[], None] | None = None):
        self.owner = owner
        self.level = level
        self.at_run_end = at_run_end

    def _level(self) -> Level:
        return Level(getattr(self.level(), "value", self.level()))

    def start_suite(self, data, result) -> None:
        self.owner.scope.suites.append(full_name(result))

    def start_test(self, data, result) -> None:
        self.owner.scope.test = full_name(result)

    def end_test(self, data, result) -> None:
        name = full_name(result)
        failures = []
        if self._level() is Level.TEST:
            failures = undo_entries(self.owner, [e for e in self.owner.pending if e.test == name],
                                    logger.error)
        self.owner.scope.test = ""
        self._release(self.owner.release_lock_if_clean)
        if failures:
            result.status = "FAIL"
            note = "\n".join(failures)
            result.message = f"{result.message}\n\n{note}" if result.message else note

    def _undo_suite(self, suite: Any) -> list[str]:
        if self._level() is Level.MANUAL:
            return []
        name = full_name(suite)
        root = len(self.owner.scope.suites) <= 1 and getattr(suite, "parent", None) is None
        entries = list(self.owner.pending) if root else \
            [e for e in self.owner.pending if _in_suite(e, name)]
        return undo_entries(self.owner, entries, logger.error)

    def end_keyword(self, data, result) -> None:
        """A suite's teardown: its faults are undone as its last step, so that a failed
        undo fails the teardown (its FAIL status is in output.xml, where the report reads
        it)."""
        suite = getattr(result, "parent", None)
        if getattr(result, "type", "") != "TEARDOWN" or not hasattr(suite, "suites"):
            return
        failures = self._undo_suite(suite)
        if failures:
            note = "\n".join(failures)
            result.status = "FAIL"
            result.message = f"{result.message}\n\n{note}" if result.message else note
            suite.message = f"{suite.message}\n\n{note}" if suite.message else note

    def end_suite(self, data, result) -> None:
        scope = self.owner.scope
        root = len(scope.suites) <= 1 and getattr(result, "parent", None) is None
        failures = self._undo_suite(result)  # a suite without a teardown
        if scope.suites:
            scope.suites.pop()
        self._release(self.owner.release_lock if root else self.owner.release_lock_if_clean)
        if root and self.at_run_end is not None:
            self.at_run_end()
        if failures:
            note = "\n".join(failures)
            result.message = f"{result.message}\n\n{note}" if result.message else note

    def close(self) -> None:
        self._release(self.owner.release_lock)

    @staticmethod
    def _release(release: Callable[[], None]) -> None:
        try:
            release()
        except Exception as error:  # noqa: BLE001 - a lock server gone must not hide results
            logger.error(f"Could not release the pabot lock: {error}")

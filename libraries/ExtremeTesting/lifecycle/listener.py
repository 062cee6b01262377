"""The one scope listener: what a test or suite owns is given back when it ends.

Every library that holds something for a test or suite (a fault, a change, a background
load, a running monitor, a cloud resource, a temporary persona) gives Robot one
``ScopeListener``; no library hand-rolls ``start_suite``/``end_test``. The listener keeps
the scope (the test and suites running) and calls the library's hooks, a
:class:`ScopedResources`: ``scope_started``, ``scope_ended`` (what it returns fails the
test, or is added to the suite's message), ``fixture_started`` and ``fixture_ended`` (a
test's or suite's setup or teardown), ``suite_teardown_ended`` and ``run_ended``.

Changes written to the ledger (faults, drains, files, power, switch ports) use the ledger
flavour of those hooks, :class:`LedgerScopes`, which ``ScopeListener(owner)`` builds for an
owner that is not a ``ScopedResources``: what a test or suite changed is undone when it
ends, whatever its outcome, and an undo that fails fails its test.

Such an owner is (a
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
    def closed_meanwhile(self, entry: Entry) -> str: ...
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
    is ``extreme recover``'s now, and the lock can be released. One the ledger already
    closed is only no longer tracked: not every undo can run twice."""
    failures = []
    for entry in reversed(entries):
        if owner.closed_meanwhile(entry):  # a safeguard's abort or recover undid it first
            owner.forget(entry)
            continue
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


class ScopedResources:
    """What a library holds per test or suite, given back by the one :class:`ScopeListener`.

    ``kind`` is ``"test"`` or ``"suite"``, ``name`` the Robot full name, ``result`` Robot's
    running result (its ``parent`` is None for the top suite). Hooks not overridden do
    nothing. ``scope_ended`` and ``suite_teardown_ended`` return failures: messages that
    fail the test (or join the suite's message) and never stop the other hooks."""

    def scope_started(self, kind: str, name: str, result: Any) -> None:
        """A test or suite starts."""

    def scope_ended(self, kind: str, name: str, result: Any) -> list[str]:
        """A test or suite ended: give back what it held."""
        return []

    def fixture_started(self, fixture: str, kind: str, name: str, result: Any) -> None:
        """A test's or suite's setup or teardown starts: ``fixture`` is ``"setup"`` or
        ``"teardown"``, ``kind`` and ``name`` those of its test or suite (a user keyword's
        own setup or teardown is not one)."""

    def fixture_ended(self, fixture: str, kind: str, name: str, result: Any) -> None:
        """A test's or suite's setup or teardown ended (a suite's teardown: after
        ``suite_teardown_ended``)."""

    def suite_teardown_ended(self, suite: Any) -> list[str]:
        """A suite's teardown ends (before ``scope_ended`` of the suite)."""
        return []

    def run_ended(self) -> None:
        """The run ends (Robot's ``close``): give back everything left."""


class LedgerScopes(ScopedResources):
    """The ledger's hooks: changes written to the ledger are undone at the end of their
    test or suite (per ``level``), the pabot lock released when nothing is left."""

    def __init__(self, owner: Owner, level: Callable[[], Level | str] = lambda: Level.TEST,
                 at_run_end: Callable[[], None] | None = None):
        self.owner = owner
        self.level = level
        self.at_run_end = at_run_end

    def _level(self) -> Level:
        return Level(getattr(self.level(), "value", self.level()))

    def scope_started(self, kind: str, name: str, result: Any) -> None:
        if kind == "suite":
            self.owner.scope.suites.append(name)
        else:
            self.owner.scope.test = name

    def scope_ended(self, kind: str, name: str, result: Any) -> list[str]:
        if kind == "test":
            failures = []
            if self._level() is Level.TEST:
                failures = undo_entries(self.owner, [e for e in self.owner.pending
                                                     if e.test == name], logger.error)
            self.owner.scope.test = ""
            _release(self.owner.release_lock_if_clean)
            return failures
        scope = self.owner.scope
        root = len(scope.suites) <= 1 and getattr(result, "parent", None) is None
        failures = self._undo_suite(result)  # a suite without a teardown
        if scope.suites:
            scope.suites.pop()
        _release(self.owner.release_lock if root else self.owner.release_lock_if_clean)
        if root and self.at_run_end is not None:
            self.at_run_end()
        return failures

    def suite_teardown_ended(self, suite: Any) -> list[str]:
        return self._undo_suite(suite)

    def _undo_suite(self, suite: Any) -> list[str]:
        if self._level() is Level.MANUAL:
            return []
        name = full_name(suite)
        root = len(self.owner.scope.suites) <= 1 and getattr(suite, "parent", None) is None
        entries = list(self.owner.pending) if root else \
            [e for e in self.owner.pending if _in_suite(e, name)]
        return undo_entries(self.owner, entries, logger.error)

    def run_ended(self) -> None:
        _release(self.owner.release_lock)


class ScopeListener:
    """The one Robot listener (API 3) of every library that holds something per test or
    suite: it keeps the scope current and calls ``resources``' hooks.

    ``ScopeListener(resources)`` with a :class:`ScopedResources`; ``ScopeListener(owner,
    level, at_run_end)`` with a ledger owner (a :class:`~.tracker.Tracker`) builds its
    :class:`LedgerScopes`."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, owner: Owner | ScopedResources,
                 level: Callable[[], Level | str] = lambda: Level.TEST,
                 at_run_end: Callable[[], None] | None = None):
        self.owner = owner
        self.resources = owner if isinstance(owner, ScopedResources) else \
            LedgerScopes(owner, level, at_run_end)
        self.scope = Scope()

    def start_suite(self, data, result) -> None:
        name = full_name(result)
        self.scope.suites.append(name)
        self.resources.scope_started("suite", name, result)

    def start_test(self, data, result) -> None:
        self.scope.test = full_name(result)
        self.resources.scope_started("test", self.scope.test, result)

    def end_test(self, data, result) -> None:
        failures = self.resources.scope_ended("test", full_name(result), result)
        self.scope.test = ""
        if failures:
            result.status = "FAIL"
            note = "\n".join(failures)
            result.message = f"{result.message}\n\n{note}" if result.message else note

    def start_keyword(self, data, result) -> None:
        """A test's or suite's setup or teardown starts; other keywords pass unseen."""
        fixture = _fixture(result)
        if fixture:
            self.resources.fixture_started(*fixture, result)

    def end_keyword(self, data, result) -> None:
        """A test's or suite's setup or teardown ended. At a suite's teardown what the
        suite holds is given back as its last step, so that a failure fails the teardown
        (its FAIL status is in output.xml, where the report reads it)."""
        fixture = _fixture(result)
        if not fixture:
            return
        suite = result.parent
        if fixture[:2] == ("teardown", "suite"):
            failures = self.resources.suite_teardown_ended(suite)
            if failures:
                note = "\n".join(failures)
                result.status = "FAIL"
                result.message = f"{result.message}\n\n{note}" if result.message else note
                suite.message = f"{suite.message}\n\n{note}" if suite.message else note
        self.resources.fixture_ended(*fixture, result)

    def end_suite(self, data, result) -> None:
        failures = self.resources.scope_ended("suite", full_name(result), result)
        if self.scope.suites:
            self.scope.suites.pop()
        if failures:
            note = "\n".join(failures)
            result.message = f"{result.message}\n\n{note}" if result.message else note

    def close(self) -> None:
        self.resources.run_ended()


def _fixture(result: Any) -> tuple[str, str, str] | None:
    """("setup" or "teardown", "test" or "suite", its full name) when ``result`` is a
    test's or suite's setup or teardown; None for any other keyword."""
    fixture = {"SETUP": "setup", "TEARDOWN": "teardown"}.get(getattr(result, "type", ""))
    parent = getattr(result, "parent", None)
    if fixture is None or parent is None:
        return None
    if hasattr(parent, "suites"):
        return fixture, "suite", full_name(parent)
    if getattr(parent, "type", "") == "TEST":
        return fixture, "test", full_name(parent)
    return None  # a user keyword's own setup or teardown


def _release(release: Callable[[], None]) -> None:
    try:
        release()
    except Exception as error:  # noqa: BLE001 - a lock server gone must not hide results
        logger.error(f"Could not release the pabot lock: {error}")

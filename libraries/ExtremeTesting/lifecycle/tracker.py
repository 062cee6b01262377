"""One library's undoable changes in this process: written down first, undone at scope end.

A library that changes the cloud keeps a :class:`Tracker` and gives the
:class:`~.listener.ScopeListener` over it to Robot::

    self.changes = Tracker(lambda: self.target, ledger)
    self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.changes)

    self.changes.require_destructive("drain ctl1")       # interlock, then the pabot lock
    entry = self.changes.record(Step("drain", None, ["ctl1"]),
                                Step("undrain", None, ["ctl1"]))   # ledger line, fsynced
    ...make the change...                                 # on failure: close(entry, "failed")

``undrain`` is undone through the handler the library registered at import with
:func:`~.registry.register_undo` (the one ``extreme recover`` uses too), or through the
``undo`` callable given to the tracker (a live connection the library already holds).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..target import Target
from .errors import LedgerError, UndoError
from .interlock import require_destructive
from .ledger import Entry, Ledger, Step, default_ledger_path
from .locking import PabotLock, take_destructive_lock
from .private import sweep
from .registry import handler_for, registered
from .scope import Scope

DEFAULT_LOCK_TIMEOUT = 15 * 60.0


class Tracker:
    def __init__(self, target: Callable[[], Target], ledger: str | Path | None = None, *,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 undo: Callable[[Entry], None] | None = None):
        self._target = target
        self._ledger_path = ledger
        self.lock_timeout = lock_timeout
        self._undo = undo
        self.lock: PabotLock | None = None
        self.scope = Scope()
        self.pending: list[Entry] = []  # recorded here, not closed yet, oldest first
        self._swept = False

    @property
    def target(self) -> Target:
        return self._target()

    def ledger(self) -> Ledger:
        ledger = Ledger(self._ledger_path or default_ledger_path(self.target.path))
        if not self._swept:  # the library's start: temporary files of killed runs go
            self._swept = True
            sweep(ledger.path)
        return ledger

    def require_destructive(self, action: str) -> None:
        """The interlock, then (under pabot) the cloud's destructive lock."""
        require_destructive(self.target, action)
        self.lock = take_destructive_lock(self.lock, self.target.name, self.lock_timeout)

    def record(self, step: Step, undo: Step | None = None, *, hold: bool = False,
               entry_id: str = "") -> Entry:
        """Write ``step`` (and the step that undoes it) to the ledger before it is made.

        Entries with an undo, or ``hold`` ones (a change that ends by itself, kept open
        until its scope ends), are undone or closed when their test or suite ends.
        ``entry_id``: the id to use (:func:`~.ledger.new_id`), when the undo names it."""
        test, suite = self.scope.current()
        entry = self.ledger().open_fault(step, undo, test=test, suite=suite,
                                         scope="test" if test else "suite",
                                         target_file=str(self.target.path),
                                         entry_id=entry_id)
        if undo is not None or hold:
            self.pending.append(entry)
        return entry

    def close(self, entry: Entry | str, how: str, detail: str = "") -> None:
        entry_id = entry if isinstance(entry, str) else entry.id
        self.pending = [e for e in self.pending if e.id != entry_id]
        if entry_id:
            self.ledger().close(entry_id, how, detail)

    def closed_meanwhile(self, entry: Entry) -> str:
        """How the ledger closed ``entry`` while this process still tracked it, or "":
        a safeguard's abort or ``extreme recover`` undid it first. (Not every undo can run
        twice: a drain's undo fails once the undo of the node's addition removed it.)"""
        try:
            return next((e.closed for e in self.ledger().entries() if e.id == entry.id), "")
        except (OSError, LedgerError):  # unreadable: undo it, as before
            return ""

    def undo(self, entry: Entry) -> None:
        """Undo one entry (raises when it could not), then close it in the ledger.

        A held entry without an undo step is closed as ``completed``."""
        if self._undo is not None:
            self._undo(entry)
        elif entry.undo is None:
            self.close(entry, "completed", "over by itself; its scope ended")
        else:
            handler = handler_for(entry.undo.action)
            if handler is None:
                raise UndoError(f"no library registered an undo for '{entry.undo.action}' "
                                f"(registered: {', '.join(registered()) or 'none'})")
            handler(entry.undo, self.target)
            self.close(entry, "undone")  # a registry handler never closes it itself
            return
        if entry in self.pending:
            self.close(entry, "undone")

    def undo_failed(self, entry: Entry, error: str) -> None:
        self.ledger().undo_failed(entry.id, error)

    def forget(self, entry: Entry) -> None:
        """Stop tracking ``entry`` (left open in the ledger for ``extreme recover``)."""
        if entry in self.pending:
            self.pending.remove(entry)

    def release_lock_if_clean(self) -> None:
        if self.lock is not None and not self.pending:
            self.lock.release()

    def release_lock(self) -> None:
        if self.lock is not None:
            self.lock.release()

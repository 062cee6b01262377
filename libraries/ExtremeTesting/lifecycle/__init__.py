"""ExtremeTesting.lifecycle: the fault lifecycle beneath every library that changes the cloud.

- :mod:`.ledger`: the crash-safe ledger (every change written and fsynced before it is made);
- :mod:`.locking`: the pabot lock (one destructive test per cloud at a time);
- :mod:`.registry`: undo actions, registered by each library at import;
- :mod:`.interlock`: nothing destructive against a target not marked ``destructive: true``;
- :mod:`.scope`: which test and suite a change belongs to;
- :mod:`.private`: the run's private (0700) folder for temporary files that may hold
  secrets, removed at exit, or by the next start / ``extreme recover`` once its owner died;
- :mod:`.tracker` and :mod:`.listener`: one library's pending changes, and the one
  listener that undoes them when their test or suite ends.

It imports no keyword library (a unit test checks it).
"""

from .errors import LedgerError, LifecycleError, LockTimeoutError, UndoError
from .interlock import require_destructive
from .ledger import Entry, Ledger, Step, default_ledger_path
from .listener import (Level, LedgerScopes, ScopedResources, ScopeListener, undo_entries,
                       undo_failure)
from .locking import PabotLock, destructive_lock, take_destructive_lock
from .registry import handler_for, register_undo, registered, unregister_undo
from .scope import Scope, full_name, robot_scope
from .tracker import Tracker

__all__ = [
    "Entry", "Ledger", "LedgerError", "LedgerScopes", "Level", "LifecycleError",
    "LockTimeoutError", "PabotLock", "Scope", "ScopeListener", "ScopedResources", "Step",
    "Tracker", "UndoError",
    "default_ledger_path", "destructive_lock", "full_name", "handler_for", "register_undo",
    "registered", "require_destructive", "robot_scope", "take_destructive_lock",
    "undo_entries", "undo_failure", "unregister_undo",
]

"""The errors of the fault lifecycle (ledger, lock, undo)."""

from __future__ import annotations

from ..errors import ExtremeError


class LifecycleError(ExtremeError):
    """The ledger, the lock or an undo did not work."""


class LedgerError(LifecycleError):
    """The ledger cannot be read or written: nothing is injected, nothing is guessed."""


class LockTimeoutError(LifecycleError):
    """Another pabot process held the cloud's destructive lock for too long."""


class UndoError(LifecycleError):
    """Undoing a fault failed: the cloud may be left broken."""

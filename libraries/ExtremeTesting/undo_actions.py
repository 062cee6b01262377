"""Every library's undo actions, registered in the lifecycle's registry.

Undoing whatever a run left in the ledger (``extreme recover``, the safeguards' "undo
everything now", a guard process started fresh) needs the handler of every library that
writes to the ledger, and each library registers its handlers when it is imported. This
module is the one place that composes them (as the ``extreme`` command composes the
libraries); the lifecycle and the keyword packages import no other library for it.
"""

from __future__ import annotations


def register_every_undo_action() -> list[str]:
    """Import every library that changes the cloud (each registers its undo actions);
    returns the registered actions."""
    from . import changes, faults, power, switch  # noqa: F401 - importing registers them
    from .lifecycle import registered

    return registered()

"""Undo actions, registered by the libraries that write them, replayed by ``extreme recover``.

A library whose changes are undone by its own action registers a handler at import, for
the undo actions it writes to the ledger::

    register_undo("switch port up", undo_port_down)   # handler(step, target)

The handler raises (any error) when it could not undo. ``extreme recover`` imports every
library (``ExtremeTesting.cli``), so a crashed run's faults are undone whichever library
made them. This module imports no keyword library.
"""

from __future__ import annotations

from collections.abc import Callable

from ..target import Target
from .ledger import Step

UndoHandler = Callable[[Step, Target], None]

_HANDLERS: dict[str, UndoHandler] = {}


def register_undo(action_prefix: str, handler: UndoHandler) -> None:
    """``handler(step, target)`` undoes ledger steps whose action is ``action_prefix`` or
    starts with it and a space; it raises (any error) when it could not."""
    if not action_prefix.strip():
        raise ValueError("register_undo needs a non-empty action prefix")
    _HANDLERS[action_prefix] = handler


def unregister_undo(action_prefix: str) -> None:
    _HANDLERS.pop(action_prefix, None)


def handler_for(action: str) -> UndoHandler | None:
    """The handler of the longest registered prefix of ``action`` (None when none)."""
    found = [p for p in _HANDLERS if action == p or action.startswith(p + " ")]
    return _HANDLERS[max(found, key=len)] if found else None


def registered() -> list[str]:
    return sorted(_HANDLERS)

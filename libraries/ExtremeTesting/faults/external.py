"""Undo actions that do not go through os-faults, replayed by the engine and ``extreme recover``.

Other libraries write their faults to the same ledger (the Switch library: ``switch port
down``, undone by ``switch port up``). The engine only knows os-faults' actions; a library
whose undo is its own registers a handler here, at import, for the undo actions it writes::

    register_undo("switch port up", undo_port_down)   # handler(step, target)

``extreme recover`` imports the libraries named in :data:`EXTENSION_MODULES` first, so a
crashed run's faults are undone whichever library made them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from ..target import Target
from .ledger import Step

LOG = logging.getLogger(__name__)
UndoHandler = Callable[[Step, Target], None]
# Libraries that register undo handlers (or os-faults drivers) when imported.
EXTENSION_MODULES = ("ExtremeTesting.switch", "ExtremeTesting.power", "ExtremeTesting.changes")

_HANDLERS: dict[str, UndoHandler] = {}


def robot_scope() -> tuple[str, str]:
    """The running test's and suite's names, as a library records them with the faults it
    writes to the ledger ("" for the test outside one; both "" outside Robot)."""
    try:
        variables = BuiltIn()
        return (variables.get_variable_value("${TEST NAME}", "") or "",
                variables.get_variable_value("${SUITE NAME}", "") or "")
    except RobotNotRunningError:
        return "", ""


def register_undo(action_prefix: str, handler: UndoHandler) -> None:
    """``handler(step, target)`` undoes ledger steps whose action starts with
    ``action_prefix``; it raises (any error) when it could not."""
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


def load_extensions() -> list[str]:
    """Import the libraries that register handlers; returns those that could not be
    imported (with why), so ``extreme recover`` can say so."""
    missing = []
    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as error:
            LOG.warning("could not import %s: %s", name, error)
            missing.append(f"{name} ({error})")
    return missing

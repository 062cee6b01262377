"""The os-faults undo actions in the lifecycle's undo registry.

``start``, ``unfreeze``, ``plug`` and ``poweron`` undo the Faults library's faults (and the
Power library's power-offs, written with the same ``poweron``). Registered at import, like
every library's undo actions, so a lifecycle :class:`~ExtremeTesting.lifecycle.Tracker`
without a live Faults library (``extreme recover``, another library's teardown) undoes
them through the registry: the handler opens the Faults library on the entry's target
(its os-faults backend) once per target and runs the step with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..lifecycle import Step, register_undo
from ..target import Target

UNDO_ACTIONS = ("start", "unfreeze", "plug", "poweron")
_ENGINES: dict[Path, Any] = {}


def library_for(target: Target):
    """The Faults library of ``target`` (tests give a fake backend here)."""
    from .library import Faults

    return Faults(str(target.path))


def undo_with_os_faults(step: Step, target: Target) -> None:
    """Run the undo ``step`` with the os-faults backend of ``target``; raises when it fails."""
    key = Path(target.path).resolve()
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = library_for(target).engine
    engine.run_undo(step)


def forget_engines() -> None:
    _ENGINES.clear()


for _action in UNDO_ACTIONS:
    register_undo(_action, undo_with_os_faults)

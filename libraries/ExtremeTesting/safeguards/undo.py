"""Undo everything the run injected, now: the ledger in reverse, as ``extreme recover``.

Run inside the robot process that injected (its own entries count as its own, so they are
undone; another live process's are left to it), from the watch thread. The libraries'
own undo at the end of the case runs again afterwards and finds the cloud already
restored: every undo action is idempotent (see ``extreme recover``).

A process stopped by a signal may be killed before it finishes (pabot sends SIGTERM, then
SIGKILL 5 s later): :func:`spawn_guard` starts a detached ``extreme recover`` that waits for
this process to end and then undoes what it left open.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .watcher import UndoResult


def undo_run(target: str | os.PathLike, ledger: str | os.PathLike) -> UndoResult:
    """``extreme recover`` in this process (its own entries are its own to undo); the
    command in a subprocess, with ``--force``, when its function is not where it was."""
    lines: list[str] = []
    started = time.monotonic()
    try:
        from ..faults.cli import recover  # imports every library: every undo is registered
    except ImportError:
        recover = None
    if recover is not None:
        recover(str(target), str(ledger), out=lines.append)
    else:  # pragma: no cover - only if the recover command moved
        run = subprocess.run([sys.executable, "-m", "ExtremeTesting.cli", "recover",
                              "--target", str(target), "--ledger", str(ledger), "--force"],
                             capture_output=True, text=True, timeout=600, check=False)
        lines = run.stdout.splitlines()
    result = UndoResult(seconds=time.monotonic() - started)
    for line in lines:
        if line.startswith("undoing "):
            result.undone.append(line.split(": ", 1)[-1])
        elif line.startswith("FAILED: "):
            result.failed.append(line[len("FAILED: "):])
    return result


def spawn_guard(target: str | os.PathLike, ledger: str | os.PathLike, pid: int,
                start: int, within: float) -> subprocess.Popen | None:
    """A detached process (its own session) that waits at most ``within`` seconds for
    ``pid`` (started at ``start``) to end, then runs ``extreme recover`` on ``ledger``."""
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "ExtremeTesting.safeguards.stop", "--guard", str(pid),
             str(start), "--target", str(target), "--ledger", str(ledger), "--within",
             f"{within:g}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])})
    except OSError:
        return None

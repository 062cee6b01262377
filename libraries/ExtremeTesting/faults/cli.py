"""``extreme recover``: undo whatever a run left open in the fault ledger.

Safe to run any number of times: closed faults are skipped, undo actions are idempotent
(start only where not running, SIGCONT, iptables rule absent, power on, switch port up).
Undo actions other libraries own (the Switch library's ``switch port up``, the Changes
library's ``changes lb ready``, ``changes restore file``, ``changes install packages``, the
cluster faults' ``cluster start members``, ``cluster heal partition``...) are
replayed by the handlers those libraries register in ``lifecycle.registry`` at import:
:func:`recover` has them registered first (``ExtremeTesting.undo_actions``, the one module
that composes them), whichever process runs it; this module imports no other keyword
library. Faults whose
writer process is still alive on this host belong to a live run and are left alone unless
``--force``. The private folders of dead runs (temporary files that may hold secrets, see
``lifecycle.private``) are removed; a live run's never.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from . import clusters  # noqa: F401 - the cluster faults' undo actions
from ..errors import ExtremeError
from ..lifecycle import private
from ..lifecycle.ledger import Ledger, default_ledger_path, pid_alive
from .errors import FaultError

RECOVER_WAIT = 60.0  # s a second 'extreme recover' waits for the first


@contextlib.contextmanager
def exclusive(ledger: Path, wait: float = RECOVER_WAIT) -> Iterator[None]:
    """One ``extreme recover`` per ledger at a time: a second one waits up to ``wait``
    seconds, then refuses naming the first one's PID."""
    path = ledger.with_name(ledger.name + ".recover.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise FaultError(f"Cannot create the recover lock {path}: "
                         f"{error.strerror or error}.") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise FaultError(
                        f"Another 'extreme recover' (PID {holder}) is undoing the faults of "
                        f"{ledger}; waited {wait:g} s. Let it finish, then run again.") \
                        from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="extreme recover", description=__doc__.split("\n\n")[0])
    p.add_argument("--target", help="target file (default: $EXTREME_TARGET, then the lab's)")
    p.add_argument("--ledger", help="fault ledger (default: <target dir>/<name>.ledger.jsonl)")
    p.add_argument("--dry-run", action="store_true", help="list what would be undone")
    p.add_argument("--force", action="store_true",
                   help="also undo faults of runs that still seem alive")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return recover(args.target, args.ledger, dry_run=args.dry_run, force=args.force)
    except ExtremeError as error:
        print(f"extreme recover: {error}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"extreme recover: target file {args.target} is not text: expected a YAML "
              f"target file.", file=sys.stderr)
        return 2


def recover(target: str | None, ledger_path: str | None, *, dry_run: bool = False,
            force: bool = False, library=None, out=print) -> int:
    from ..target import default_target_path, load
    from ..undo_actions import register_every_undo_action

    register_every_undo_action()

    if target is not None:
        load(target)  # exists, is a file, parses: before anything is said or undone
    if ledger_path is None:
        ledger_path = str(default_ledger_path(target or default_target_path()))
    ledger = Ledger(ledger_path)
    with exclusive(ledger.path):
        return _recover(ledger, target, dry_run=dry_run, force=force, library=library,
                        out=out)


def _recover(ledger: Ledger, target: str | None, *, dry_run: bool, force: bool, library,
             out) -> int:
    ledger_path = str(ledger.path)
    entries = ledger.open_entries()
    if ledger.torn:
        out(f"warning: {ledger.torn}")
    for folder in (private.dead_folders if dry_run else private.sweep)(ledger.path):
        out(f"{'would remove' if dry_run else 'removed'} the private folder of a dead run: "
            f"{folder}")
    live = [e for e in entries if not force and pid_alive(e.pid, e.host)]
    todo = [e for e in entries if e not in live]
    for entry in live:
        out(f"skipped {entry.id}: {entry.step.describe()} belongs to running process "
            f"{entry.pid} (use --force to undo it anyway)")
    if not todo:
        out(f"Nothing to recover in {ledger.path}.")
        return 0
    for entry in reversed(todo):
        undo = entry.undo.describe() if entry.undo else "nothing to undo"
        out(f"{'would undo' if dry_run else 'undoing'} {entry.id} from {entry.time} "
            f"({entry.test or entry.suite or 'no test'}): {entry.step.describe()} -> {undo}")
    if dry_run:
        return 0
    target = target or next((e.target_file for e in todo if e.target_file), None)
    engine = library.engine if library is not None else _engine(target, ledger_path, todo)
    engine.log = out
    failures = engine.undo_many(todo)
    for failure in failures:
        out(f"FAILED: {failure}")
    out(f"Recovered {len(todo) - len(failures)} of {len(todo)} open fault(s) in {ledger.path}.")
    return 1 if failures else 0


def _engine(target: str | None, ledger_path: str, todo: list):
    """The Faults library's engine; when the target has no usable os-faults configuration
    and every open fault is undone by another library's handler, an engine without one."""
    from ..lifecycle import Tracker
    from .engine import ACTIONS, Engine
    from .library import Faults

    try:
        return Faults(target, ledger=ledger_path).engine
    except ExtremeError as error:
        if any(e.undo and e.undo.action in ACTIONS for e in todo):
            raise
        from ..target import load

        reason = str(error)

        def no_os_faults():
            raise FaultError(f"No os-faults backend for this target: {reason}")

        loaded = load(target)
        return Engine(Tracker(lambda: loaded, ledger_path), no_os_faults)

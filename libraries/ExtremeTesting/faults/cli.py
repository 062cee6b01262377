"""``extreme recover``: undo whatever a run left open in the fault ledger.

Safe to run any number of times: closed faults are skipped, undo actions are idempotent
(start only where not running, SIGCONT, iptables rule absent, power on, switch port up).
Undo actions other libraries own (the Switch library's ``switch port up``) are replayed by
the handlers those libraries register in ``lifecycle.registry`` at import: this module
imports every library that changes the cloud, so they are all registered. Faults whose
writer process is still alive on this host belong to a live run and are left alone unless
``--force``.
"""

from __future__ import annotations

import argparse
import sys

from .. import power, switch  # noqa: F401 - importing them registers their undo actions
from ..errors import ExtremeError
from ..lifecycle.ledger import Ledger, default_ledger_path, pid_alive
from .errors import FaultError


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


def recover(target: str | None, ledger_path: str | None, *, dry_run: bool = False,
            force: bool = False, library=None, out=print) -> int:
    from ..target import default_target_path

    if ledger_path is None:
        ledger_path = str(default_ledger_path(target or default_target_path()))
    ledger = Ledger(ledger_path)
    entries = ledger.open_entries()
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

        return Engine(load(target), Ledger(ledger_path), no_os_faults)

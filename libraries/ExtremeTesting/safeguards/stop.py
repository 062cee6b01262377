"""``extreme stop``: stop a running run from another terminal, undoing what it broke.

It finds the run through the ledger's folder, never by process name: each robot process
of a run that uses the Safeguards library has a private folder beside the ledger
(``run-<pid>-<start>@<host>``) holding its run's id and root (pabot, or robot itself),
checked against ``/proc/<pid>/stat``'s start time. Then:

1. it writes the stop request (``<ledger stem>.stop.json``) and a ``stop requested``
   event; each process's watcher sees it within its ``poll``, undoes what the run
   injected (the ledger in reverse) and interrupts its case (``STOPPED by ...``);
2. once every process has said what it undid (or ``--within`` passed), it stops the run
   the way Ctrl+C does: SIGINT to pabot, SIGTERM to a robot run alone;
3. it waits for the run to end; whatever is still open in the ledger then (a process
   killed mid-undo) is undone as ``extreme recover`` does.

It prints each step with its time since the stop began. Exit status: 0 the run stopped
and nothing is left open; 1 no run to stop, or the run did not end within the bound, or
something could not be undone (the message says what); 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable

from ..errors import ExtremeError
from ..lifecycle.ledger import Ledger, default_ledger_path, pid_alive
from .journal import STOP, UNDONE, Journal, alive, live_processes, read_events, \
    events_path, request_stop

POLL = 0.2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="extreme stop", description=__doc__.split("\n\n")[0])
    p.add_argument("--target", help="target file (default: $EXTREME_TARGET, then the lab's)")
    p.add_argument("--ledger", help="fault ledger (default: <target dir>/<name>.ledger.jsonl)")
    p.add_argument("--within", type=float, default=None,
                   help="seconds to wait for the undo and for the run to end (default: the "
                        "target's safeguards.stop_within, else 120)")
    p.add_argument("--guard", nargs=2, type=int, metavar=("PID", "START"),
                   help=argparse.SUPPRESS)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from ..target import default_target_path, load

    from .config import settings

    try:
        target = args.target or str(default_target_path())
        within = args.within
        if within is None:
            within = settings(load(target)).stop_within
        elif within <= 0:
            print("extreme stop: --within must be above 0 seconds.", file=sys.stderr)
            return 2
        ledger = args.ledger or str(default_ledger_path(target))
        if args.guard:
            return guard(target, ledger, *args.guard, within=within)
        return stop(ledger, target, within=within)
    except ExtremeError as error:
        print(f"extreme stop: {error}", file=sys.stderr)
        return 2


def stop(ledger: str, target: str, *, within: float = 120.0, out: Callable = print,
         kill: Callable[[int, int], None] = os.kill,
         monotonic: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> int:
    processes = live_processes(ledger)
    if not processes:
        out(f"No run is using {ledger}: nothing to stop (a run registers beside the ledger "
            f"once its first destructive case starts).")
        return 1
    runs = sorted({p.run for p in processes})
    began = monotonic()
    by = f"extreme stop (PID {os.getpid()})"
    request = request_stop(ledger, runs, by)
    for run in runs:
        Journal(ledger, run).append(STOP, by=by, wall=request["wall"])
    out(f"0.0 s  asked run(s) {', '.join(runs)} to stop ({len(processes)} process(es))")

    def since() -> str:
        return f"{monotonic() - began:.1f} s"

    deadline = began + within
    waiting = {p.pid: p for p in processes}
    while waiting and monotonic() < deadline:
        for event in read_events(events_path(ledger)):
            if event.get("event") == UNDONE and event.get("run") in runs and \
                    event.get("wall", 0) >= request["wall"] and event.get("pid") in waiting:
                process = waiting.pop(event["pid"])
                what = "; ".join(event.get("undone") or []) or "nothing was open"
                out(f"{since()}  process {process.pid} undid in {event.get('seconds', 0):.1f}"
                    f" s: {what}")
                for failure in event.get("failed") or []:
                    out(f"{since()}  process {process.pid} could NOT undo: {failure}")
        for pid, process in list(waiting.items()):
            if not alive(pid, process.start):
                waiting.pop(pid)
                out(f"{since()}  process {pid} ended before saying what it undid")
        if waiting:
            sleep(POLL)
    for pid in waiting:
        out(f"{since()}  process {pid} did not answer within {within:g} s")
    roots = {(p.root_pid, p.root_start) for p in processes}
    for root_pid, root_start in sorted(roots):
        if not alive(root_pid, root_start):
            continue
        pabot = root_pid not in {p.pid for p in processes}
        number = signal.SIGINT if pabot else signal.SIGTERM
        kill(root_pid, number)
        out(f"{since()}  sent {number.name} to {'pabot' if pabot else 'robot'} "
            f"(PID {root_pid}) to end the run")
    while any(alive(*root) for root in roots) and monotonic() < deadline:
        sleep(POLL)
    ended = not any(alive(*root) for root in roots)
    out(f"{since()}  " + ("the run ended" if ended else
                         f"the run is still running after {within:g} s"))
    left = [e for e in Ledger(ledger).open_entries() if not pid_alive(e.pid, e.host)]
    code = 0 if ended else 1
    if left:
        from .undo import undo_run

        result = undo_run(target, ledger)
        out(f"{since()}  undid what the run left open: {result.text()}")
        code = 1 if result.failed else code
    out(f"Stopped in {since()}." if code == 0 else "Not everything stopped: see above.")
    return code


def guard(target: str, ledger: str, pid: int, start: int, *, within: float) -> int:
    """Wait for ``pid`` to end (at most ``within`` s), then undo what it left open."""
    deadline = time.monotonic() + within
    while alive(pid, start) and time.monotonic() < deadline:
        time.sleep(POLL)
    if alive(pid, start):
        return 1
    from .undo import undo_run

    return 1 if undo_run(target, ledger).failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

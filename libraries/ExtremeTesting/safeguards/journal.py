"""The run's safeguard events, beside the ledger, shared by every process of the run.

A run is its root process: pabot's under pabot (the parent of each robot process), else
the robot process itself; its id is ``<pid>-<start time>`` (``/proc/<pid>/stat``), so a
PID reused later is another run. Every process of the run appends its events to
``<ledger stem>.safeguards.jsonl`` (one JSON object a line, under ``flock``, fsynced, as
the ledger is), and reads them back folded into a :class:`RunState`: the pre-flight gate
ran once and passed or failed, a safeguard tripped, what was undone, a stop was asked, a
case left the cloud degraded. The destructive lock makes the gate run once: the first
destructive case's setup takes it, runs the gate and writes its event before releasing.

``extreme stop`` finds the run's processes through their private folders
(:mod:`ExtremeTesting.lifecycle.private`: ``run-<pid>-<start>@<host>``, removed when the
process ends), each holding ``safeguards.json`` with its run's id and root, and asks them
to stop through ``<ledger stem>.stop.json``. Nothing is ever found by process name.

It imports no keyword library (the report reads it).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..lifecycle.ledger import write_all
from ..lifecycle.private import NAME, owner_alive, private_root, run_folder, start_time

PREFLIGHT = "preflight"
TRIPPED = "tripped"
UNDONE = "undone"
STOP = "stop requested"
DEGRADED = "degraded"
INFO = "safeguards.json"


def events_path(ledger: str | os.PathLike) -> Path:
    path = Path(ledger)
    return path.with_name(f"{path.stem}.safeguards.jsonl")


def stop_path(ledger: str | os.PathLike) -> Path:
    path = Path(ledger)
    return path.with_name(f"{path.stem}.stop.json")


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


def clock(wall: float) -> str:
    """Local wall-clock time of day, as the operator reads it on the console."""
    return datetime.fromtimestamp(wall).strftime("%H:%M:%S")


def run_id(pid: int, start: int | None) -> str:
    return f"{pid}-{start or 0}"


def run_root(under_pabot: bool) -> tuple[int, int]:
    """(pid, start time) of the run's root: pabot (this process's parent) under pabot."""
    pid = os.getppid() if under_pabot else os.getpid()
    return pid, start_time(pid) or 0


@dataclass
class RunState:
    """What the run's processes wrote so far."""

    run: str
    preflight: dict[str, Any] | None = None
    tripped: dict[str, Any] | None = None
    stop: dict[str, Any] | None = None
    degraded: dict[str, Any] | None = None
    undone: list[dict[str, Any]] = field(default_factory=list)

    @property
    def preflight_failed(self) -> bool:
        return bool(self.preflight) and not self.preflight.get("passed")


class Journal:
    def __init__(self, ledger: str | os.PathLike, run: str):
        self.ledger = Path(ledger)
        self.path = events_path(ledger)
        self.run = run

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        wall = fields.pop("wall", None) or time.time()
        record = {"event": event, "run": self.run, "time": iso(wall), "wall": wall,
                  "pid": os.getpid(), "host": socket.gethostname(), **fields}
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def state(self) -> RunState:
        state = RunState(self.run)
        for record in read_events(self.path):
            if record.get("run") != self.run:
                continue
            kind = record.get("event")
            if kind == PREFLIGHT and state.preflight is None:
                state.preflight = record
            elif kind == TRIPPED and state.tripped is None:
                state.tripped = record
            elif kind == STOP and state.stop is None:
                state.stop = record
            elif kind == DEGRADED and state.degraded is None:
                state.degraded = record
            elif kind == UNDONE:
                state.undone.append(record)
        return state


def read_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every event of the file; unreadable lines (a torn last line) are skipped."""
    try:
        raw = Path(path).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for line in raw.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "event" in record:
            found.append(record)
    return found


def events_between(ledger: str | os.PathLike, start: float, end: float) -> list[dict]:
    """The events written between two wall-clock times (the report's run)."""
    return [e for e in read_events(events_path(ledger))
            if isinstance(e.get("wall"), (int, float)) and start <= e["wall"] <= end]


# -- the stop request ------------------------------------------------------------------

def request_stop(ledger: str | os.PathLike, runs: list[str], by: str) -> dict[str, Any]:
    wall = time.time()
    request = {"runs": runs, "by": by, "wall": wall, "time": iso(wall)}
    path = stop_path(ledger)
    tmp = path.with_name(path.name + f".{os.getpid()}")
    tmp.write_text(json.dumps(request), encoding="utf-8")
    os.replace(tmp, path)
    return request


def stop_requested(ledger: str | os.PathLike, run: str) -> dict[str, Any] | None:
    """The stop request naming ``run``, or None."""
    try:
        request = json.loads(stop_path(ledger).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return request if isinstance(request, dict) and run in request.get("runs", []) else None


# -- the run's processes ---------------------------------------------------------------

def register(ledger: str | os.PathLike, run: str, root: tuple[int, int]) -> Path:
    """Write this process's ``safeguards.json`` into its private folder (made if needed,
    removed when the process ends): how ``extreme stop`` finds it."""
    folder = run_folder(ledger)
    info = {"run": run, "root_pid": root[0], "root_start": root[1], "pid": os.getpid(),
            "start": start_time(os.getpid()) or 0}
    (folder / INFO).write_text(json.dumps(info), encoding="utf-8")
    return folder


@dataclass(frozen=True)
class RunProcess:
    run: str
    pid: int
    start: int
    root_pid: int
    root_start: int


def live_processes(ledger: str | os.PathLike) -> list[RunProcess]:
    """The processes of live runs on this host that registered beside ``ledger``."""
    root = private_root(ledger)
    found = []
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    for folder in folders:
        match = NAME.match(folder.name)
        if not match or match["host"] != socket.gethostname() or not owner_alive(folder.name):
            continue
        try:
            info = json.loads((folder / INFO).read_text(encoding="utf-8"))
            found.append(RunProcess(str(info["run"]), int(info["pid"]), int(info["start"]),
                                    int(info["root_pid"]), int(info["root_start"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def alive(pid: int, start: int) -> bool:
    """Whether ``pid`` is still the process that started at ``start``."""
    return start_time(pid) == start

"""The fault ledger: what was broken, and how to undo it, kept on disk before it happens.

One JSON object a line, appended with a single ``write`` under an exclusive ``flock`` and
``fsync``-ed before the fault is injected, so a runner killed at any instant (SIGKILL
included) leaves a ledger that ``extreme recover`` can finish. Lines are never rewritten:
an ``inject`` line opens a fault, a later ``close`` line (undone, completed, restored)
closes it, an ``undo_failed`` line records a failed attempt and leaves it open. A torn last
line (the process died mid-write) is reported and skipped when reading; any other line that
cannot be read is a :class:`LedgerError` naming the file and the line: recover refuses to
guess.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import LedgerError

INJECT = "inject"
CLOSE = "close"
UNDO_FAILED = "undo_failed"
TORN = "torn"  # written after the line a killed writer left unfinished


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    """A fault's id in the ledger."""
    return uuid.uuid4().hex[:12]


def default_ledger_path(target_path: str | os.PathLike) -> Path:
    """``<target dir>/<target name>.ledger.jsonl``, next to the target file."""
    path = Path(target_path)
    return path.with_name(f"{path.stem}.ledger.jsonl")


@dataclass
class Step:
    """One os-faults action: which, on what, with which arguments."""

    action: str  # "kill", "start", "poweroff", ...
    service: str | None = None  # None: a node action
    nodes: list[str] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        on = ", ".join(self.nodes) or "no node"
        extra = "".join(f" {k}={v}" for k, v in sorted(self.args.items()))
        return f"{self.action} {self.service} on {on}{extra}" if self.service \
            else f"{self.action} {on}{extra}"

    def target_text(self) -> str:
        on = ", ".join(self.nodes)
        return f"{self.service} on {on}" if self.service else on

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "service": self.service, "nodes": list(self.nodes),
                "args": dict(self.args)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Step | None:
        if not data:
            return None
        return cls(data["action"], data.get("service"), list(data.get("nodes") or []),
                   dict(data.get("args") or {}))


@dataclass
class Entry:
    """An injected fault as the ledger knows it."""

    id: str
    time: str
    step: Step
    undo: Step | None
    test: str = ""
    suite: str = ""
    scope: str = "suite"  # "test" or "suite": where it was injected
    target_file: str = ""
    pid: int = 0
    host: str = ""
    closed: str = ""  # how it was closed; "" while open
    failures: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return not self.closed

    def record(self) -> dict[str, Any]:
        return {"op": INJECT, "id": self.id, "time": self.time, "test": self.test,
                "suite": self.suite, "scope": self.scope, "action": self.step.action,
                "target": self.step.target_text(), "step": self.step.as_dict(),
                "undo action": self.undo.action if self.undo else None,
                "undo": self.undo.as_dict() if self.undo else None,
                "target_file": self.target_file, "pid": self.pid, "host": self.host}

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Entry:
        step = Step.from_dict(rec.get("step")) or Step(rec.get("action", "?"))
        return cls(id=rec["id"], time=rec.get("time", ""), step=step,
                   undo=Step.from_dict(rec.get("undo")), test=rec.get("test", ""),
                   suite=rec.get("suite", ""), scope=rec.get("scope", "suite"),
                   target_file=rec.get("target_file", ""), pid=int(rec.get("pid") or 0),
                   host=rec.get("host", ""))


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written; a write of 0 bytes is an error."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(f"short write: {len(view)} of {len(data)} bytes not written")
        view = view[written:]


class Ledger:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.torn: str = ""  # set when the last line was torn (reported, skipped)

    def _append(self, record: dict[str, Any]) -> None:
        """Append one line, fsynced; raises :class:`LedgerError` when it is not on disk
        (the fault must then not be injected)."""
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # A torn line left by a killed writer must not swallow this record.
                if os.fstat(fd).st_size and not self._ends_with_newline(fd):
                    marker = json.dumps({"op": TORN, "time": now_iso()})
                    write_all(fd, f"\n{marker}\n".encode())
                write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise LedgerError(f"Cannot write the fault ledger {self.path}: "
                              f"{error.strerror or error}. Nothing was injected; free the "
                              f"disk or fix the path (library argument ledger).") from None

    @staticmethod
    def _ends_with_newline(fd: int) -> bool:
        return os.pread(fd, 1, os.fstat(fd).st_size - 1) == b"\n"

    def open_fault(self, step: Step, undo: Step | None, *, test: str = "", suite: str = "",
                   scope: str = "suite", target_file: str = "", entry_id: str = "") -> Entry:
        """``entry_id``: the id to use (:func:`new_id`), when the undo step names it."""
        entry = Entry(id=entry_id or new_id(), time=now_iso(), step=step, undo=undo,
                      test=test, suite=suite, scope=scope, target_file=str(target_file),
                      pid=os.getpid(), host=socket.gethostname())
        self._append(entry.record())
        return entry

    def close(self, entry_id: str, how: str, detail: str = "") -> None:
        self._append({"op": CLOSE, "id": entry_id, "time": now_iso(), "how": how,
                      "detail": detail})

    def undo_failed(self, entry_id: str, error: str) -> None:
        self._append({"op": UNDO_FAILED, "id": entry_id, "time": now_iso(), "error": error})

    def records(self) -> Iterator[dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise LedgerError(f"The fault ledger {self.path} is a folder: expected the "
                              f"ledger file (--ledger FILE).") from None
        except OSError as error:
            raise LedgerError(f"Cannot read the fault ledger {self.path}: "
                              f"{error.strerror or error}.") from None
        lines = raw.splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip() or _is_torn_marker(line):
                continue
            try:
                rec = json.loads(line)
                good = isinstance(rec, dict) and isinstance(rec.get("id"), str) \
                    and rec.get("op") in (INJECT, CLOSE, UNDO_FAILED)
            except ValueError:
                good = False
            if good:
                yield rec
            elif number == len(lines) and not raw.endswith(b"\n"):
                self.torn = (f"{self.path}, line {number}: torn last line (a writer was "
                             f"killed mid-write), skipped")
            elif number < len(lines) and _is_torn_marker(lines[number]):
                continue  # torn by a killed writer, marked by the next append
            else:
                raise LedgerError(
                    f"The fault ledger {self.path} cannot be read at line {number}: expected "
                    f"one JSON fault record a line. Nothing was undone: fix or remove that "
                    f"line (or pass the right file with --ledger), then run again.")

    def entries(self) -> list[Entry]:
        """Every fault in injection order, with its current state."""
        by_id: dict[str, Entry] = {}
        for rec in self.records():
            if rec["op"] == INJECT:
                try:
                    by_id[rec["id"]] = Entry.from_record(rec)
                except (KeyError, TypeError, ValueError, AttributeError):
                    raise LedgerError(
                        f"The fault ledger {self.path} holds a fault ({rec['id']}) whose "
                        f"fields cannot be read. Nothing was undone: fix or remove its "
                        f"line, then run again.") from None
            elif rec["id"] in by_id:
                if rec["op"] == CLOSE:
                    by_id[rec["id"]].closed = str(rec.get("how") or "closed")
                elif rec["op"] == UNDO_FAILED:
                    by_id[rec["id"]].failures.append(str(rec.get("error", "")))
        return list(by_id.values())

    def open_entries(self) -> list[Entry]:
        return [e for e in self.entries() if e.open]


def _is_torn_marker(line: bytes) -> bool:
    try:
        rec = json.loads(line)
    except ValueError:
        return False
    return isinstance(rec, dict) and rec.get("op") == TORN


def pid_alive(pid: int, host: str) -> bool:
    """Whether the process that wrote an entry still runs here (then it still owns it)."""
    if not pid or host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


"""One private folder per run for the temporary files a keyword writes that may hold secrets.

os-faults' Ansible inventories carry ``ansible_ssh_pass``; the generated ``ansible.cfg`` and
playbook sit beside them. Every such file goes in this process's folder::

    <ledger dir>/<ledger stem>.private/run-<pid>-<start>@<host>/    (0700, files 0600)

(the lab: ``target.ledger.private/`` beside ``target.ledger.jsonl``).

Beside the ledger, not under ``$XDG_RUNTIME_DIR``: ``extreme recover`` is given the ledger
(or the target next to it) and finds the folders from it alone, whatever environment it
runs in — cron, CI, ``sudo`` and a second SSH session have no or another
``$XDG_RUNTIME_DIR`` — and the ledger's folder already holds the run's deliberate state.

- the folder is removed when its process ends normally (``atexit``);
- a folder whose owner died (SIGKILL, a crash, power loss) is removed by the next start of
  a library (:func:`sweep`) and by ``extreme recover``;
- a folder whose owner still runs is never removed. The owner is its PID *and* the
  process's start time (``/proc/<pid>/stat``), so a dead run's PID reused by another
  process does not keep its folder; a folder of another host is left to that host.

It imports no keyword library.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
from pathlib import Path

NAME = re.compile(r"^run-(?P<pid>\d+)-(?P<start>\d+)@(?P<host>.+)$")
_made: dict[tuple[Path, int], Path] = {}  # (root, pid) -> this process's folder


def private_root(ledger_path: str | os.PathLike) -> Path:
    """``<ledger dir>/<ledger stem>.private``: where the runs' private folders live."""
    ledger = Path(ledger_path)
    return ledger.with_name(f"{ledger.stem}.private")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None when it does not exist or
    is a zombie (killed, not yet reaped: dead for our purpose)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3


def folder_name(pid: int, start: int, host: str) -> str:
    return f"run-{pid}-{start}@{host}"


def owner_alive(name: str) -> bool:
    """Whether the process a folder is named after still runs; True when that cannot be
    told (another host, a name we did not write): such a folder is kept."""
    match = NAME.match(name)
    if not match or match["host"] != socket.gethostname():
        return True
    return start_time(int(match["pid"])) == int(match["start"])


def run_folder(ledger_path: str | os.PathLike) -> Path:
    """This process's private folder beside ``ledger_path``, made (0700) on first use and
    removed when the process ends normally."""
    root = private_root(ledger_path)
    pid = os.getpid()
    folder = _made.get((root, pid))
    if folder is not None and folder.is_dir():
        return folder
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    folder = root / folder_name(pid, start_time(pid) or 0, socket.gethostname())
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    if (root, pid) not in _made:
        atexit.register(_remove_at_exit, folder, pid)
    _made[(root, pid)] = folder
    return folder


def write_private(folder: Path, name: str, content: str) -> Path:
    """Write ``content`` to ``folder/name``, readable by this user only (0600)."""
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return path


def _remove_at_exit(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # a forked child inherits the handler, not the folder
        shutil.rmtree(folder, ignore_errors=True)


def dead_folders(ledger_path: str | os.PathLike) -> list[Path]:
    """The private folders beside ``ledger_path`` whose owner process is dead."""
    root = private_root(ledger_path)
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and NAME.match(p.name)
                      and not owner_alive(p.name))
    except (FileNotFoundError, NotADirectoryError):
        return []


def sweep(ledger_path: str | os.PathLike) -> list[Path]:
    """Remove the private folders of dead processes beside ``ledger_path``; returns them."""
    removed = []
    for folder in dead_folders(ledger_path):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed

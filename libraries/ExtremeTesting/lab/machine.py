"""A lab node as a machine with a power button, for the lab and for its BMCs.

Powered on, a node is a set of namespaces (pid, mount, uts, ipc) started inside its
network namespace, with tini as PID 1 and nodeinit booting it. Powering off kills PID 1,
so the kernel ends every process of the node, and takes its switch port down, as a
server that loses power loses its link. Powering on brings the link up and boots it
again: sshd, then its services in order.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from . import paths
from . import topology as topo
from .shell import LabError, ip

NODEINIT = "nodeinit.py"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Machine:
    """The power button of one lab node (`is_on`, `power_on`, `power_off`, `reset`)."""

    _children: dict[str, subprocess.Popen] = {}

    def __init__(self, name: str):
        self.name = name
        self.dir = paths.node_dir(name)

    @property
    def init_pid(self) -> int | None:
        pid = _read_pid(self.dir / "init.pid")
        return pid if _pid_alive(pid) and self._is_ours(pid) else None

    def _is_ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return False
        return "tini" in cmdline and str(self.dir / "node.json") in cmdline

    def is_on(self) -> bool:
        return self.init_pid is not None

    @contextmanager
    def _locked(self):
        with open(self.dir / "power.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _port(self, state: str) -> None:
        # Every link of the node: management and, on a controller, external.
        if self.name != topo.SWITCH:
            for port in topo.switch_ports(self.name):
                ip("-n", paths.netns(topo.SWITCH), "link", "set", port, state, check=False)

    def power_on(self, timeout: float = 10) -> int:
        """Boot the node; returns at once with its init's PID once it exists."""
        with self._locked():
            if self.is_on():
                return self.init_pid  # type: ignore[return-value]
            self._port("up")
            log = open(self.dir / "boot.log", "ab")
            cmd = ["ip", "netns", "exec", paths.netns(self.name),
                   "unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--mount-proc",
                   "--propagation", "private",
                   "/usr/bin/tini", "--", "/usr/bin/python3",
                   str(paths.root() / "bin" / NODEINIT), str(self.dir / "node.json")]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    close_fds=True)
            log.close()
            Machine._children[self.name] = proc
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                init = self._find_init(proc.pid)
                if init:
                    _write(self.dir / "init.pid", str(init))
                    return init
                if proc.poll() is not None:
                    break
                time.sleep(0.02)
            raise LabError(f"Node {self.name} did not boot; see {self.dir / 'boot.log'}")

    def _find_init(self, launcher: int) -> int | None:
        # ip netns exec execs unshare, which forks the node's PID 1 (tini).
        try:
            children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
        except OSError:
            return None
        for child in children:
            if self._is_ours(int(child)):
                return int(child)
        return None

    def power_off(self, timeout: float = 10) -> None:
        """Cut the power: every process of the node ends at once, its link goes down."""
        with self._locked():
            pid = self.init_pid
            if pid:
                os.kill(pid, signal.SIGKILL)
                self._wait_gone(pid, timeout)
            self._port("down")
            self._reap()

    def soft_power_off(self, timeout: float = 60) -> None:
        """An orderly shutdown: services stop in reverse order, then the power goes."""
        with self._locked():
            pid = self.init_pid
            if pid:
                os.kill(pid, signal.SIGTERM)
                if not self._wait_gone(pid, timeout, raise_error=False):
                    os.kill(pid, signal.SIGKILL)
                    self._wait_gone(pid, 10)
            self._port("down")
            self._reap()

    def reset(self) -> None:
        self.power_off()
        self.power_on()

    def _wait_gone(self, pid: int, timeout: float, raise_error: bool = True) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                return True
            time.sleep(0.02)
        if raise_error:
            raise LabError(f"Node {self.name}: PID {pid} did not end within {timeout:.0f} s")
        return False

    def _reap(self) -> None:
        proc = Machine._children.pop(self.name, None)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

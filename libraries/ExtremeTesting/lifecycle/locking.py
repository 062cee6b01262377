"""One destructive test at a time per cloud under pabot, through PabotLib's lock server.

PabotLib's own ``Acquire Lock`` waits forever; this client polls the same remote
``acquire_lock`` with a deadline and fails with a clear message instead.
"""

from __future__ import annotations

import os
import time
from typing import Any, Protocol

from .errors import LockTimeoutError

POLL_SECONDS = 0.2


class RemoteLocks(Protocol):
    def run_keyword(self, name: str, args: list, kwargs: dict) -> Any: ...


def _robot_variable(name: str) -> str | None:
    try:
        from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

        try:
            value = BuiltIn().get_variable_value("${" + name + "}")
        except RobotNotRunningError:
            value = None
    except ImportError:  # pragma: no cover - Robot is a dependency
        value = None
    return str(value) if value else os.environ.get(name) or None


class PabotLock:
    """The lock ``name`` on pabot's lock server, held at most once by this process."""

    def __init__(self, name: str, timeout: float, remote: RemoteLocks | None = None,
                 caller_id: str | None = None):
        self.name = name
        self.timeout = timeout
        self._remote = remote
        self._caller_id = caller_id
        self.held = False

    @staticmethod
    def under_pabot() -> bool:
        return bool(_robot_variable("PABOTLIBURI"))

    @property
    def remote(self) -> RemoteLocks:
        if self._remote is None:
            from robot.libraries.Remote import Remote

            self._remote = Remote(_robot_variable("PABOTLIBURI"), timeout=30)
        return self._remote

    @property
    def caller_id(self) -> str:
        if self._caller_id is None:
            self._caller_id = _robot_variable("CALLER_ID") or f"pid-{os.getpid()}"
        return self._caller_id

    def acquire(self) -> float:
        """Take the lock (once); returns the seconds waited."""
        if self.held:
            return 0.0
        start = time.monotonic()
        while not self.remote.run_keyword("acquire_lock", [self.name, self.caller_id], {}):
            if time.monotonic() - start >= self.timeout:
                raise LockTimeoutError(
                    f"Waited {self.timeout:g} s for pabot lock '{self.name}': another "
                    f"process is injecting faults into the same cloud. Expected it to be "
                    f"free within lock_timeout; raise it, or run destructive suites in "
                    f"fewer processes (an --ordering file with #WAIT).")
            time.sleep(POLL_SECONDS)
        self.held = True
        return time.monotonic() - start

    def release(self) -> None:
        if self.held:
            self.held = False
            self.remote.run_keyword("release_lock", [self.name, self.caller_id], {})


def destructive_lock(target_name: str, timeout: float) -> PabotLock | None:
    """The lock every destructive library takes on a cloud under pabot; None outside pabot."""
    if not PabotLock.under_pabot():
        return None
    return PabotLock(f"destructive:{target_name}", timeout)


def take_destructive_lock(held: PabotLock | None, target_name: str,
                          timeout: float) -> PabotLock | None:
    """Take the destructive lock (once) for a library that keeps it in ``held``.

    Returns the lock to keep: ``held`` itself, a new one under pabot, or None outside pabot.
    """
    lock = held or destructive_lock(target_name, timeout)
    if lock is not None:
        lock.acquire()
    return lock

"""Running commands on the runner and inside lab nodes, always with a timeout."""

from __future__ import annotations

import subprocess

from ..errors import ExtremeError


class LabError(ExtremeError):
    """The lab could not do what was asked; the message says why and what to do."""


def run(cmd: list[str], timeout: float = 60, check: bool = True, input: str | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                input=input, env=env)
    except subprocess.TimeoutExpired:
        raise LabError(f"'{' '.join(cmd[:6])}' did not finish within {timeout:.0f} s") from None
    except FileNotFoundError:
        raise LabError(f"'{cmd[0]}' is not installed: run 'extreme lab install'") from None
    if check and result.returncode != 0:
        shown = cmd[cmd.index("--") + 1:] if "--" in cmd and cmd[0] == "nsenter" else cmd
        raise LabError(f"'{' '.join(shown[:8])}' failed ({result.returncode}): "
                       f"{(result.stderr or result.stdout).strip()[-800:]}")
    return result


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *args], timeout=20, check=check)


def in_node(init_pid: int, cmd: list[str], user: str | None = None, timeout: float = 120,
            check: bool = True, input: str | None = None,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command inside a running node (all its namespaces), optionally as a user."""
    prefix = ["nsenter", "-t", str(init_pid), "-m", "-u", "-i", "-n", "-p", "--"]
    if user and user != "root":
        prefix += ["runuser", "-u", user, "--"]
    return run(prefix + cmd, timeout=timeout, check=check, input=input, env=env)

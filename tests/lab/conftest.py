"""Lab tests run against the one lab of this test run (`.ci/run` brings it up once)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ExtremeTesting.lab import lab, paths, targetfile

EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]


@pytest.fixture(scope="session")
def running_lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    if lab.read_state().get("phase") != "up":
        subprocess.run([*EXTREME, "lab", "up", "--old-release"], check=True, timeout=900)
    values = json.loads((paths.root() / "secrets.json").read_text())
    os.environ.update(targetfile.environment(values))
    return lab.read_state()


@pytest.fixture(scope="session")
def ssh(running_lab):
    key = targetfile.key_path()

    def run(node_address: str, command: str, timeout: float = 30, check: bool = True):
        result = subprocess.run(
            ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
             "-o", "ConnectTimeout=5", f"root@{node_address}", command],
            capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"ssh {node_address} {command!r}: {result.returncode} "
                                 f"{result.stderr.strip()}")
        return result

    return run


@pytest.fixture
def robot_until():
    """``with robot_until(suite, outdir, "MARKER"):`` runs ``robot`` on ``suite`` in its
    own process group until it prints MARKER (at most ``timeout`` s), then the block runs,
    then the whole group is SIGKILLed: a runner killed in the middle of its faults."""

    @contextlib.contextmanager
    def run(suite, outdir, marker: str, timeout: float = 120):
        proc = subprocess.Popen([sys.executable, "-m", "robot", "--outputdir", str(outdir),
                                 str(suite)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            deadline, line = time.monotonic() + timeout, ""
            while marker not in line:
                assert time.monotonic() < deadline, f"no {marker} within {timeout:g} s"
                line = proc.stdout.readline()
                assert line or proc.poll() is None, f"robot ended before {marker}"
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    return run

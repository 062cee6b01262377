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
    wait_until_settled()
    return lab.read_state()


def wait_until_settled(timeout: float = 300, streak: int = 3, interval: float = 5) -> None:
    """The lab tests start on a settled cloud: `Cloud Should Be Healthy` passes ``streak``
    times in a row. The robot lab tests end with a switch restart; keystone on a
    controller still dropped a request 10 s after it (measured 2026-12-06 with the data
    plane's agents resyncing), and the first pytest test, which drains ctl1 and gates its
    return on real requests, failed on that and left ctl1 drained for every test after."""
    from ExtremeTesting.cloud import Cloud
    from ExtremeTesting.target import load

    cloud = Cloud(str(load().path))
    deadline, passed, problem = time.monotonic() + timeout, 0, None
    while time.monotonic() < deadline:
        try:
            cloud.cloud_should_be_healthy()
            passed += 1
        except Exception as error:  # noqa: BLE001 - the last problem is reported
            passed, problem = 0, error
        if passed >= streak:
            return
        time.sleep(interval)
    raise AssertionError(f"The lab did not settle within {timeout:.0f} s (healthy "
                         f"{streak} times in a row): {problem}")


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

"""A robot run SIGKILLed while Keystone on ctl1 is frozen; ``extreme recover`` unfreezes it,
and a second ``extreme recover`` finds nothing to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from ExtremeTesting.lab import targetfile

EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]
CTL1 = "198.18.0.11"

SUITE = """\
*** Settings ***
Library    ExtremeTesting.Faults    {target}    ledger={ledger}

*** Test Cases ***
Freeze Then Hang
    Freeze Service    keystone    on=ctl1
    Log To Console    FROZEN
    Sleep    300 s
"""


def keystone_state(ssh) -> str:
    return ssh(CTL1, "service keystone status", check=False).stdout.strip()


def test_sigkill_mid_freeze_then_recover(running_lab, ssh, tmp_path):
    target = os.environ.get("EXTREME_TARGET") or str(Path(targetfile.key_path()).parents[1]
                                                       / "target.yaml")
    ledger = tmp_path / "ledger.jsonl"
    suite = tmp_path / "hang.robot"
    suite.write_text(SUITE.format(target=target, ledger=ledger))
    assert "is running" in keystone_state(ssh)
    proc = subprocess.Popen([sys.executable, "-m", "robot", "--outputdir", str(tmp_path),
                             str(suite)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        deadline, line = time.monotonic() + 120, ""
        while "FROZEN" not in line:
            assert time.monotonic() < deadline, "the freeze did not happen within 120 s"
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "robot ended before freezing"
        assert "is frozen" in keystone_state(ssh)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    time.sleep(1)  # nothing may unfreeze it now: check it stays frozen
    assert "is frozen" in keystone_state(ssh)

    first = subprocess.run([*EXTREME, "recover", "--target", target, "--ledger", str(ledger)],
                           capture_output=True, text=True, timeout=180, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Recovered 1 of 1" in first.stdout
    assert "is running" in keystone_state(ssh)

    second = subprocess.run([*EXTREME, "recover", "--target", target, "--ledger", str(ledger)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 0 and "Nothing to recover" in second.stdout

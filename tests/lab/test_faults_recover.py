"""A robot run SIGKILLed while Keystone on ctl1 is frozen; ``extreme recover`` unfreezes it,
and a second ``extreme recover`` finds nothing to do."""

from __future__ import annotations

import os
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


def test_sigkill_mid_freeze_then_recover(running_lab, ssh, tmp_path, robot_until):
    target = os.environ.get("EXTREME_TARGET") or str(Path(targetfile.key_path()).parents[1]
                                                       / "target.yaml")
    ledger = tmp_path / "ledger.jsonl"
    suite = tmp_path / "hang.robot"
    suite.write_text(SUITE.format(target=target, ledger=ledger))
    assert "is running" in keystone_state(ssh)
    with robot_until(suite, tmp_path, "FROZEN"):
        assert "is frozen" in keystone_state(ssh)
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

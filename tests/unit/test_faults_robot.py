"""The Faults library inside real Robot runs (over the fake cloud): the listener undoes a
failing test's faults, no credential reaches output.xml, and ``extreme recover`` finishes
what a SIGKILLed runner left."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ExtremeTesting.faults import cli
from robot import run
from robot.api import ExecutionResult

_spec = importlib.util.spec_from_file_location(
    "extreme_faults_fake", Path(__file__).with_name("test_faults_fake.py"))
fake = sys.modules.get("extreme_faults_fake")
if fake is None:
    fake = importlib.util.module_from_spec(_spec)
    sys.modules["extreme_faults_fake"] = fake
    _spec.loader.exec_module(fake)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SSH_PASSWORD", "ssh-pw-0f-doom")
    monkeypatch.delenv("EXTREME_DRY_RUN", raising=False)
    state = fake.State(tmp_path / "state.json")
    target = fake.write_target(tmp_path / "cloud", extra={"ssh": {
        "username": "root", "port": 2222, "password_env": "FAKE_SSH_PASSWORD"}})
    wrapper = fake.robot_wrapper(tmp_path, state.path)
    return state, target, wrapper


SUITE = """\
*** Settings ***
Library    {wrapper}    {target}

*** Test Cases ***
Fails Mid Fault
    Kill Service    keystone    on=ctl1
    Freeze Service    keystone    on=ctl2
    Fail    Keystone did not come back

Sees The Cloud Restored
    Service Should Be Running    keystone
    ${{open}} =    Get Open Faults
    Should Be Empty    ${{open}}

Refuses Nonsense
    Run Keyword And Expect Error    Unknown service 'nova'*    Kill Service    nova
"""


def test_failing_test_gets_its_faults_undone_in_a_real_robot_run(setup, tmp_path):
    state, target, wrapper = setup
    suite = tmp_path / "faults.robot"
    suite.write_text(SUITE.format(wrapper=wrapper, target=target))
    output = tmp_path / "output.xml"
    with open(os.devnull, "w") as quiet:
        rc = run(str(suite), output=str(output), log=str(tmp_path / "log.html"), report=None,
                 loglevel="DEBUG", stdout=quiet)
    result = ExecutionResult(str(output))
    tests = {t.name: (t.status, t.message) for t in result.suite.all_tests}
    assert tests["Fails Mid Fault"] == ("FAIL", "Keystone did not come back")
    assert tests["Sees The Cloud Restored"][0] == "PASS"
    assert tests["Refuses Nonsense"][0] == "PASS"
    assert rc == 1
    assert [c[0] for c in state.calls()] == ["kill", "freeze", "unfreeze", "start"]
    for path in (output, tmp_path / "log.html"):
        assert "ssh-pw-0f-doom" not in path.read_text()


HANGING = """\
*** Settings ***
Library    {wrapper}    {target}

*** Test Cases ***
Freezes Then Hangs
    Freeze Service    keystone    on=ctl1
    Log To Console    FROZEN
    Sleep    60 s
"""


def test_sigkilled_runner_then_recover_unfreezes(setup, tmp_path):
    state, target, wrapper = setup
    suite = tmp_path / "hang.robot"
    suite.write_text(HANGING.format(wrapper=wrapper, target=target))
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot", "--output", "NONE", "--report", "NONE", "--log", "NONE",
         str(suite)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "FROZEN" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "robot ended before freezing"
        assert state.proc("keystone", "ctl1") == "frozen"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert state.proc("keystone", "ctl1") == "frozen"  # nothing undid it: the runner died
    out = []
    mod = _load_wrapper(wrapper)  # the library over the same fake cloud
    lib = mod.FakeFaults(str(target))
    assert cli.recover(str(target), None, library=lib, out=out.append) == 0
    assert state.proc("keystone", "ctl1") == "running"
    assert cli.recover(str(target), None, library=mod.FakeFaults(str(target)),
                       out=out.append) == 0
    assert out[-1].startswith("Nothing to recover")


def _load_wrapper(path: Path):
    spec = importlib.util.spec_from_file_location("FakeFaults", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extreme_recover_command_line_dry_run(setup, tmp_path):
    _, target, _ = setup
    proc = subprocess.run([sys.executable, "-m", "ExtremeTesting.cli", "recover", "--target",
                           str(target), "--dry-run"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    ledger = target.with_name("target.ledger.jsonl")
    assert proc.stdout.strip() == f"Nothing to recover in {ledger}."

"""Safeguards on the lab: a planted emergency (Keystone killed on every node and kept so far
longer than a 10 s emergency limit) aborts the run, undoes the fault at once and leaves the
lab healthy; ``extreme stop`` ends a pabot run in the middle of a destructive case.

The lab's own target is copied beside itself (its relative paths keep their meaning) with a
``safeguards`` section of its own; the copy's ledger and journal are its own, and all of
them are removed at the end. Figures (time to undo, time to stop) are printed with ``-s``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from robot.api import ExecutionResult

from ExtremeTesting.lifecycle import Ledger
from ExtremeTesting.safeguards import journal
from ExtremeTesting.target import lab_dir

ROOT = Path(__file__).resolve().parents[2]
EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]
CTL1, CTL2 = "198.18.0.11", "198.18.0.12"
LIMIT = 10  # s: the planted emergency's longest outage

EMERGENCY = """\
*** Settings ***
Resource          {resources}/destructive.resource
Suite Setup       Use The Expectations Of    service_restart
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

*** Test Cases ***
Keystone Down Far Longer Than Its Emergency Limit
    Start Availability Monitor
    Kill Service    keystone    on=all
    Sleep    300 s
    Start Service    keystone    on=all

Another Destructive Case
    Restart Service    keystone    on=ctl1
"""

HOLD = """\
*** Settings ***
Resource          {resources}/destructive.resource
Suite Setup       Use The Expectations Of    service_restart
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

*** Test Cases ***
Keystone Killed On One Node And Held
    Kill Service    keystone    on=ctl1
    Sleep    300 s
    Start Service    keystone    on=ctl1

Another Destructive Case
    Restart Service    keystone    on=ctl1
"""

BESIDE = """\
*** Test Cases ***
A Suite That Breaks Nothing
    Sleep    300 s
"""

HEALTHY = """\
*** Settings ***
Resource          {resources}/common.resource

*** Test Cases ***
The Lab Is Healthy
    Wait Until Keyword Succeeds    2 min    5 s    Cloud Should Be Healthy
"""


@pytest.fixture
def safeguarded(running_lab):
    """A copy of the lab's target beside it with a 10 s longest-outage limit."""
    original = Path(os.environ.get("EXTREME_TARGET") or lab_dir() / "target.yaml")
    data = yaml.safe_load(original.read_text())
    data["safeguards"] = {"emergency": {"longest_outage": f"{LIMIT} s", "node_off": "5 min"},
                          "poll": "0.5 s"}
    data["name"] = "xt-safeguards-test"  # not "lab": the lab's own safeguards are not folded in
    copy = original.with_name("xt-safeguards-test.yaml")
    copy.write_text(yaml.safe_dump(data))
    ledger = copy.with_name("xt-safeguards-test.ledger.jsonl")
    try:
        yield copy, ledger
    finally:
        subprocess.run([*EXTREME, "recover", "--target", str(copy)], timeout=300,
                       check=False)
        for path in copy.parent.glob("xt-safeguards-test*"):
            if path.is_dir():
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def env(target: Path) -> dict[str, str]:
    return {**os.environ, "EXTREME_TARGET": str(target),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "libraries"), str(ROOT / "resources"),
                                           os.environ.get("PYTHONPATH", "")])}


def suite(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text.format(resources=ROOT / "resources"))
    return path


def keystone_running(ssh, address: str) -> bool:
    return "is running" in ssh(address, "service keystone status", check=False).stdout


def the_lab_is_healthy(tmp_path: Path, target: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "robot", "--outputdir",
                          str(tmp_path / "healthy"), "--console", "none",
                          str(suite(tmp_path, "healthy.robot", HEALTHY))], env=env(target),
                         timeout=300, check=False)
    assert run.returncode == 0, "the lab is not healthy after the test"


def test_a_planted_emergency_aborts_the_run_undoes_the_fault_and_leaves_the_lab_healthy(
        safeguarded, ssh, tmp_path):
    target, ledger = safeguarded
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "robot", "--outputdir", str(tmp_path), "--console",
                    "dotted", str(suite(tmp_path, "emergency.robot", EMERGENCY))],
                   env=env(target), capture_output=True, text=True, timeout=900)
    took = time.monotonic() - began
    tests = {t.name: t for t in ExecutionResult(str(tmp_path / "output.xml")).suite.all_tests}
    planted = tests["Keystone Down Far Longer Than Its Emergency Limit"]
    assert planted.status == "FAIL", planted.message
    assert planted.message.startswith("ABORTED BY SAFEGUARD: "), planted.message
    assert "kill keystone" in planted.message and "undone in " in planted.message
    assert took < 300, f"the 300 s hold was not cut short ({took:.0f} s)"
    other = tests["Another Destructive Case"]
    assert other.status == "SKIP" and other.message.startswith(
        "NOT STARTED: ABORTED BY SAFEGUARD in "), other.message
    events = journal.read_events(journal.events_path(ledger))
    tripped = next(e for e in events if e["event"] == "tripped")
    undone = next(e for e in events if e["event"] == "undone")
    trip_to_done = undone["wall"] - tripped["wall"]
    print(f"\nplanted emergency: tripped on {tripped['what']} {tripped['measured']} "
          f"(limit {tripped['limit']}); undone {trip_to_done:.2f} s after the trip (the undo "
          f"itself {undone['seconds']:.2f} s): {undone['undone']}; run {took:.1f} s")
    assert not undone["failed"] and undone["undone"]
    assert Ledger(ledger).open_entries() == []
    assert keystone_running(ssh, CTL1) and keystone_running(ssh, CTL2)
    report = subprocess.run([*EXTREME, "report", str(tmp_path / "output.xml"), "--target",
                             str(target), "-o", str(tmp_path / "signoff.html")],
                            capture_output=True, text=True, timeout=120, env=env(target))
    assert report.returncode == 4, report.stdout + report.stderr
    again = subprocess.run([*EXTREME, "recover", "--target", str(target)],
                           capture_output=True, text=True, timeout=120)
    assert "Nothing to recover" in again.stdout
    the_lab_is_healthy(tmp_path, target)


def test_extreme_stop_ends_a_pabot_run_in_the_middle_of_a_destructive_case(
        safeguarded, ssh, tmp_path):
    target, ledger = safeguarded
    command = [sys.executable, "-m", "pabot.pabot", "--processes", "2", "--outputdir",
               str(tmp_path / "pabot"), str(suite(tmp_path, "hold.robot", HOLD)),
               str(suite(tmp_path, "beside.robot", BESIDE))]
    process = subprocess.Popen(command, env=env(target), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not Ledger(ledger).open_entries():
            assert time.monotonic() < deadline and process.poll() is None, \
                "the fault was never injected"
            time.sleep(0.2)
        while keystone_running(ssh, CTL1):  # written down first, then killed
            assert time.monotonic() < deadline, "keystone was never killed on ctl1"
            time.sleep(0.2)
        began = time.monotonic()
        stop = subprocess.run([*EXTREME, "stop", "--target", str(target)],
                              capture_output=True, text=True, timeout=300, env=env(target))
        took = time.monotonic() - began
        process.wait(120)
    finally:
        if process.poll() is None:
            process.kill()
    print(f"\nextreme stop --target {target}: {took:.1f} s\n{stop.stdout}")
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert took < 60
    assert Ledger(ledger).open_entries() == []
    assert keystone_running(ssh, CTL1)
    the_lab_is_healthy(tmp_path, target)

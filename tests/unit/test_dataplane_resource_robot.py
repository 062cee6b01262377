"""The shared destructive resource's data-plane steps in a real Robot run, without a cloud:
a target listing one path (a TCP echo on this machine, so nothing is booted), the setup's
`Start Probing The Guests Of The Suite` and the teardown's `Judge The Data Plane Of The
Case` judging it by the scenario's ``data_plane`` limits; a case that judged it itself is
not judged again; a target without ``data_plane`` runs none of it. About 10 seconds."""

from __future__ import annotations

import socket
import sys
import threading
import types
from pathlib import Path

import pytest
from robot import run
from robot.api import ExecutionResult

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
TARGET = """name: dp-resource
cloud: none
destructive: true
expectations:
  default: {{settle: 1, data_plane: {{lost: 0}}}}
  judged_here: {{settle: 1, data_plane: {{lost: 0}}, own: {{lost: 1000}}}}
{data_plane}"""
SECTION = """data_plane:
  guest_ready_timeout: 5 s
  paths:
    north-south: {{to: 127.0.0.1, tcp_port: {port}, icmp: false}}
"""
SUITE = """*** Settings ***
Resource          {resources}/destructive.resource
Suite Setup       Use The Expectations Of    {scenario}
Test Setup        Start Probing The Guests Of The Suite
Test Teardown     Judge The Data Plane Of The Case

*** Test Cases ***
Quiet Guests Pass The Teardown's Verdict
    Sleep    0.4 s

Guests Cut Off Fail The Teardown's Verdict
    Sleep    0.3 s
    Evaluate    xt_dp_echo.cut(1.0)    modules=xt_dp_echo
    Sleep    0.3 s
"""
JUDGED_HERE = """
A Case That Judged The Data Plane Itself Is Not Judged Again
    Sleep    0.3 s
    Evaluate    xt_dp_echo.cut(0.5)    modules=xt_dp_echo
    Sleep    0.3 s
    Data Plane Guests Should Answer    timeout=5 s
    Stop Probing Data Plane
    The Data Plane Should Stay Within    ${LIMITS.own}
"""


class Echo:
    """A TCP echo on 127.0.0.1 that can stop answering (its connections hang) for a while."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.mute_until = 0.0
        self.stopped = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def cut(self, seconds: float) -> None:
        import time

        self.mute_until = time.monotonic() + seconds

    def serve(self) -> None:
        import time

        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client:
                data = client.recv(64)
                if time.monotonic() >= self.mute_until:
                    client.sendall(data)

    def close(self) -> None:
        self.stopped.set()
        self.server.close()


@pytest.fixture
def echo(monkeypatch):
    found = Echo()
    monkeypatch.setitem(sys.modules, "xt_dp_echo", types.SimpleNamespace(cut=found.cut))
    yield found
    found.close()


def robot_run(tmp_path, monkeypatch, section: str, scenario: str = "default",
              extra: str = "") -> dict:
    target = tmp_path / "target.yaml"
    target.write_text(TARGET.format(data_plane=section), encoding="utf-8")
    monkeypatch.setenv("EXTREME_TARGET", str(target))
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path / "no-lab"))
    suite = tmp_path / "suite.robot"
    suite.write_text(SUITE.format(resources=RESOURCES, scenario=scenario) + extra,
                     encoding="utf-8")
    output = tmp_path / "output.xml"
    run(str(suite), output=str(output), log="NONE", report="NONE", stdout=open(
        tmp_path / "stdout.txt", "w"), pythonpath=[str(RESOURCES)])
    return {t.name: t for t in ExecutionResult(str(output)).suite.tests}


def test_the_teardown_judges_the_guests_probed_since_the_setup(tmp_path, monkeypatch, echo):
    tests = robot_run(tmp_path, monkeypatch, SECTION.format(port=echo.port))
    quiet = tests["Quiet Guests Pass The Teardown's Verdict"]
    assert quiet.status == "PASS", quiet.message
    cut = tests["Guests Cut Off Fail The Teardown's Verdict"]
    assert cut.status == "FAIL"
    assert "Data-plane packets lost all" in cut.message and "north-south:" in cut.message
    assert "expected at most 0" in cut.message


def test_a_case_that_judged_the_data_plane_is_not_judged_again(tmp_path, monkeypatch, echo):
    tests = robot_run(tmp_path, monkeypatch, SECTION.format(port=echo.port), "judged_here",
                      JUDGED_HERE)
    own = tests["A Case That Judged The Data Plane Itself Is Not Judged Again"]
    assert own.status == "PASS", own.message  # its own limit (1000) holds, lost 0 does not


def test_without_a_data_plane_section_nothing_is_probed(tmp_path, monkeypatch, echo):
    tests = robot_run(tmp_path, monkeypatch, "")
    assert {t.status for t in tests.values()} == {"PASS"}
    cut = tests["Guests Cut Off Fail The Teardown's Verdict"]
    assert not cut.message

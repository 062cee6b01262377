"""The Switch library inside a real Robot run (its listener included), over a fake lab
switch at netmiko's connection boundary."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from robot import run
from robot.api import ExecutionResult, ResultVisitor

from ExtremeTesting.lifecycle.ledger import Ledger, default_ledger_path
from ExtremeTesting.results import extract

HERE = Path(__file__).parent

FAKE_LIBRARY = """
import sys
from datetime import timedelta
sys.path.insert(0, {here!r})
from robot.api.deco import keyword
from test_switch_library import LabSwitch
from ExtremeTesting.switch import Switch
from ExtremeTesting.switch.session import SwitchSession

SWITCH = LabSwitch()


class FakeSwitch(Switch):
    def __init__(self, target):
        super().__init__(target, ssh_timeout=timedelta(seconds=5))
        self.session_factory = lambda spec, timeout: SwitchSession(spec, SWITCH.connect,
                                                                   timeout)

    @keyword
    def get_fake_ports(self):
        return dict(SWITCH.ports)
"""

SUITE = """*** Settings ***
Library    FakeSwitch.py    ${TARGET}    AS    Switch

*** Test Cases ***
Restart And Wait
    Restart Switch    sw1    down_duration=3 s
    ${seconds} =    Wait Until Switch Is Back    sw1    timeout=5 s    poll=10 ms
    Should Be True    0.01 <= ${seconds} < 5

Leave A Port Down
    Shut Down Switch Port    sw1    sw-db
    ${ports} =    Get Fake Ports
    Should Be Equal    ${ports}[sw-db]    down

The Listener Brought It Back
    ${ports} =    Get Fake Ports
    Should Be Equal    ${ports}[sw-db]    up
"""


def test_switch_keywords_and_listener_in_a_robot_run(tmp_path, monkeypatch):
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({"name": "robot", "destructive": True, "switches": {
        "sw1": {"device_type": "linux", "address": "127.0.0.1", "username": "admin",
                "password_env": "EXTREME_TEST_SWITCH_PASSWORD"}}}))
    (tmp_path / "FakeSwitch.py").write_text(FAKE_LIBRARY.format(here=str(HERE)))
    (tmp_path / "switch.robot").write_text(SUITE)
    monkeypatch.setenv("EXTREME_TEST_SWITCH_PASSWORD", "switch-pw")
    with open(os.devnull, "w") as devnull:
        rc = run(str(tmp_path / "switch.robot"), outputdir=str(tmp_path),
                 variable=[f"TARGET:{target}"], pythonpath=[str(tmp_path)], stdout=devnull,
                 stderr=devnull, report="NONE", log="NONE")
    output = (tmp_path / "output.xml").read_text()
    assert rc == 0, output[-3000:]
    assert "switch-pw" not in output
    entries = Ledger(default_ledger_path(target)).entries()
    assert [(e.step.action, e.closed, e.test) for e in entries] == [
        ("switch restart", "completed", "Switch.Restart And Wait"),
        ("switch port down", "restored", "Switch.Leave A Port Down")]
    figures: list = []

    class Figures(ResultVisitor):
        def visit_message(self, message) -> None:
            figures.extend(extract(message.message))

    ExecutionResult(str(tmp_path / "output.xml")).visit(Figures())
    ((kind, data),) = figures
    assert kind == "switch.restart" and data["switch"] == "sw1"
    assert data["requested_down_s"] == 3 and 0.01 <= data["back_after_s"] < 5

"""A run that crashed with a node powered off: ``extreme recover`` powers it on through
the Faults library, os-faults and this library's IPMI driver, against a real BMC."""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml

from ExtremeTesting.faults import cli as faults_cli
from ExtremeTesting.lab import bmc
from ExtremeTesting.power import Power

PASSWORD = "recover-bmc-pw"
ENV = "EXTREME_TEST_RECOVER_BMC_PASSWORD"


@pytest.fixture
def server(tmp_path):
    machine = tmp_path / "machine.json"
    process, ipmi_port, redfish_port = bmc.spawn(
        "n1", PASSWORD, tmp_path / "bmc", fake_machine=machine, exit_after=60)
    yield {"ipmi": ipmi_port, "redfish": redfish_port, "machine": machine}
    process.terminate()
    process.wait(10)


def test_recover_powers_on_what_a_crashed_run_left_off(server, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    # The universal cloud driver looks for ansible-playbook when it connects (none runs).
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    osf = tmp_path / "os-faults.yaml"
    osf.write_text(yaml.safe_dump({
        "cloud_management": {"driver": "universal"},
        "node_discover": {"driver": "node_list", "args": [
            {"ip": "192.0.2.7", "fqdn": "n1", "auth": {"username": "root"}}]}}))
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({
        "name": "recover", "destructive": True, "os_faults": str(osf),
        "ssh": {"username": "root"},
        "nodes": {"n1": {"address": "192.0.2.7", "roles": ["controller"]}},
        "bmcs": {"n1": {"protocol": "ipmi", "address": "127.0.0.1", "port": server["ipmi"],
                        "username": "admin", "password_env": ENV}}}))
    monkeypatch.setattr("ExtremeTesting.results.publish", lambda *a, **k: None)
    power = Power(str(target))
    power.power_off("n1")
    assert json.loads(server["machine"].read_text())["on"] is False
    # The run "crashes" here: no Power On, no end of test. Its pid is this process, which
    # is alive, so recover needs --force (as it would for a run killed on another host).
    lines: list[str] = []
    rc = faults_cli.recover(str(target), None, force=True, out=lines.append)
    assert rc == 0, lines
    assert json.loads(server["machine"].read_text())["on"] is True
    assert any("poweroff n1 -> poweron n1" in line for line in lines), lines
    lines.clear()
    assert faults_cli.recover(str(target), None, force=True, out=lines.append) == 0
    assert lines == [f"Nothing to recover in {tmp_path / 'target.ledger.jsonl'}."]

"""The Power library inside a real Robot run against a real lab BMC process: argument
conversion (protocol, timedelta, state), error messages as Robot shows them, and no
password in output.xml."""

from __future__ import annotations

import base64
import json
import os

import pytest
import yaml
from robot import run

from ExtremeTesting.lab import bmc

PASSWORD = "robot-bmc-pw"
ENV = "EXTREME_TEST_ROBOT_BMC_PASSWORD"

SUITE = """*** Settings ***
Library    OperatingSystem
Library    ExtremeTesting.Power    ${TARGET}    bmc_timeout=6 s

*** Test Cases ***
Off And On Over Both Protocols
    FOR    ${protocol}    IN    ipmi    REDFISH
        Power Off    n1    protocol=${protocol}    timeout=10 s    poll=100 ms
        Wait Until Power State Is    n1    off    timeout=5 s
        ${state} =    Get Power State    n1    protocol=${protocol}
        Should Be Equal    ${state}    off
        Power On    n1    protocol=${protocol}
    END
    Set Boot Device    n1    pxe    persistent=${TRUE}
    ${device} =    Get Boot Device    n1    protocol=redfish
    Should Be Equal    ${device}    pxe
    BMC Should Be Reachable    n1

Wrong Password Says Which BMC
    Set Environment Variable    %{PASSWORD_ENV_NAME}    wrong-one
    Run Keyword And Expect Error    *BMC of n1 (redfish 127.0.0.1:*) rejected*nothing was changed*
    ...    Power Off    n1    protocol=redfish
    Run Keyword And Expect Error    *BMC of n1 (ipmi 127.0.0.1:*) rejected*
    ...    Power Off    n1
    [Teardown]    Evaluate
    ...    os.environ.update({os.environ['PASSWORD_ENV_NAME']: os.environ['REAL_PASSWORD']})

Bad Protocol Is Refused By Conversion
    Run Keyword And Expect Error    *BmcProtocol*
    ...    Get Power State    n1    protocol=snmp
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("robot-bmc")
    machine = state / "machine.json"
    process, ipmi_port, redfish_port = bmc.spawn(
        "n1", PASSWORD, state / "bmc", fake_machine=machine, exit_after=120)
    yield {"ipmi": ipmi_port, "redfish": redfish_port, "machine": machine}
    process.terminate()
    process.wait(10)


def test_power_keywords_in_a_robot_run(server, tmp_path, monkeypatch):
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({"name": "robot", "destructive": True, "bmcs": {"n1": {
        "protocol": "ipmi", "address": "127.0.0.1", "port": server["ipmi"],
        "username": "admin", "password_env": ENV,
        "redfish": {"port": server["redfish"], "system_id": "n1"}}}}))
    (tmp_path / "power.robot").write_text(SUITE)
    monkeypatch.setenv(ENV, PASSWORD)
    monkeypatch.setenv("PASSWORD_ENV_NAME", ENV)
    monkeypatch.setenv("REAL_PASSWORD", PASSWORD)
    rc = run(str(tmp_path / "power.robot"), outputdir=str(tmp_path), variable=[
        f"TARGET:{target}"], loglevel="DEBUG", stdout=open(os.devnull, "w"),  # noqa: SIM115
        report="NONE", log="NONE")
    output = (tmp_path / "output.xml").read_text()
    assert rc == 0, output[-3000:]
    assert json.loads(server["machine"].read_text())["on"] is True
    # The password is read from the environment by the library: never in the output,
    # even at DEBUG level (sushy and urllib3 log their requests there).
    assert "DEBUG" in output and PASSWORD not in output
    assert base64.b64encode(f"admin:{PASSWORD}".encode()).decode() not in output

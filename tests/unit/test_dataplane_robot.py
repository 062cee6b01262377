"""The data-plane keywords in a Robot run: a path described in the operator's words,
probed from inside a namespace, judged by the verdicts with their expectation records in
output.xml, and a monitor nobody stopped stopped with its test. Needs root and iproute2;
about two seconds."""

import os
import secrets
import shutil
import subprocess

import pytest
from robot import run
from robot.api import ExecutionResult

from ExtremeTesting import results

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                                reason="needs root and iproute2")

SUITE = """*** Settings ***
Library    ExtremeTesting.Monitor    ${TARGET}

*** Test Cases ***
Loopback Path Keeps Every Packet
    Start Probing Data Plane    east-west=${NS} -> 127.0.0.1    rate=25
    Sleep    0.6 s
    ${result} =    Stop Probing Data Plane
    Should Be True    $result['paths']['east-west']['sent'] >= 10
    Longest Data Plane Outage Should Be Below    0 s
    Data Plane Packets Lost Should Be At Most    0    path=east-west

Unreachable Path Fails Its Verdict
    Start Probing Data Plane    north-south=${NS} -> 127.0.0.1:9    baseline=0 s
    Sleep    0.5 s
    Stop Probing Data Plane
    Data Plane Packets Lost Should Be At Most    2

Left Running Is Stopped With Its Test
    Start Probing Data Plane    late=${NS} -> 127.0.0.1    name=late    baseline=0 s
"""


@pytest.fixture
def namespace():
    name = f"xt-dp-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=True, timeout=10)


def test_keywords_in_a_robot_run(tmp_path, namespace):
    suite = tmp_path / "dataplane.robot"
    suite.write_text(SUITE)
    with open(os.devnull, "w") as devnull:
        run(str(suite), outputdir=str(tmp_path), report="NONE", log="NONE",
            variable=[f"NS:{namespace}", f"TARGET:{tmp_path / 'no-target.yaml'}"],
            stdout=devnull, stderr=devnull)
    output = tmp_path / "output.xml"
    tests = {t.name: t for t in ExecutionResult(str(output)).suite.all_tests}
    assert tests["Loopback Path Keeps Every Packet"].status == "PASS", \
        tests["Loopback Path Keeps Every Packet"].message
    failed = tests["Unreachable Path Fails Its Verdict"]
    assert failed.status == "FAIL"
    assert "north-south:" in failed.message and "expected at most 2" in failed.message
    assert tests["Left Running Is Stopped With Its Test"].status == "PASS"
    records = results.read_expectations(output)
    assert [(r["subject"], r["what"], r["passed"]) for r in records] == [
        ("east-west", "data-plane outages", True),
        ("east-west", "packets lost (all)", True),
        ("north-south", "packets lost (all)", False)]
    assert records[2]["measured"] >= 8  # every connection to a closed port refused
    monitors = [data for kind, data in results.read_records(output) if kind == "monitor"]
    assert [m["monitor"] for m in monitors] == ["data plane", "data plane", "late"]
    assert all(not m["running"] for m in monitors)

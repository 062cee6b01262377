"""A destructive case that fails before it stops measuring: its teardown stops the monitor
(no "still running when its test ended" warning for it), once and in the right place; a
passing case is untouched, and one that forgot to stop its monitor is still warned
about. The keyword itself, and a real Robot run of destructive.resource against the fake
cloud (never the lab: the target is the fake cloud's own)."""

from __future__ import annotations

import os
from datetime import timedelta
import subprocess
import sys
from pathlib import Path

import pytest
from robot.api import ExecutionResult, get_model

from ExtremeTesting import results
from ExtremeTesting.monitor import Monitor
from ExtremeTesting.monitor.fakecloud import FakeCloud

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
STILL_RUNNING = "was still running when its test"


@pytest.fixture
def cloud():
    with FakeCloud() as fake:
        yield fake


def fake_target(folder: Path, cloud: FakeCloud) -> Path:
    (folder / "clouds.yaml").write_text(f"""clouds:
  fake:
    auth:
      auth_url: {cloud.url}/v3
      username: admin
      password: {cloud.password}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
""")
    path = folder / "target.yaml"
    path.write_text(f"""name: fake
cloud: fake
clouds_yaml: clouds.yaml
endpoints:
  identity: {cloud.url}/v3
  network: {cloud.url}
probes:
  rate: 20
  timeout: 0.5
  writes: [{{kind: network, rate: 10}}]
  settle: 1
expectations:
  default: {{settle: 1 s, healthy_within: 1 min}}
  left_running: {{}}
""")
    return path


def test_the_keyword_stops_a_running_monitor_once_and_otherwise_does_nothing(
        tmp_path, cloud, monkeypatch):
    published = []
    monkeypatch.setattr(results, "publish", lambda kind, data, *a, **k: published.append(
        (kind, data)))
    for name in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD"):
        monkeypatch.delenv(name, raising=False)
    library = Monitor(str(fake_target(tmp_path, cloud)))
    assert library.stop_availability_monitor_if_running() is None  # never started
    library.start_availability_monitor(writes="network", baseline=timedelta(seconds=0.5))
    result = library.stop_availability_monitor_if_running()
    assert result is not None and result["writes"]["write-network"]["checked"] >= 1
    assert not library._sessions["default"].running
    assert cloud.networks == {}  # the run's networks cleaned up
    assert library.stop_availability_monitor_if_running() is None  # stopped already
    assert [kind for kind, _ in published] == ["monitor"]  # stopped and published once


SUITE = """\
*** Settings ***
Resource          {resources}/destructive.resource
Suite Setup       Use The Expectations Of    left_running
Test Teardown     Stop Measuring Availability Left Running By A Failure

*** Test Cases ***
A Case That Fails Before It Stops Measuring
    Start Measuring Availability With Writes    baseline=0.5 s
    Fail    Roll-out of placement stopped at ctl1

A Case That Stops Measuring And Passes
    Start Measuring Availability With Writes    baseline=0.5 s
    Stop Measuring Availability

A Case That Forgets To Stop Measuring
    Start Measuring Availability    baseline=0.5 s

A Case That Fails Before It Measures
    Fail    not healthy
"""


def keywords_named(item, name: str) -> list:
    found = []

    def walk(node):
        for child in getattr(node, "body", []):
            if getattr(child, "name", None) == name:
                found.append(child)
            walk(child)
        teardown = getattr(node, "teardown", None)
        if teardown is not None and getattr(teardown, "name", None):
            if teardown.name == name:
                found.append(teardown)
            walk(teardown)

    walk(item)
    return found


def test_a_failed_cases_teardown_stops_its_monitor_and_a_passing_one_is_left_alone(
        tmp_path, cloud):
    suite = tmp_path / "left_running.robot"
    suite.write_text(SUITE.format(resources=RESOURCES))
    env = {k: v for k, v in os.environ.items()
           if k not in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD")}
    env["EXTREME_TARGET"] = str(fake_target(tmp_path, cloud))  # the fake cloud, not the lab
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    output = tmp_path / "output.xml"
    subprocess.run([sys.executable, "-m", "robot", "--output", str(output), "--log", "NONE",
                    "--report", "NONE", "--console", "none", str(suite)],
                   env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240,
                   check=False)
    run = ExecutionResult(str(output))
    tests = {t.name: t for t in run.suite.tests}
    warnings = [m.message for m in run.errors.messages if m.level == "WARN"]

    failed = tests["A Case That Fails Before It Stops Measuring"]
    assert failed.status == "FAIL"
    assert failed.message == "Roll-out of placement stopped at ctl1"  # teardown passed
    stops = keywords_named(failed.teardown, "Stop Availability Monitor If Running")
    assert [s.status for s in stops] == ["PASS"]
    logged = " ".join(m.message for m in stops[0].body if hasattr(m, "message"))
    assert "was still running: stopped it" in logged

    passed = tests["A Case That Stops Measuring And Passes"]
    assert passed.status == "PASS", passed.message
    assert [s.status for s in keywords_named(
        passed.teardown, "Stop Availability Monitor If Running")] in ([], ["NOT RUN"])
    assert len(keywords_named(passed, "Stop Availability Monitor")) == 1  # stopped once

    assert tests["A Case That Fails Before It Measures"].message == "not healthy"
    # the noise is gone for the failed case; a passing case that forgot is still warned
    assert not any(STILL_RUNNING in w and "Fails Before It Stops" in w for w in warnings)
    assert [w for w in warnings if STILL_RUNNING in w] and all(
        "Forgets To Stop Measuring" in w for w in warnings if STILL_RUNNING in w), warnings
    assert cloud.networks == {}  # every run's networks cleaned up


def test_the_destructive_teardown_stops_it_after_the_recovery_and_before_the_lock():
    model = get_model(str(RESOURCES / "destructive.resource"))
    steps = {}
    for section in model.sections:
        for keyword in getattr(section, "body", []):
            if getattr(keyword, "name", "") == "Finish A Destructive Case":
                steps = [s.keyword for s in keyword.body if hasattr(s, "keyword")]
    assert steps.index("The Cloud Should Be Left Healthy Within") < steps.index(
        "Stop Measuring Availability Left Running By A Failure") < steps.index(
        "Collect Evidence Of Failed Requests") < steps.index("Release The Destructive Lock")

"""The Locust engine as its own process, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from ExtremeTesting.load.locust_engine import LocustRunner
from ExtremeTesting.load.runners import LoadPlan
from ExtremeTesting.load.stats import summarise

HERE = str(Path(__file__).parent)

sys.path.insert(0, str(Path(__file__).parent))  # with or without tests/unit/__init__.py
from test_load_support import LocalServer  # noqa: E402


@pytest.fixture(autouse=True)
def workload_importable(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (HERE, os.environ.get("PYTHONPATH", "")) if p))


def test_locust_constant_rate_returns_every_sample(tmp_path):
    with LocalServer() as server:
        plan = LoadPlan(workload="test_load_support:hit", mode="rate", rate=20, duration=3,
                        concurrency=4, timeout=5, params={"url": server.url + "/?ms=5"})
        runner = LocustRunner(plan, {"cloud": "", "clouds_yaml": "", "timeout": 5},
                              workdir=tmp_path)
        started = time.monotonic()
        outcome = runner.run()
        wall = time.monotonic() - started
    assert wall < 20, outcome.log
    summary = summarise(outcome.samples, workload=plan.workload, engine="locust",
                        mode="rate", started=outcome.started, ended=outcome.ended,
                        concurrency=4, requested_rate=20, window=3)
    assert 56 <= summary.requests <= 61, outcome.log
    assert summary.requests == server.count
    assert summary.achieved_rate == pytest.approx(20, rel=0.1)
    assert summary.failures == 0
    assert {s.worker for s in outcome.samples} == {1, 2, 3, 4}
    assert all(s.request_id.startswith("req-") for s in outcome.samples)
    # on this host's monotonic clock, inside the run
    assert all(outcome.started - 0.01 <= s.start <= outcome.ended for s in outcome.samples)


def test_locust_constant_concurrency_and_credentials_stay_out_of_argv(tmp_path, monkeypatch):
    monkeypatch.setenv("OS_PASSWORD", "not-in-argv")
    with LocalServer() as server:
        plan = LoadPlan(workload="test_load_support:hit", concurrency=3, duration=2,
                        timeout=5, params={"url": server.url + "/?ms=50"})
        runner = LocustRunner(plan, {"cloud": "lab", "clouds_yaml": "/x/clouds.yaml"},
                              workdir=tmp_path)
        assert "not-in-argv" not in " ".join(runner.command())
        assert "/x/clouds.yaml" not in " ".join(runner.command())
        assert runner.environment()["OS_PASSWORD"] == "not-in-argv"
        outcome = runner.run()
    assert server.max_in_flight == 3, outcome.log
    assert 3 * 25 <= len(outcome.samples) <= 3 * 40, outcome.log


def test_locust_is_killed_at_its_hard_timeout(tmp_path, monkeypatch):
    plan = LoadPlan(workload="test_load_support:noop", concurrency=1, duration=60,
                    timeout=1)
    runner = LocustRunner(plan, {}, workdir=tmp_path)
    monkeypatch.setattr(LocustRunner, "hard_timeout", property(lambda self: 4.0))
    started = time.monotonic()
    outcome = runner.run()
    assert time.monotonic() - started < 15
    assert runner._process.poll() is not None
    assert outcome.samples, outcome.log  # what it did before the kill was kept

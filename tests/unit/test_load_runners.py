"""In-process runners against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from ExtremeTesting.load.runners import (
    InProcessRunner,
    LoadPlan,
    LoadPlanError,
    schedule_offset,
)
from ExtremeTesting.load.stats import summarise

sys.path.insert(0, str(Path(__file__).parent))  # with or without tests/unit/__init__.py
from test_load_support import LocalServer, hit, noop  # noqa: E402


def _summary(plan: LoadPlan, outcome):
    return summarise(outcome.samples, workload=plan.workload, engine="inprocess",
                     mode=plan.mode, started=outcome.started, ended=outcome.ended,
                     concurrency=plan.concurrency, ramp_up=plan.ramp_up,
                     requested_rate=plan.rate if plan.mode == "rate" else None,
                     window=(plan.duration - plan.ramp_up) if plan.duration else None,
                     not_started=outcome.not_started)


def test_constant_rate_achieves_the_requested_rate():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", mode="rate", rate=40, duration=2.0, concurrency=8,
                        params={"url": server.url + "/?ms=10"})
        outcome = InProcessRunner(plan, hit, None).run()
    summary = _summary(plan, outcome)
    assert summary.achieved_rate == pytest.approx(40, rel=0.1)
    assert 76 <= summary.requests <= 81
    assert summary.failures == 0
    assert summary.lag_p99 is not None and summary.lag_p99 < 0.05
    assert server.count == summary.requests
    assert all(s.request_id.startswith("req-") and s.status == 200 for s in outcome.samples)


def test_constant_rate_ramps_up_linearly():
    assert schedule_offset(0, 10, 2) == 0
    assert schedule_offset(10, 10, 2) == pytest.approx(2.0)  # 10 iterations in the ramp
    assert schedule_offset(20, 10, 2) == pytest.approx(3.0)  # then 10/s
    assert schedule_offset(5, 10, 0) == pytest.approx(0.5)
    offsets = [schedule_offset(k, 10, 2) for k in range(30)]
    assert offsets == sorted(offsets)
    plan = LoadPlan(workload="noop", mode="rate", rate=20, duration=2.0, ramp_up=1.0)
    outcome = InProcessRunner(plan, noop, None).run()
    first_second = [s for s in outcome.samples if s.start - outcome.started < 1.0]
    assert len(first_second) == pytest.approx(10, abs=1)  # half the rate over the ramp
    assert len(outcome.samples) == pytest.approx(30, abs=1)


def test_constant_concurrency_keeps_n_workers_busy():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", concurrency=5, duration=1.5,
                        params={"url": server.url + "/?ms=100"})
        outcome = InProcessRunner(plan, hit, None).run()
    assert server.max_in_flight == 5
    assert outcome.max_in_flight == 5
    assert {s.worker for s in outcome.samples} == set(range(5))
    assert 5 * 12 <= len(outcome.samples) <= 5 * 15  # 1.5 s / 0.1 s per iteration


def test_iteration_count_is_exact_and_ends_the_run():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", concurrency=3, iterations=12,
                        params={"url": server.url})
        started = time.monotonic()
        outcome = InProcessRunner(plan, hit, None).run()
    assert len(outcome.samples) == 12 == server.count
    assert sorted(s.seq for s in outcome.samples) == list(range(12))
    assert time.monotonic() - started < 5


def test_failures_carry_status_request_id_and_error():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", concurrency=2, iterations=4,
                        params={"url": server.url + "/fail"})
        outcome = InProcessRunner(plan, hit, None).run()
    assert len(outcome.samples) == 4
    for sample in outcome.samples:
        assert not sample.ok and sample.outcome == "error"
        assert sample.status == 503
        assert sample.request_id.startswith("req-")
        assert "HTTP 503" in sample.error


def test_a_slow_answer_is_a_timeout():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", concurrency=1, iterations=1,
                        params={"url": server.url + "/?ms=1500", "timeout": 0.2})
        outcome = InProcessRunner(plan, hit, None).run()
    assert [s.outcome for s in outcome.samples] == ["timeout"]


def test_stop_ends_a_long_load_early():
    plan = LoadPlan(workload="noop", mode="rate", rate=50, duration=60)
    runner = InProcessRunner(plan, noop, None)
    threading.Timer(0.5, runner.stop).start()
    started = time.monotonic()
    outcome = runner.run()
    assert time.monotonic() - started < 3
    assert 15 <= len(outcome.samples) <= 40


def test_a_stuck_worker_does_not_hold_the_runner_past_its_grace():
    release = threading.Event()

    def stuck(ctx):
        release.wait(10)

    plan = LoadPlan(workload="stuck", concurrency=1, duration=0.3, grace=0.3)
    started = time.monotonic()
    outcome = InProcessRunner(plan, stuck, None).run()
    release.set()
    assert time.monotonic() - started < 2
    assert outcome.unfinished == 1


@pytest.mark.parametrize("kwargs, message", [
    ({}, "needs an end"),
    ({"duration": 1, "mode": "rate"}, "rate above 0"),
    ({"duration": 1, "concurrency": 0}, "at least 1"),
    ({"duration": 1, "ramp_up": 2}, "shorter than the duration"),
    ({"iterations": 0}, "at least 1"),
])
def test_plans_without_sense_are_refused(kwargs, message):
    with pytest.raises(LoadPlanError, match=message):
        LoadPlan(workload="noop", **kwargs).check()

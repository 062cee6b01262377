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


# Timing here is only a sanity band that still catches a broken scheduler (these run on a
# busy 2-core CI host); the precise figures (achieved rate, lag p50/p99) are printed by
# bench/load_rate.py.

def test_constant_rate_achieves_the_requested_rate():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", mode="rate", rate=40, duration=2.0, concurrency=8,
                        params={"url": server.url + "/?ms=10"})
        outcome = InProcessRunner(plan, hit, None).run()
    summary = _summary(plan, outcome)
    # exactly the 80 iterations due in 2 s at 40/s were handed out: each ran or was counted
    assert summary.requests + outcome.not_started == 80
    assert summary.requests == server.count
    assert summary.failures == 0
    assert outcome.unfinished == 0
    assert 0.65 * 40 <= summary.achieved_rate <= 40  # never above the requested rate
    assert outcome.max_in_flight <= plan.concurrency
    # never started before its slot (a scheduler running ahead would show here)
    assert all(s.start >= s.scheduled - 0.001 for s in outcome.samples)
    assert sorted(s.scheduled - outcome.started for s in outcome.samples) == pytest.approx(
        sorted(schedule_offset(s.seq, 40, 0) for s in outcome.samples), abs=1e-6)
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
    # by schedule (start times shift with a busy host's lag; bench/load_rate.py measures it)
    first_second = [s for s in outcome.samples if s.scheduled - outcome.started < 1.0]
    assert len(first_second) == 10  # half the rate over the ramp
    assert len(outcome.samples) + outcome.not_started == 30
    assert len(outcome.samples) >= 0.65 * 30


def test_constant_concurrency_keeps_n_workers_busy():
    with LocalServer() as server:
        plan = LoadPlan(workload="hit", concurrency=5, duration=1.5,
                        params={"url": server.url + "/?ms=100"})
        outcome = InProcessRunner(plan, hit, None).run()
    assert outcome.max_in_flight == 5  # iterations the runner had going at once
    assert 1 <= server.max_in_flight <= 5
    assert {s.worker for s in outcome.samples} == set(range(5))
    assert len(outcome.samples) == server.count
    assert all(s.ok for s in outcome.samples)
    # at most 15 per worker (1.5 s / 0.1 s per iteration); the lower bound is only sanity
    assert 5 * 4 <= len(outcome.samples) <= 5 * 15


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
    timer = threading.Timer(0.5, runner.stop)
    timer.start()
    started = time.monotonic()
    outcome = runner.run()
    elapsed = time.monotonic() - started
    timer.join()
    assert elapsed < 5
    # no more than the slots due before the stop; about 25 on an idle host
    assert 5 <= len(outcome.samples) + outcome.not_started <= 50 * elapsed + 1


def test_a_stuck_worker_does_not_hold_the_runner_past_its_grace():
    release = threading.Event()

    def stuck(ctx):
        release.wait(10)

    plan = LoadPlan(workload="stuck", concurrency=1, duration=0.3, grace=0.3)
    started = time.monotonic()
    outcome = InProcessRunner(plan, stuck, None).run()
    release.set()
    assert time.monotonic() - started < 5  # not the stuck call's 10 s
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

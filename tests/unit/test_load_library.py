"""The Load library's keywords, outside Robot, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from ExtremeTesting import events, results
from ExtremeTesting.load import Engine, Load, SlaViolation
from ExtremeTesting.load.library import NoLoadResult

WORKLOAD = "test_load_support:hit"

sys.path.insert(0, str(Path(__file__).parent))  # with or without tests/unit/__init__.py
from test_load_support import LocalServer  # noqa: E402


@pytest.fixture
def published(monkeypatch):
    seen: list[tuple[str, dict, str]] = []
    monkeypatch.setattr(results, "publish",
                        lambda kind, data, html="": seen.append((kind, data, html)))
    return seen


@pytest.fixture
def library(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EXTREME_TARGET", str(tmp_path / "no-target.yaml"))
    return Load()


def test_constant_rate_keyword_publishes_every_figure(library, published, tmp_path):
    with LocalServer() as server:
        result = library.run_constant_rate_load(WORKLOAD, rate=30, duration=timedelta(
            seconds=1.5), engine=Engine.inprocess, url=server.url + "/?ms=5")
    assert [kind for kind, _, _ in published] == ["load"]
    data = published[0][1]
    for key in ("requests", "failures", "failure_rate", "p50", "p90", "p95", "p99", "max",
                "throughput", "requested_rate", "achieved_rate", "png"):
        assert key in data, key
    assert data["requests"] == result.summary.requests == server.count
    assert data["requested_rate"] == 30
    assert 0.65 * 30 <= data["achieved_rate"] <= 30  # figures: bench/load_rate.py
    assert (tmp_path / data["png"]).read_bytes().startswith(b"\x89PNG")
    html = published[0][2]
    assert "<table" in html and "data:image/png;base64," in html
    json.dumps(data)  # the report reads it back as JSON


def test_sla_passes_on_a_generous_limit_and_fails_with_the_figure(library, published):
    with LocalServer() as server:
        library.run_constant_concurrency_load(WORKLOAD, concurrency=2, iterations=20,
                                              engine=Engine.inprocess,
                                              url=server.url + "/?ms=20")
    assert library.load_failure_rate_should_be_below("1%") == 0.0
    p95 = library.load_percentile_should_be_below("p95", timedelta(seconds=5))
    assert 0.015 < p95 < 5
    library.load_max_duration_should_be_below(timedelta(seconds=5))
    library.load_throughput_should_be_at_least(1)

    with pytest.raises(SlaViolation) as failure:
        library.load_percentile_should_be_below("p95", timedelta(milliseconds=1))
    message = str(failure.value)
    assert re.search(r"p95 duration was \d+ ms, expected below 1 ms", message), message
    assert f"{round(p95 * 1000)} ms" in message
    with pytest.raises(SlaViolation, match=r"throughput was [\d.]+/s, expected at least "
                                           r"100000/s"):
        library.load_throughput_should_be_at_least(100000)
    with pytest.raises(SlaViolation, match=r"longest iteration took \d+ ms"):
        library.load_max_duration_should_be_below(timedelta(milliseconds=1))
    assert SlaViolation.ROBOT_CONTINUE_ON_FAILURE
    # Records name the workload, not the run's load name: runs compare case by case.
    subjects = {data["subject"] for kind, data, _ in published if kind == "expectation"}
    assert subjects == {WORKLOAD}, subjects


def test_failure_rate_fails_with_the_count(library, published):
    with LocalServer() as server:
        library.run_constant_concurrency_load(WORKLOAD, concurrency=1, iterations=4,
                                              engine=Engine.inprocess, url=server.url + "/fail")
    with pytest.raises(SlaViolation, match=r"failure rate was 100.00 % \(4 of 4\), expected "
                                           r"below 5 %"):
        library.load_failure_rate_should_be_below("5%")
    assert published[0][1]["errors"] == {"WorkloadError: HTTP 503": 4}


def test_assertions_before_any_load_say_so(library):
    with pytest.raises(NoLoadResult, match="No load has run yet"):
        library.load_failure_rate_should_be_below("1%")


def test_background_load_measures_a_fault_from_its_side(library, published):
    events.clear()
    with LocalServer() as server:
        handle = library.start_constant_rate_load(WORKLOAD, rate=20, duration=timedelta(
            seconds=1.2), engine=Engine.inprocess, url=server.url)
        timer = threading.Timer(0.5, events.publish, ("faults", "in effect", "restart",
                                                      "keystone on ctl1"))
        timer.start()
        result = library.wait_for_load(handle)
        timer.join()
    assert [e.action for e in result.events] == ["restart"]
    # 24 due in 1.2 s at 20/s: each ran or was counted as not started
    assert result.summary.requests + result.summary.not_started == 24
    assert "during_fault" in published[-1][1]


def test_stop_load_ends_it_early(library, published):
    library.start_constant_rate_load("test_load_support:noop", rate=20,
                                     duration=timedelta(minutes=5), engine=Engine.inprocess)
    threading.Event().wait(0.3)
    result = library.stop_load()
    assert result.summary.elapsed < 5  # not the planned 5 minutes
    # about 6 due in 0.3 s at 20/s; never more than due by the time it stopped
    assert 1 <= result.summary.requests + result.summary.not_started \
        <= 20 * result.summary.elapsed + 1


def test_unknown_workload_lists_the_known_ones(library):
    with pytest.raises(Exception, match="Built-in: issue token"):
        library.run_constant_concurrency_load("no such thing", concurrency=1, iterations=1,
                                              engine=Engine.inprocess)


@pytest.mark.parametrize(("workload", "params", "named"), [
    ("list resources", {"resource": "image"}, "resource=image is not one it can take"),
    ("list resources", {"resource": "images, volumes"}, "(volumes); expected one of servers"),
    ("list resources", {"resourse": "images"}, "takes resource=; got resourse=images"),
    ("show resource", {"resource": "images"}, "expected one of project, image, network"),
    ("create and delete network", {"size": 10}, "takes no parameter; got size=10"),
])
def test_a_parameter_the_workload_cannot_take_fails_before_the_load_starts(
        library, workload, params, named):
    # Else every iteration fails (a wrong value) or the parameter is silently ignored (a
    # wrong name), and the case reads as the cloud's failure.
    with pytest.raises(Exception, match=re.escape(named)):
        library.start_constant_rate_load(workload, rate=1, duration=timedelta(seconds=1),
                                         engine=Engine.inprocess, **params)
    with pytest.raises(NoLoadResult):
        library.stop_load()  # nothing was started


def test_the_parameters_each_workload_takes_pass():
    from ExtremeTesting.load.workloads import check_params
    check_params("list resources", {"resource": "servers,images"})
    check_params("list", {"resource": "flavors"})
    check_params("show resource", {"resource": "network"})
    check_params("boot and delete server", {"image": "cirros", "flavor": "m1", "wait": 60})
    check_params("issue token", {"login_every": 10})
    check_params("test_load_support:hit", {"url": "anything", "ms": 5})  # yours: not ours


def test_stop_load_returns_a_load_that_already_ended_by_its_duration(library, published):
    handle = library.start_constant_rate_load("test_load_support:noop", rate=20,
                                              duration=timedelta(seconds=0.2),
                                              engine=Engine.inprocess)
    library._background[handle].thread.join(timeout=10)
    result = library.stop_load()
    assert result.summary.requests + result.summary.not_started == 4
    with pytest.raises(NoLoadResult, match="No load runs in the background"):
        library.stop_load()  # its result was taken


def test_auto_engine_picks_locust_above_the_threshold(library):
    plan = library._plan("noop", "concurrency", 51, 0, timedelta(seconds=1), None,
                         timedelta(0), {})
    assert library._engine(None, plan, 1) is Engine.locust
    small = library._plan("noop", "concurrency", 5, 0, timedelta(seconds=1), None,
                          timedelta(0), {})
    assert library._engine(None, small, 1) is Engine.inprocess
    assert library._engine(None, small, 2) is Engine.locust
    assert small.prefix.startswith("xload-") and small.prefix != plan.prefix


def test_failed_iterations_judges_a_count_and_publishes_it(library, published):
    with LocalServer() as server:
        ok = library.run_constant_concurrency_load(WORKLOAD, concurrency=1, iterations=5,
                                                   engine=Engine.inprocess, url=server.url)
        failing = library.run_constant_concurrency_load(WORKLOAD, concurrency=1, iterations=3,
                                                        engine=Engine.inprocess,
                                                        url=server.url + "/fail")
    assert library.load_failed_iterations_should_be_at_most(0, result=ok) == 0
    with pytest.raises(SlaViolation, match=r"3 of 3 iterations failed, expected at most 0 "
                                           r"\(WorkloadError: HTTP 503 x3\)"):
        library.load_failed_iterations_should_be_at_most(0, result=failing)
    assert library.load_failed_iterations_should_be_at_most(3) == 3  # the last load
    records = [data for kind, data, _ in published if kind == "expectation"]
    assert [(r["limit"], r["comparison"], r["measured"], r["unit"], r["passed"])
            for r in records] == [(0, "<=", 0, "count", True), (0, "<=", 3, "count", False),
                                  (3, "<=", 3, "count", True)]
    assert {r["keyword"] for r in records} == {"Load Failed Iterations Should Be At Most"}
    assert {r["what"] for r in records} == {"failed iterations"}
    assert "Load Failed Iterations Should Be At Most" in results.VERDICT_KEYWORDS


def test_failed_iterations_refuses_a_load_that_ran_nothing(library, published):
    from ExtremeTesting.load.runners import LoadPlan, RunOutcome

    plan = LoadPlan(workload="issue token", mode="rate", concurrency=1, rate=1.0,
                    duration=1.0, prefix="xload-t-1-").check()
    nothing = library._finish(plan, Engine.inprocess,
                              RunOutcome(samples=[], started=0.0, ended=1.0, wall_started=0.0),
                              clean=False)
    with pytest.raises(SlaViolation, match="no iteration ran"):
        library.load_failed_iterations_should_be_at_most(0, result=nothing)
    record = [data for kind, data, _ in published if kind == "expectation"][-1]
    assert record["measured"] is None and record["passed"] is False

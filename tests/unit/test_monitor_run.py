"""The monitor against a real HTTP server on 127.0.0.1 with planted outages."""

import threading
import time

import pytest

from ExtremeTesting.monitor import http
from ExtremeTesting.monitor.engine import MonitorRun
from ExtremeTesting.monitor.fakecloud import FakeCloud
from ExtremeTesting.monitor.probes import CallableProbe, GetProbe, Outcome
from ExtremeTesting.monitor.session import MonitorSession


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# These run on a busy 2-core CI host: timing bounds here are sanity bands that still catch
# a wrong measurement; the precise accuracy (|measured - planted| <= 0.2 s at 10/s) and
# the scheduling lag are printed by bench/monitor_accuracy.py.

def test_planted_one_second_outage_is_measured():
    with FakeCloud() as cloud:
        session = MonitorSession("plant", [
            GetProbe("version", url=cloud.url + "/", rate=10, timeout=1.0)])
        started = time.monotonic()
        session.start()
        origin = session.run.origin
        time.sleep(1.0)
        planted_start = cloud.down("503")
        time.sleep(1.0)
        planted_end = cloud.up()
        time.sleep(1.0)
        result = session.stop()
        elapsed = time.monotonic() - started
    (outage,) = result["overall"]["outages"]
    planted = planted_end - planted_start
    assert abs(outage["duration"] - planted) <= 0.5
    assert abs(outage["start"] - (planted_start - origin)) <= 0.5
    assert abs(outage["end"] - (planted_end - origin)) <= 0.5
    assert 0 < outage["uncertainty"] <= 0.5
    assert outage["errors"] == {"HTTP 503": outage["failed_samples"]}
    assert outage["failed_samples"] >= 3  # about 10 on an idle host
    probe = result["probes"]["version"]
    assert 15 <= probe["counts"]["samples"] <= 10 * elapsed + 1  # never above the rate
    # the scheduler kept time: a lag measured in seconds, and within the 0.5 s band the
    # outage's edges are held to above (bench/monitor_capacity.py: p99 3.9 ms at 500/s)
    assert 0 <= result["scheduling"]["lag_p99"] < 0.5, result["scheduling"]


def test_healthy_period_shows_no_outage_and_request_ids():
    with FakeCloud() as cloud:
        session = MonitorSession("healthy", [
            GetProbe("version", url=cloud.url + "/", rate=20, timeout=1.0)])
        session.start()
        wait_for(lambda: session.run.timelines["version"].total >= 10)
        result = session.stop()
        samples = session.run.samples()["version"]
    assert result["overall"]["outages"] == []
    assert result["overall"]["error_rate"]["all"] == 0
    assert all(s.request_id.startswith("req-") and s.status == 200 for s in samples)


def test_a_hung_probe_neither_delays_others_nor_outlives_its_timeout():
    with FakeCloud() as hung, FakeCloud() as healthy:
        hung.down("hang")
        session = MonitorSession("hang", [
            GetProbe("hung", url=hung.url + "/", rate=10, timeout=0.3),
            GetProbe("healthy", url=healthy.url + "/", rate=10, timeout=0.3)])
        session.start()
        time.sleep(1.5)
        before_stop = time.monotonic()
        session.run.stop()
        stopped_in = time.monotonic() - before_stop
        result = session.stop(draw=False)
        hung.up()
    assert stopped_in < 2  # outstanding samples end by their own timeout, not the 30 s hang
    assert result["probes"]["healthy"]["outages"] == []
    # about 15 in 1.5 s; waiting behind the hung probe's 0.3 s timeouts would give <= 5
    assert result["probes"]["healthy"]["counts"]["samples"] >= 8
    hung_figures = result["probes"]["hung"]
    assert hung_figures["counts"]["samples"] >= 3
    assert hung_figures["error_rate"]["all"] == 1.0
    assert "timeout after 0.3 s" in hung_figures["outages"][0]["errors"]
    assert result["probes"]["healthy"]["lag_p99"] < 0.3  # never held for a hung timeout


def test_slots_are_missed_and_counted_when_a_probe_is_saturated():
    release = threading.Event()

    def slow() -> Outcome:
        release.wait(2)
        return Outcome(True)

    probe = CallableProbe("slow", rate=20, timeout=0.1, function=slow)  # 4 in flight at most
    run = MonitorRun([probe])
    run.start()
    time.sleep(0.5)
    release.set()
    run.stop()
    counts = run.timelines["slow"].counts()
    assert counts["missed_slots"] >= 2  # about 6 on an idle host
    assert counts["samples"] + counts["missed_slots"] >= 6  # of about 10 slots in 0.5 s
    # answers over the timeout count as failures
    assert counts["failed"] >= 1


def test_memory_is_bounded_but_counts_cover_every_sample():
    probe = CallableProbe("fast", rate=200, timeout=0.5, function=lambda: Outcome(True))
    run = MonitorRun([probe], sample_cap=20)
    run.start()
    wait_for(lambda: run.timelines["fast"].total >= 60)
    run.stop()
    counts = run.timelines["fast"].counts()
    assert len(run.timelines["fast"].samples()) == 20
    assert counts["evicted"] == counts["samples"] - 20


def test_grid_does_not_drift():
    probe = CallableProbe("grid", rate=50, timeout=0.5, function=lambda: Outcome(True))
    run = MonitorRun([probe])
    run.start()
    wait_for(lambda: run.timelines["grid"].total >= 50)
    run.stop()
    samples = run.timelines["grid"].samples()
    for sample in samples:
        assert sample.scheduled == pytest.approx(run.origin + sample.seq / 50, abs=1e-9)
    assert samples[-1].seq >= 49


def test_http_client_reports_refused_connections_and_statuses():
    with FakeCloud() as cloud:
        url = cloud.url
        assert http.request("GET", url + "/", 1.0).status == 200
    http.close_thread_connections()  # the server's keep-alive threads outlive it
    with pytest.raises(http.ProbeError, match="refused"):
        http.request("GET", url + "/", 0.5)


def test_a_probe_that_times_its_own_exchange_is_not_failed_for_this_process_being_slow():
    """A data-plane sample whose packets came back within the timeout, counted from the
    send, stays OK although the whole sample (socket set-up in the namespace, this process
    waiting for a core) took longer: the main job of 2026-12-07 failed a placement restart
    on one TCP echo 'answer after 0.169 s, over the timeout' (timeout 0.15 s). A probe
    without its own clock is still failed for an answer over the timeout."""
    from dataclasses import dataclass
    from typing import ClassVar

    from ExtremeTesting.monitor.dataplane import IcmpProbe, TcpProbe

    @dataclass
    class SelfTimed(CallableProbe):
        times_itself: ClassVar[bool] = True

    def slow_but_answered() -> Outcome:
        time.sleep(0.25)
        return Outcome(True)

    timed = SelfTimed("timed", rate=2, timeout=0.1, function=slow_but_answered)
    plain = CallableProbe("plain", rate=2, timeout=0.1, function=slow_but_answered)
    run = MonitorRun([timed, plain])
    run.start()
    wait_for(lambda: run.timelines["timed"].total >= 2 and run.timelines["plain"].total >= 2)
    run.stop()
    assert run.timelines["timed"].counts()["failed"] == 0
    plain_samples = run.timelines["plain"].samples()
    assert plain_samples and all(not s.ok and "over the timeout" in s.error
                                 for s in plain_samples)
    assert TcpProbe.times_itself and IcmpProbe.times_itself and not GetProbe.times_itself

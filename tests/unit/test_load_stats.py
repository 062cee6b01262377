"""Figures and the sample format shared with the monitor."""

from __future__ import annotations

import math
import time

import pytest
from ExtremeTesting.load import samples as load_samples
from ExtremeTesting.load.samples import Sample, read_jsonl, write_jsonl
from ExtremeTesting.load.stats import max_overlap, percentile, summarise
from ExtremeTesting.monitor.samples import Sample as MonitorSample


def _sample(start, duration, ok=True, **kw):
    return Sample(probe="w", seq=0, scheduled=start, start=start, end=start + duration,
                  wall_start=1000 + start, wall_end=1000 + start + duration, ok=ok,
                  outcome="ok" if ok else "error", **kw)


def test_percentiles_interpolate_like_numpy():
    values = list(range(1, 101))
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 90) == pytest.approx(90.1)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 95) == 3.0
    assert math.isnan(percentile([], 50))


def test_max_overlap_counts_concurrent_iterations():
    assert max_overlap([_sample(0, 1), _sample(0.5, 1), _sample(0.9, 0.05),
                        _sample(2, 1)]) == 3
    assert max_overlap([_sample(0, 1), _sample(1, 1)]) == 1  # back to back is not overlap


def test_summary_figures():
    samples = [_sample(i * 0.1, 0.05) for i in range(18)] + [
        _sample(1.8, 2.0, ok=False, error="HTTP 503"), _sample(1.9, 0.05, ok=False,
                                                               error="HTTP 503")]
    s = summarise(samples, workload="w", engine="inprocess", mode="rate", started=0.0,
                  ended=4.0, concurrency=4, requested_rate=10, window=2.0)
    assert (s.requests, s.failures, s.failure_rate) == (20, 2, 0.1)
    assert s.max == pytest.approx(2.0)
    assert s.achieved_rate == pytest.approx(10.0)
    assert s.throughput == pytest.approx(5.0)  # 20 done over 4 s
    assert s.errors == {"HTTP 503": 2}
    assert s.as_dict()["p50"] == pytest.approx(0.05)


def test_a_load_sample_is_a_monitor_sample_and_survives_json_lines(tmp_path):
    sample = _sample(time.monotonic(), 0.2, ok=False, status=503, error="HTTP 503",
                     request_id="req-1", worker=3)
    assert isinstance(sample, MonitorSample)
    assert sample.latency == pytest.approx(0.2)
    path = tmp_path / "s.jsonl"
    write_jsonl([sample], path)
    with open(path, "a") as stream:
        stream.write('{"probe": "torn')  # a writer killed mid-line
    assert list(read_jsonl(path)) == [sample]


def test_samples_from_another_host_land_on_this_clock(monkeypatch):
    now_wall, now_mono = time.time(), time.monotonic()
    remote = Sample(probe="w", seq=1, scheduled=50.0, start=50.5, end=51.0,
                    wall_start=now_wall - 10, wall_end=now_wall - 9.5, ok=True,
                    host="elsewhere")
    rebased = load_samples.rebase(remote, offset=now_wall - now_mono)
    assert rebased.start == pytest.approx(now_mono - 10)
    assert rebased.end == pytest.approx(now_mono - 9.5)
    assert rebased.scheduled == pytest.approx(now_mono - 10.5)

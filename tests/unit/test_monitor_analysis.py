"""Outage windows, recovery, phases and percentiles on synthetic timelines."""

from dataclasses import dataclass

import pytest

from ExtremeTesting.monitor import analysis


@dataclass
class S:
    start: float
    ok: bool
    end: float | None = None
    error: str = ""

    @property
    def latency(self) -> float:
        return (self.end if self.end is not None else self.start + 0.01) - self.start


def timeline(states: str, period: float = 0.1, t0: float = 100.0) -> list[S]:
    """'..xxx..' -> OK/failed samples every period from t0."""
    return [S(t0 + i * period, c == ".", error="" if c == "." else "HTTP 503")
            for i, c in enumerate(states)]


def test_one_outage_has_midpoint_edges_and_half_gap_uncertainty():
    windows = analysis.outages(timeline("....xxxxx...."))
    assert len(windows) == 1
    w = windows[0]
    # last OK at 100.3, first failed 100.4, last failed 100.8, first OK 100.9
    assert w.start == pytest.approx(100.35)
    assert w.end == pytest.approx(100.85)
    assert w.duration == pytest.approx(0.5)
    assert w.start_uncertainty == pytest.approx(0.05)
    assert w.end_uncertainty == pytest.approx(0.05)
    assert w.uncertainty == pytest.approx(0.1)
    assert w.failed_samples == 5
    assert not w.open_start and not w.open_end
    assert w.errors == {"HTTP 503": 5}


def test_uneven_gaps_give_uneven_uncertainty():
    samples = [S(0.0, True), S(1.0, False), S(1.1, False), S(1.5, True)]
    (w,) = analysis.outages(samples)
    assert (w.start, w.end) == (pytest.approx(0.5), pytest.approx(1.3))
    assert (w.start_uncertainty, w.end_uncertainty) == (pytest.approx(0.5), pytest.approx(0.2))


def test_outages_at_the_edges_are_open():
    windows = analysis.outages(timeline("xx....xxx"))
    assert [(w.open_start, w.open_end) for w in windows] == [(True, False), (False, True)]
    assert windows[0].start == pytest.approx(100.0)
    assert windows[0].end == pytest.approx(100.15)
    assert windows[1].end == pytest.approx(100.8)  # the last failed sample


def test_healthy_timeline_has_no_outage_and_samples_sort_by_start():
    samples = list(reversed(timeline(".........")))
    assert analysis.outages(samples) == []
    shuffled = timeline("..xx..")
    shuffled[2], shuffled[4] = shuffled[4], shuffled[2]
    assert len(analysis.outages(shuffled)) == 1


def test_union_merges_overlapping_probe_windows():
    a = analysis.outages(timeline("...xxxx.....", t0=0), "a")
    b = analysis.outages(timeline(".....xxxx...", t0=0), "b")
    c = analysis.outages(timeline("..........x.", t0=0), "c")
    merged = analysis.union(a + b + c)
    assert len(merged) == 2
    assert merged[0].start == pytest.approx(0.25)
    assert merged[0].end == pytest.approx(0.85)
    assert merged[0].probes == ["a", "b"]
    assert merged[1].probes == ["c"]


def test_fault_window_from_events():
    events = [{"phase": "requested", "monotonic": 5.0}, {"phase": "in effect", "monotonic": 5.5},
              {"phase": "mark", "monotonic": 6.0}, {"phase": "undone", "monotonic": 9.0},
              {"phase": "undone", "monotonic": 12.0}]
    fault = analysis.fault_window(events)
    assert (fault.start, fault.end) == (5.0, 12.0)
    assert fault.phase_of(4.9) == "before"
    assert fault.phase_of(12.0) == "during"
    assert fault.phase_of(12.1) == "after"
    assert analysis.fault_window([]).start is None


def test_recovery_counts_from_the_last_undone_event():
    samples = timeline("..........xxxxxxxxxx.........", t0=0)  # fails 1.0..1.9, OK at 2.0
    windows = analysis.outages(samples)
    fault = analysis.FaultWindow(0.9, 1.5)
    found = analysis.recovery(windows, fault)
    assert found["recovered"] is True
    assert found["seconds"] == pytest.approx(1.95 - 1.5)
    assert found["uncertainty"] == pytest.approx(0.05)
    early = analysis.recovery(windows, analysis.FaultWindow(0.5, 2.5))
    assert early["seconds"] == 0.0
    assert analysis.recovery(windows, analysis.FaultWindow(0.5, None))["recovered"] is None
    still = analysis.outages(timeline("....xxxx", t0=0))
    assert analysis.recovery(still, analysis.FaultWindow(0.1, 0.2))["recovered"] is False


def test_percentiles_and_phases():
    assert analysis.percentile([], 50) is None
    assert analysis.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert analysis.percentile(list(range(101)), 99) == pytest.approx(99)
    samples = ([S(t, True, t + 0.01) for t in (0, 1, 2)]
               + [S(t, t != 4, t + 0.5) for t in (3, 4, 5)]
               + [S(t, True, t + 0.02) for t in (7, 8)])
    result = analysis.summarize(samples, analysis.outages(samples),
                                analysis.FaultWindow(2.5, 6.0), origin=0.0)
    assert result["error_rate"]["during"] == pytest.approx(1 / 3)
    assert result["error_rate"]["before"] == 0
    assert result["latency"]["before"]["p50"] == pytest.approx(0.01)
    assert result["latency"]["during"]["count"] == 2
    assert result["degradation"]["during_p50_ratio"] == pytest.approx(50.0)
    assert result["degradation"]["after_p50_ratio"] == pytest.approx(2.0, rel=1e-3)
    assert result["longest_outage"]["start"] == pytest.approx(3.5)
    assert result["longest_outage"]["duration"] == pytest.approx(1.0)


def test_phases_split_samples_at_the_fault_the_events_delimit():
    samples = ([S(t, True, t + 0.01) for t in (0, 1, 2)]
               + [S(t, t != 4, t + 0.5) for t in (3, 4, 5)]
               + [S(t, True, t + 0.02) for t in (7, 8)])
    events = [{"phase": "requested", "monotonic": 2.5}, {"phase": "undone", "monotonic": 6.0}]
    split = analysis.phases(samples, events)
    assert (split.fault.start, split.fault.end) == (2.5, 6.0)
    assert [len(split.samples[p]) for p in ("before", "during", "after", "all")] == [3, 3, 2, 8]
    assert (split.failed("before"), split.failed("during"), split.failed("all")) == (0, 1, 1)
    assert split.ok_latencies("during") == pytest.approx([0.5, 0.5])
    assert split.latency_percentile("before", 95) == pytest.approx(0.01)
    assert split.latency_percentile("after", 50) == pytest.approx(0.02)
    unmarked = analysis.phases(samples, [])
    assert unmarked.fault.start is None and len(unmarked.samples["all"]) == 8
    assert unmarked.samples["during"] == [] and unmarked.latency_percentile("during", 95) is None


def test_analyze_shifts_times_to_the_origin():
    found = analysis.analyze({"p": timeline("..xx..", t0=50.0)},
                             [{"phase": "in effect", "monotonic": 50.15},
                              {"phase": "undone", "monotonic": 50.35}], origin=50.0)
    assert found["fault"] == {"start": pytest.approx(0.15), "end": pytest.approx(0.35)}
    (window,) = found["overall"]["outages"]
    assert window["start"] == pytest.approx(0.15)
    assert window["end"] == pytest.approx(0.35)
    assert found["probes"]["p"]["recovery"]["seconds"] == pytest.approx(0.0)

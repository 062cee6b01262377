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


# --- partial outages: failures that alternate with successes ------------------------------

def alternating(before: int, during: int, after: int, period: float = 0.1,
                t0: float = 0.0) -> tuple[list[S], list[dict]]:
    """``before`` OK samples, then ``during`` samples of which every other one fails (one
    backend of two black-holed, still in rotation), then ``after`` OK samples; the fault's
    events at the first and after the last sample of ``during``."""
    states = "." * before + "x." * (during // 2) + "." * after
    samples = timeline(states, period, t0)
    start = t0 + (before - 0.5) * period
    end = t0 + (before + during - 0.5) * period
    return samples, [{"phase": "in effect", "monotonic": start},
                     {"phase": "undone", "monotonic": end}]


def test_an_alternating_series_has_a_one_sample_longest_outage_but_half_its_time_failing():
    samples, events = alternating(20, 100, 20)
    result = analysis.analyze({"p": samples}, events, 0.0)["probes"]["p"]
    # What the longest outage sees: one sample.
    assert result["longest_outage"]["duration"] == pytest.approx(0.1)
    during = result["partial"]["during"]
    assert (during["samples"], during["failed"]) == (100, 50)
    assert during["failed_share"] == pytest.approx(50.0)
    assert during["failing_time"] == pytest.approx(5.0)  # 50 outages of 0.1 s
    assert during["outages"] == 50
    # 100 edges of ± 0.05 s, independent: sqrt(100) x 0.05
    assert during["uncertainty"] == pytest.approx(0.5)
    assert result["partial"]["before"]["failing_time"] == 0
    assert result["partial"]["after"]["failed"] == 0
    assert result["partial"]["all"]["failed_share"] == pytest.approx(50 / 140 * 100, rel=1e-4)


def test_a_quarter_failing_gives_a_quarter_share_and_the_summed_time():
    states = "...." + "x..." * 45 + "...."
    samples = timeline(states, 0.1, 0.0)
    events = [{"phase": "in effect", "monotonic": 0.35}, {"phase": "undone", "monotonic": 18.35}]
    during = analysis.analyze({"p": samples}, events, 0.0)["probes"]["p"]["partial"]["during"]
    assert during["failed_share"] == pytest.approx(25.0)
    assert during["failing_time"] == pytest.approx(4.5)


def test_failing_time_is_cut_at_the_phase_edges():
    # failing from 1.0 to 2.0 s (midpoint edges); the fault from 1.5 s to 3 s
    samples = timeline("." * 10 + "x" * 10 + "." * 20, 0.1, 0.05)
    events = [{"phase": "in effect", "monotonic": 1.5}, {"phase": "undone", "monotonic": 3.0}]
    partial = analysis.analyze({"p": samples}, events, 0.0)["probes"]["p"]["partial"]
    assert partial["during"]["failing_time"] == pytest.approx(0.5)
    assert partial["before"]["failing_time"] == pytest.approx(0.5)
    assert partial["during"]["uncertainty"] == pytest.approx(0.05)  # only the end edge


def test_after_recovery_starts_where_the_outage_that_outlived_the_fault_ends():
    # down from 1 s to 4 s, the fault ends at 3 s; then every other sample fails
    states = "." * 10 + "x" * 30 + "x." * 10 + "." * 10
    samples = timeline(states, 0.1, 0.05)
    events = [{"phase": "in effect", "monotonic": 1.0}, {"phase": "undone", "monotonic": 3.0}]
    partial = analysis.analyze({"p": samples}, events, 0.0)["probes"]["p"]["partial"]
    recovered = partial["after recovery"]
    # the outage [1.0, 4.1] holds the fault's end: after recovery starts at 4.1 s
    assert recovered["samples"] == 29 and recovered["failed"] == 9
    assert recovered["failing_time"] == pytest.approx(0.9)
    assert partial["after"]["failing_time"] == pytest.approx(1.1 + 0.9)  # 3.0-4.1, then 9 x 0.1


def test_without_a_fault_only_all_has_a_partial_outage():
    partial = analysis.analyze({"p": timeline("..x..")}, [], 0.0)["probes"]["p"]["partial"]
    assert partial["all"]["failed"] == 1
    assert partial["during"]["failed_share"] is None and partial["during"]["failing_time"] == 0

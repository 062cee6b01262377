"""One rule for every rate and percentile a QA author writes, in every library.

Each rate verdict keyword of every library is run with the same written limit, on figures
that sit just below and just above it: they all read the limit the same way (a percentage),
pass and fail together, and refuse the same bad input with the same rule.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from ExtremeTesting import results, vocabulary
from ExtremeTesting.load import Load
from ExtremeTesting.monitor import Monitor
from ExtremeTesting.vocabulary import FigureError

SAME_LIMIT = ["2", "2%", "2 %", " 2% ", 2, 2.0]  # one percent-figure, written six ways
BAD_RATES = ["0", "0%", "-1", "100.5", "101%", "two", "", "2%%", "nan", "inf", "0.02x"]


@pytest.fixture
def published(monkeypatch):
    found: list[dict] = []
    monkeypatch.setattr(results, "publish_expectation",
                        lambda keyword, what, limit, comparison, measured, **kw:
                        found.append({"keyword": keyword, "limit": limit,
                                      "comparison": comparison, "measured": measured,
                                      "unit": kw.get("unit")}))
    return found


def _load(failed_percent: float) -> Load:
    """A Load library whose last load had ``failed_percent`` % of 1000 iterations fail and
    achieved ``failed_percent`` % of its requested 100/s (so one written figure means the
    same share for both of its rate verdicts)."""
    library = Load()
    failures = round(failed_percent * 10)
    summary = SimpleNamespace(requests=1000, failures=failures, failure_rate=failures / 1000,
                              workload="w", mode="constant rate", throughput=1.0,
                              requested_rate=100.0, achieved_rate=failed_percent,
                              not_started=0, errors={})
    library._last = SimpleNamespace(name="x", summary=summary, png="",
                                    plan=SimpleNamespace(workload="w"))
    return library


def _monitor(failed_percent: float, monkeypatch) -> Monitor:
    """A Monitor whose one probe failed ``failed_percent`` % of its samples in every phase."""
    library = Monitor("no-target.yaml")
    share = failed_percent / 100
    figures = {"error_rate": dict.fromkeys(("before", "during", "after", "all"), share),
               "partial": dict.fromkeys(("before", "during", "after", "all", "after recovery"),
                                        {"failed_share": failed_percent, "failing_time": 0.0,
                                         "uncertainty": 0.1, "failed": 1, "samples": 100,
                                         "outages": 0}),
               "samples": 100, "outages": [], "total_outage": 0.0}
    result = {"probes": {"token": figures}, "overall": figures}
    monkeypatch.setattr(library, "_result", lambda name: result)
    monkeypatch.setattr(library, "_figures", lambda name, probe: (result, figures))
    monkeypatch.setattr(library, "_phase_window", lambda result, phase: "(window)")
    monkeypatch.setattr(library, "_service_of", lambda result, probe: "identity")
    return library


def _rate_verdicts(measured_percent: float, monkeypatch) -> dict:
    """Every rate verdict keyword that bounds a failed share from above, on a figure of
    ``measured_percent`` (the at-least one, the achieved share, has its own test)."""
    load, monitor = _load(measured_percent), _monitor(measured_percent, monkeypatch)
    return {
        "Load Error Rate Should Be Below":
            lambda limit: load.load_failure_rate_should_be_below(limit),
        "Load Failure Rate Should Be Below (deprecated)":
            lambda limit: load.load_failure_rate_should_be_below_deprecated(limit),
        "Error Rate Should Be Below":
            lambda limit: monitor.error_rate_should_be_below(limit, probe="token"),
        "Partial Outage Should Stay Within":
            lambda limit: monitor.partial_outage_should_stay_within(
                limit, timedelta(seconds=1), probe="token"),
    }


def _passes(verdict, limit) -> bool:
    try:
        verdict(limit)
    except FigureError:
        raise
    except Exception:  # noqa: BLE001 - a failed verdict, whatever its library's error type
        return False
    return True


@pytest.mark.parametrize("written", SAME_LIMIT)
def test_every_rate_verdict_reads_the_same_limit_as_the_same_percentage(written, published,
                                                                      monkeypatch):
    under = _rate_verdicts(1.5, monkeypatch)
    over = _rate_verdicts(3.0, monkeypatch)
    outcomes = {name: (_passes(under[name], written), _passes(over[name], written))
                for name in under}
    # 1.5 % is within a limit of 2 %, 3 % is not: every library says so.
    assert outcomes == dict.fromkeys(under, (True, False)), outcomes
    # And each published the limit it compared as 2 (percent), never 0.02 or 200.
    assert {r["limit"] for r in published if r["unit"] == "%"} == {2.0}, published
    assert {r["keyword"] for r in published if r["unit"] == "%"} == {
        "Load Error Rate Should Be Below", "Error Rate Should Be Below",
        "Partial Outage Should Stay Within"}


@pytest.mark.parametrize("written", SAME_LIMIT)
def test_the_achieved_share_reads_the_same_limit_as_a_percentage(written, published):
    # 2 % of the requested 100/s is 2/s: 3/s passes, 1.5/s fails.
    assert _load(3.0).load_achieved_rate_should_be_at_least(written) == 3.0
    with pytest.raises(Exception, match=r"expected at least 2.00/s"):
        _load(1.5).load_achieved_rate_should_be_at_least(written)
    assert {record["limit"] for record in published} == {2.0}


@pytest.mark.parametrize("written", BAD_RATES)
def test_every_rate_verdict_refuses_a_bad_rate_naming_the_rule(written, published,
                                                             monkeypatch):
    verdicts = _rate_verdicts(1.5, monkeypatch)
    verdicts["Load Achieved Rate Should Be At Least"] = (
        lambda limit: _load(1.5).load_achieved_rate_should_be_at_least(limit))
    for name, verdict in verdicts.items():
        with pytest.raises(FigureError) as failure:
            verdict(written)
        message = str(failure.value)
        assert repr(written) in message, (name, message)
        assert vocabulary.RATE_RULE in message, (name, message)
    assert published == []  # refused before anything was judged


@pytest.mark.parametrize("written", ["p95", "95", 95, "P95", " p95 ", 95.0])
def test_every_percentile_verdict_reads_p95_and_95_alike(written, published, monkeypatch):
    load = _load(1.0)
    load._last.samples = [SimpleNamespace(duration=d / 100) for d in range(1, 101)]
    assert load.load_percentile_should_be_below(written, timedelta(seconds=2)) == \
        pytest.approx(0.95, abs=0.01)
    monitor = _monitor(1.0, monkeypatch)
    monkeypatch.setattr(monitor, "phases", lambda probe, name: SimpleNamespace(
        ok_latencies=lambda phase: [d / 100 for d in range(1, 101)]))
    monitor.latency_percentile_should_be_below(written, timedelta(seconds=2), probe="token")
    assert [record["keyword"] for record in published] == [
        "Load Percentile Should Be Below", "Latency Percentile Should Be Below"]


@pytest.mark.parametrize("written", ["0", "p0", "101", "p100.1", "p", "95th", "q95", ""])
def test_every_percentile_verdict_refuses_a_bad_percentile(written, published, monkeypatch):
    load, monitor = _load(1.0), _monitor(1.0, monkeypatch)
    for verdict in (lambda: load.load_percentile_should_be_below(written, timedelta(1)),
                    lambda: monitor.latency_percentile_should_be_below(written, timedelta(1))):
        with pytest.raises(FigureError, match=vocabulary.PERCENTILE_RULE):
            verdict()
    assert published == []


def test_the_rule_itself():
    assert [vocabulary.rate(w) for w in ("1", "1%", "1 %", 1, "0.5", "100")] == [
        1, 1, 1, 1, 0.5, 100]
    assert [vocabulary.percentile(w) for w in ("p50", "99.9", "P100")] == [50, 99.9, 100]
    with pytest.raises(FigureError, match="error rate '0' is out of range: a rate is a "
                                          "percentage above 0 and at most 100.*Failed "
                                          "Iterations Should Be At Most"):
        vocabulary.rate("0", "error rate")


RATE_VERDICTS_RUN = {"Load Error Rate Should Be Below", "Load Failure Rate Should Be Below",
                     "Error Rate Should Be Below", "Partial Outage Should Stay Within",
                     "Load Achieved Rate Should Be At Least"}
PERCENTILE_VERDICTS_RUN = {"Load Percentile Should Be Below",
                           "Latency Percentile Should Be Below"}
RATE_ARGUMENTS = {"percent", "limit", "share", "failed_share", "rate"}


def test_the_agreement_tests_run_every_rate_and_percentile_verdict_of_every_library():
    # A verdict keyword that takes a written rate (a str argument) or a percentile, in any
    # library (Policy, Changes, Faults... included), must be one the tests above run with
    # the same written limit; a new one fails here until it is added to them.
    from robot.libdocpkg import LibraryDocumentation

    from ExtremeTesting.docs import LIBRARIES

    target = "tests/unit/data/suites/lab/target.yaml"
    rates, percentiles, seen = set(), set(), set()
    for library in LIBRARIES:
        keywords = LibraryDocumentation(f"ExtremeTesting.{library}::{target}").keywords
        assert keywords, library
        seen.add(library)
        for keyword in keywords:
            if results.VERDICT_TAG not in keyword.tags:
                continue
            arguments = {a.name: str(a) for a in keyword.args}
            if "percentile" in arguments:
                percentiles.add(keyword.name)
            if any(name in RATE_ARGUMENTS and ": str" in text
                   for name, text in arguments.items()):
                rates.add(keyword.name)
    assert {"Policy", "Monitor", "Load", "Cloud", "Faults", "Changes", "Power",
            "Switch"} <= seen
    assert rates == RATE_VERDICTS_RUN, rates ^ RATE_VERDICTS_RUN
    assert percentiles == PERCENTILE_VERDICTS_RUN, percentiles ^ PERCENTILE_VERDICTS_RUN

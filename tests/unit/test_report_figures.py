"""How the report reads and formats published figures, without Robot."""

from __future__ import annotations

from ExtremeTesting.report import figures as fig
import pytest
from ExtremeTesting import findings, results
from ExtremeTesting.errors import TargetError
from ExtremeTesting.report.model import area_of


def test_durations_rates_and_counts_are_formatted_for_people():
    assert fig.fmt_seconds(0.0042) == "4.2 ms"
    assert fig.fmt_seconds(0.25) == "250 ms"
    assert fig.fmt_seconds(3.456) == "3.46 s"
    assert fig.fmt_seconds(185) == "3 min 5 s"
    assert fig.fmt_seconds(250, "latency_ms") == "250 ms"
    assert fig.fmt_seconds(None) == "—"
    assert fig.fmt_with_uncertainty(3.2, 0.05) == "3.20 s ± 50 ms"
    assert fig.fmt_rate(0.05) == "5 %" and fig.fmt_rate(0.0015) == "0.15 %"
    assert fig.fmt_rate(0.8507) == "85.1 %" and fig.fmt_rate(0) == "0 %"
    assert fig.fmt_count([{"a": 1}, {"b": 2}]) == "2" and fig.fmt_count(None) == "—"
    assert fig.fmt_time(12.4) == "+12.40 s"
    assert fig.fmt_time(1767225612.5) == "2026-01-01 00:00:12.500 UTC"


def test_credentials_are_hidden_in_generic_tables():
    rows = dict(fig.flatten({"password": "s3cret", "auth": {"token_value": "gAAA",
                                                             "user": "admin"},
                             "os_password_env": "X", "version": "2.95"}))
    assert rows["password"] == fig.HIDDEN and rows["auth.token_value"] == fig.HIDDEN
    assert rows["os_password_env"] == fig.HIDDEN
    assert rows["auth.user"] == "admin" and rows["version"] == "2.95"
    assert "s3cret" not in str(rows) and "gAAA" not in str(rows)


def test_monitor_with_probes_as_a_list_and_figures_at_top_level():
    data = {"probes": [{"name": "image.list", "outage_windows": [
        {"start": 1.0, "end": 2.5, "duration": 1.5, "uncertainty": 0.1}], "error_rate": 0.2}],
        "recovery_time": 0.7, "lost": [{"id": "x"}], "duplicates": 2, "stuck": 0,
        "latency": {"before": {"p95": 0.02}, "during": {"p95": 1.5}, "after": {"p95": 0.03}},
        "mystery": 42}
    view = fig.monitor_view(data)
    probe = view["probes"][0]
    assert probe["name"] == "image.list" and probe["total_outage"] == "1.50 s ± 100 ms"
    assert probe["error_rate"] == "20 %"
    overall = view["overall"]
    assert (overall["lost"], overall["duplicates"], overall["non_recoverable"]) == ("1", "2",
                                                                                    "0")
    assert overall["recovery_time"] == "700 ms"
    assert view["windows"][0]["start"] == "+1.00 s" and view["windows"][0]["end"] == "+2.50 s"
    assert ("mystery", "42") in view["extra"]
    assert ("lost", "id=x") in view["requests"]
    summary = dict(fig.monitor_summary(data))
    assert summary["p95 b / d / a"] == "20 ms / 1.50 s / 30 ms"
    assert summary["Lost / dup / stuck"] == "1 / 2 / 0"


def test_monitor_recovery_that_never_came_is_said_plainly():
    data = {"overall": {"outages": [{"start": 5, "end": 9, "duration": 4, "uncertainty": 0,
                                     "open_end": True, "errors": {"timeout": 40}}],
                        "recovery": {"seconds": None, "recovered": False,
                                     "reason": "still failing when the monitor stopped"}}}
    view = fig.monitor_view(data)
    assert view["overall"]["recovery_time"] == ("not recovered: still failing when the "
                                                "monitor stopped")
    assert view["windows"][0]["detail"] == ("still failing when the monitor stopped; "
                                            "timeout ×40")


def test_load_figures_and_failure_rate_from_counts():
    view = fig.load_view({"workload": "boot and delete", "requests": 200, "failures": 5,
                          "latency": {"p50": 1.2, "p95": 3.4}, "throughput": 1.5,
                          "concurrency": 5})
    assert view["failure_rate"] == "2.50 %"
    assert view["percentiles"]["p95"] == "3.40 s" and view["name"] == "boot and delete"
    assert ("concurrency", "5") in view["extra"]
    assert dict(fig.load_summary({"requests": 10, "failures": 0}))["Requests"] == (
        "10, 0 failed (0 %)")


def test_fault_events_and_expectations():
    rows = fig.events_view({"events": [{"source": "power", "phase": "in effect",
                                        "action": "power off", "target": "ctl1", "t": 3.5}]})
    assert rows[0]["time"] == "+3.50 s" and rows[0]["target"] == "ctl1"
    record = results.expectation("Error Rate Should Be Below", "error rate (all)", 1, "<",
                                 20.0, unit="%", case="S.T")
    row = fig.expectation_row(record)
    assert row["text"] == "error rate (all): 20 % (limit < 1 %): NOT met"
    assert not row["passed"] and not row["marginal"]  # a rate has no uncertainty


def test_marginal_only_within_a_stated_uncertainty():
    def outage(limit, measured, uncertainty):
        return results.expectation("Outage Should Be Shorter Than", "longest outage", limit,
                                   "<", measured, unit="s", uncertainty=uncertainty, case="")

    assert results.is_marginal(outage(5, 5.24, 0.3))  # failed, but within its uncertainty
    assert results.is_marginal(outage(5, 4.8, 0.3))  # passed within it
    assert not results.is_marginal(outage(5, 4.0, 0.3))
    assert not results.is_marginal(outage(5, 5.0, None))  # no uncertainty: never marginal
    assert results.is_marginal(outage(0, 0.04, 0.05))  # limit 0: measured <= uncertainty
    assert not results.is_marginal(outage(0, 0.2, 0.05))
    assert fig.expectation_row(outage(5, 5.24, 0.3))["text"] == (
        "longest outage: 5.24 s ± 300 ms (limit < 5.00 s): NOT met, marginal")
    with pytest.raises(ValueError, match="comparison must be one of"):
        results.expectation("K", "w", 1, "=<", 1, unit="s")


def test_area_from_tag_path_or_suite_name():
    assert area_of(["area:Concurrent"], "/x/suites/destructive/a.robot", "S") == "concurrent"
    assert area_of([], "/repo/suites/destructive/power.robot", "Suites.Power") == "destructive"
    assert area_of([], "", "Acceptance.Operational.Health") == "operational"
    assert area_of([], "/repo/tests/other.robot", "Other") == "other"


def test_known_findings_match_by_pattern_or_listed_tag_and_every_failure():
    listed = findings.parse([{"id": "LAB-1", "test": "Database *", "failure": "hung \\d+ s",
                              "description": "hangs"}])
    assert [f.id for f in findings.for_test(listed, "Database Partition", "S.D", [])] == [
        "LAB-1"]
    assert [f.id for f in findings.for_test(listed, "X", "S.X", ["known:LAB-1"])] == ["LAB-1"]
    assert findings.for_test(listed, "X", "S.X", ["known:OTHER"]) == []
    assert findings.unlisted_tags(listed, ["known:OTHER", "known:LAB-1"]) == ["OTHER"]
    # The full name matches too, so a finding can be pinned to one suite's case.
    pinned = findings.parse([{"id": "2", "test": "suite a.y", "failure": "x"}])
    assert findings.for_test(pinned, "Y", "Suite A.Y") == pinned
    assert findings.explaining(listed, ["token hung 13 s", "write hung 2 s"]) == listed[0]
    assert findings.explaining(listed, ["token hung 13 s", "teardown: keystone down"]) is None
    assert findings.explaining(listed, []) is None
    assert findings.tags_of([{"id": "LAB-1", "test": "Database *", "failure": "x"}],
                            "Database Partition", "S.Database Partition") == ["known:LAB-1"]


@pytest.mark.parametrize("entry, needle", [
    ({"id": "A", "test": "x"}, "has no failure"),
    ({"id": "A", "test": "x", "failure": "("}, "not a regular expression"),
    ({"id": "A", "test": "x", "failure": "y", "sev": 1}, "unknown keys sev"),
    ("A", "must be a mapping"),
])
def test_bad_known_findings_are_one_clear_error(entry, needle):
    with pytest.raises(TargetError, match=needle):
        findings.parse([entry], "target.yaml")

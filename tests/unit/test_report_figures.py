"""How the report reads and formats published figures, without Robot."""

from __future__ import annotations

from ExtremeTesting.report import figures as fig
from ExtremeTesting.report.model import area_of, known_finding_of


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
    assert fig.expectation_text({"name": "error_rate", "limit": 0.01, "measured": 0.2,
                                 "passed": False}) == (
        "error_rate, limit 1 %, measured 20 %, NOT met")


def test_area_from_tag_path_or_suite_name():
    assert area_of(["area:Concurrent"], "/x/suites/destructive/a.robot", "S") == "concurrent"
    assert area_of([], "/repo/suites/destructive/power.robot", "Suites.Power") == "destructive"
    assert area_of([], "", "Acceptance.Operational.Health") == "operational"
    assert area_of([], "/repo/tests/other.robot", "Other") == "other"


def test_known_findings_from_tags_and_the_target_list():
    listed = [{"id": "LAB-1", "test": "Database *", "description": "hangs"}]
    found = known_finding_of("Database Partition", "S.Database Partition", [], listed)
    assert (found.id, found.description, found.source) == ("LAB-1", "hangs", "target file")
    found = known_finding_of("X", "S.X", ["known:LAB-1"], listed)
    assert (found.id, found.description, found.source) == ("LAB-1", "hangs", "tag")
    assert known_finding_of("X", "S.X", ["Known-Finding"], []).source == "tag"
    assert known_finding_of("X", "S.X", ["other"], listed) is None
    # The full name matches too, so a finding can be pinned to one suite's case.
    assert known_finding_of("Y", "Suite A.Y", [], [{"id": "2", "test": "suite a.y"}]).id == "2"

"""How the report reads and formats published figures, without Robot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ExtremeTesting import findings, results
from ExtremeTesting.errors import TargetError
from ExtremeTesting.load.stats import LoadSummary
from ExtremeTesting.report import figures as fig
from ExtremeTesting.report.model import area_of

_SPEC = importlib.util.spec_from_file_location(
    "report_fixture_figures", Path(__file__).parent / "data" / "report" / "FixtureFigures.py")
fixtures = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fixtures)


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


def test_monitor_figures_as_the_monitor_publishes_them():
    """The monitor's own analysis of a 20 Hz timeline with a planted 1.5 s outage, one lost
    and one stuck write: every column of the tables comes from a key it writes."""
    data = fixtures.monitor_result(outage=1.5, lost=1, stuck=1)
    view = fig.monitor_view(data)
    probe = view["probes"][0]
    assert probe["name"] == "identity.token" and probe["total_outage"] == "1.50 s ± 50 ms"
    assert probe["longest_outage"] == "1.50 s ± 50 ms" and probe["windows"] == 1
    assert probe["error_rate"] == "5 %"  # 30 of 600 samples
    overall = view["overall"]
    assert (overall["lost"], overall["duplicates"], overall["non_recoverable"]) == ("1", "0",
                                                                                    "1")
    assert overall["recovery_time"] == "400 ms ± 25 ms"
    assert view["windows"][0]["start"] == "+12.40 s" and view["windows"][0]["end"] == "+13.90 s"
    assert view["windows"][0]["detail"] == "HTTP 503 ×30"
    assert ("lost", "name=extreme-mon-lost-0, request_id=req-extreme-mon-lost-0") in \
        view["requests"]
    assert ("stuck", "name=extreme-mon-stuck-0, request_id=req-extreme-mon-stuck-0"
            ) in view["requests"]
    assert ("prefix", "extreme-mon-") in view["extra"]
    summary = dict(fig.monitor_summary(data))
    assert summary["p95 b / d / a"] == "25 ms / 1.25 s / 27 ms"
    assert summary["Lost / dup / stuck"] == "1 / 0 / 1"
    assert summary["Error rate"] == "5 %, during 68.8 %"  # 22 of the 32 samples from
    # the fault (+11.90 s) to its undo (+13.50 s)


def test_failing_time_and_out_of_rotation_are_shown_not_dumped():
    """The monitor's partial outage (the failing time during the fault) and the load
    balancer's removal times read as figures, not under "other figures"."""
    data = fixtures.monitor_result(outage=1.5)
    probe = data["probes"]["identity.token"]
    assert probe["partial"]["during"]["failing_time"] > 0  # the monitor's own analysis
    data["load_balancer"] = {"source": "stats page", "interval": 0.25, "polls": 80,
                             "errors": 0, "last_error": "", "transitions": [],
                             "removals": [{"backend": "keystone", "server": "ctl1",
                                           "service": "identity", "down": 14.1,
                                           "first_failure": 12.4, "seconds": 1.7,
                                           "uncertainty": 0.15,
                                           "before_any_failure": False}]}
    view = fig.monitor_view(data)
    assert view["probes"][0]["failing_during"].startswith("1.")
    assert ("out of rotation after the first failure", "keystone/ctl1 1.70 s ± 150 ms") in \
        view["context"]
    assert not [k for k, _ in view["extra"] if "partial" in k or "load_balancer" in k]
    assert not [k for _, rows in view["probe_extra"] for k, _ in rows if "partial" in k]


def test_response_schemas_read_as_one_line_not_dumped(tempest):
    """The monitor's ``schemas`` (a real watch's figures): one line in its details, and in
    the case's summary only when an answer did not match."""
    from ExtremeTesting.schemas.watch import Watch

    data = fixtures.monitor_result(outage=1.5)
    found = Watch(every=0)
    found.offer("compute", "GET", "http://vip:8774/v2.1/servers", 200,
                {"openstack-api-version": "compute 2.1"}, b'{"servers": [{"id": "a"}]}')
    found.offer("identity", "GET", "http://vip:5000/v3/auth/projects", 200, {}, b"{}")
    data["schemas"] = found.figures()
    view = fig.monitor_view(data)
    line = dict(view["context"])["response schemas"]
    assert line.startswith("1 answer(s) of 1 kind(s) checked (the first answer of each kind")
    assert "1 mismatch(es): compute GET /servers at 2.1: servers[0].name: missing" in line
    assert line.endswith("; no schema for identity")
    assert not [k for k, _ in view["extra"] if "schemas" in k]
    assert dict(fig.monitor_summary(data))["Response schemas"] == line
    healthy = fixtures.monitor_result(outage=1.5) | {"schemas": Watch(every=0).figures()}
    assert "Response schemas" not in dict(fig.monitor_summary(healthy))


def test_the_calls_schema_figures_land_in_the_case_summary(tempest):
    """`Responses Should Match Their Schemas` of=calls publishes a ``schemas`` figure."""
    from types import SimpleNamespace

    from ExtremeTesting.report import render
    from ExtremeTesting.report.model import Case, Figure
    from ExtremeTesting.schemas.watch import Watch

    found = Watch(every=0)
    found.offer("compute", "DELETE", "http://vip:8774/v2.1/servers/a1", 204,
                {"openstack-api-version": "compute 2.93"}, b"")
    case = Case("s1-t1", "Every Response", "Smoke.Every Response", "Smoke", "", "PASS", "",
                "", [], {}, None, None, 0.0, 0,
                figures=[Figure("schemas", found.figures() | {"of": "calls"})])
    view = render._case_view(case, SimpleNamespace(outputs=[SimpleNamespace(
        path=Path("output.xml"))]))
    assert dict(view["summary"])["Response schemas"].startswith(
        "1 answer(s) of 1 kind(s) checked") and view["others"] == []


def test_keys_no_library_writes_are_not_read_as_figures():
    """Old names (outage_windows, total_outage_s, recovery_time, stuck...) are not guessed:
    they are not monitor figures and land under "other figures" like any unknown key."""
    data = {"overall": {"outage_windows": [{"start": 1, "end": 2, "duration": 1}],
                        "total_outage_s": 1.0, "recovery_time": 0.7, "stuck": 3}}
    view = fig.monitor_view(data)
    assert view["windows"] == [] and view["overall"]["total_outage"] == "—"
    assert view["overall"]["recovery_time"] == "—"
    assert view["overall"]["non_recoverable"] == "—"
    assert {k for k, _ in view["extra"]} == {"overall.outage_windows", "overall.recovery_time",
                                             "overall.stuck", "overall.total_outage_s"}


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


def test_load_figures_as_a_load_keyword_publishes_them():
    summary = LoadSummary(workload="boot and delete", engine="inprocess", mode="concurrency",
                          requests=200, failures=5, failure_rate=0.025, p50=1.2, p90=2.0,
                          p95=3.4, p99=4.0, max=5.0, mean=1.4, throughput=1.5,
                          requested_rate=None, achieved_rate=1.6, concurrency=5,
                          max_in_flight=5, elapsed=130.0)
    data = summary.as_dict() | {"png": "", "name": "boot", "prefix": "xload-1-"}
    view = fig.load_view(data)
    assert view["failure_rate"] == "2.50 %" and view["requests"] == "200"
    assert view["percentiles"]["p95"] == "3.40 s" and view["name"] == "boot (boot and delete)"
    assert view["max"] == "5.00 s" and view["throughput"] == "1.5/s"
    assert ("concurrency", "5") in view["extra"]
    assert dict(fig.load_summary(data))["Requests"] == "200, 5 failed (2.50 %)"


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

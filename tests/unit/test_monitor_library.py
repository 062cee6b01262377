"""The Robot-facing library against the fake cloud: target file, clouds.yaml, token and
write probes, assertions, request loss, scope-end listener, PNG, no secrets in the log."""

import base64
import json
import logging
import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from ExtremeTesting import events, results
from ExtremeTesting.monitor import AvailabilityError, Monitor, MonitorError
from ExtremeTesting.monitor.fakecloud import FakeCloud
from ExtremeTesting.monitor.probes import GetProbe
from ExtremeTesting.monitor.session import MonitorSession


@pytest.fixture
def cloud():
    with FakeCloud() as fake:
        yield fake


@pytest.fixture
def published(monkeypatch):
    found = []

    def capture(kind, data, summary_html="", level="INFO"):
        found.append((kind, data, summary_html))
        results.render(kind, data, summary_html)  # must serialise

    monkeypatch.setattr(results, "publish", capture)
    return found


@pytest.fixture
def target(tmp_path, cloud, monkeypatch):
    for name in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD", "OS_AUTH_URL"):
        monkeypatch.delenv(name, raising=False)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(f"""clouds:
  fake:
    auth:
      auth_url: {cloud.url}/v3
      username: admin
      password: {cloud.password}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
""")
    path = tmp_path / "target.yaml"
    path.write_text(f"""name: fake
cloud: fake
clouds_yaml: clouds.yaml
endpoints:
  identity: {cloud.url}/v3
  network: {cloud.url}
probes:
  rate: 20
  timeout: 0.5
  reads: [{{kind: networks, rate: 20}}]
  writes: [{{kind: network, rate: 10}}]
  settle: 1
""")
    return str(path)


def wait_samples(library, name, count):
    deadline = time.monotonic() + 15
    while library._sessions[name].run.timelines and min(
            t.total for t in library._sessions[name].run.timelines.values()) < count:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_full_run_with_a_fault_marked_on_the_timeline(target, cloud, published, caplog,
                                                      capsys):
    caplog.set_level(logging.DEBUG)
    library = Monitor(target)
    library.start_availability_monitor()
    session = library._sessions["default"]
    assert sorted(p.name for p in session.run.probes) == [
        "read-networks", "token", "version-identity", "version-network", "write-network"]
    wait_samples(library, "default", 8)
    library.mark_timeline("pull the plug", "fault start")
    cloud.down("503")
    time.sleep(0.6)
    cloud.up()
    library.mark_timeline("plug back", "fault end")
    wait_samples(library, "default", 22)
    with pytest.raises(MonitorError, match="still running"):
        library.no_requests_should_be_lost()
    result = library.stop_availability_monitor()

    assert result["fault"]["start"] is not None and result["fault"]["end"] is not None
    longest = result["overall"]["longest_outage"]
    assert 0.3 <= longest["duration"] <= 1.5  # 0.6 s planted; accuracy: bench/
    assert result["overall"]["recovery"]["recovered"] is True
    assert result["overall"]["recovery"]["seconds"] < 1.0
    assert [e["action"] for e in result["events"]] == ["pull the plug", "plug back"]
    writes = result["writes"]["write-network"]
    assert writes["clean"] and writes["accepted"] >= 3
    assert cloud.networks == {}  # the run's resources were cleaned up
    assert cloud.logins == 1  # one password login; the token was validated afterwards
    library.no_requests_should_be_lost()
    library.outage_should_be_shorter_than(timedelta(seconds=2))
    library.cloud_should_recover_within(timedelta(seconds=1))
    library.error_rate_should_be_below(1, probe="token", phase="before")
    library.latency_percentile_should_be_below(99, timedelta(seconds=2), phase="after")
    with pytest.raises(AvailabilityError) as failure:
        library.outage_should_be_shorter_than(timedelta(seconds=0.2), probe="token")
    assert "Longest outage of token was " in str(failure.value)
    assert "expected shorter than 0.2 s" in str(failure.value)
    assert "from " in str(failure.value) and "(t=" in str(failure.value)
    with pytest.raises(AvailabilityError, match=r"Error rate of overall during was .* %"):
        library.error_rate_should_be_below(1, phase="during")
    with pytest.raises(AvailabilityError, match=r"recovered .* expected within 0.0001 s"):
        library.cloud_should_recover_within(timedelta(seconds=0.0001))
    with pytest.raises(AvailabilityError, match="p50 latency of overall all was"):
        library.latency_percentile_should_be_below(50, timedelta(microseconds=1))
    with pytest.raises(MonitorError, match="no probe 'nope'"):
        library.outage_should_be_shorter_than(timedelta(seconds=1), probe="nope")

    (kind, data, summary), = [p for p in published if p[0] == "monitor"]
    assert kind == "monitor" and data["monitor"] == "default"
    # One expectation record per comparison judged, failed ones included.
    records = results.expectation_records((k, d) for k, d, _ in published)
    assert [(r["keyword"], r["subject"], r["passed"]) for r in records] == [
        ("No Requests Should Be Lost", "write-network", True)] * 4 + [
        ("Outage Should Be Shorter Than", "", True),
        ("Cloud Should Recover Within", "", True),
        ("Error Rate Should Be Below", "token", True),
        ("Latency Percentile Should Be Below", "", True),
        ("Outage Should Be Shorter Than", "token", False),
        ("Error Rate Should Be Below", "", False),
        ("Cloud Should Recover Within", "", False),
        ("Latency Percentile Should Be Below", "", False)]
    outage = records[4]
    assert outage["limit"] == 2 and outage["comparison"] == "<" and outage["unit"] == "s"
    assert outage["measured"] == pytest.approx(longest["duration"], abs=1e-6)
    assert outage["uncertainty"] == pytest.approx(longest["uncertainty"], abs=1e-6)
    assert outage["schema"] == 1 and outage["case"] == ""  # outside a Robot test
    assert records[6]["unit"] == "%" and records[6]["uncertainty"] is None
    png = base64.b64decode(summary.split("base64,", 1)[1].split('"', 1)[0])
    assert png.startswith(b"\x89PNG")
    everything = (json.dumps(result, default=str) + summary + caplog.text
                  + "".join(capsys.readouterr()))
    assert cloud.password not in everything
    assert cloud.token not in everything
    events.clear()


def test_lost_and_duplicated_writes_are_reported(target, cloud, published):
    library = Monitor(target)
    library.start_availability_monitor(name="loss", probes=["write-network"],
                                       writes=["network"], rate=10)
    session = library._sessions["loss"]
    deadline = time.monotonic() + 5
    while len(session.write_probes[0].held()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert library.replay_last_write(name="loss") == 201
    victim = library.delete_write_behind_the_monitor(name="loss")
    library.stop_availability_monitor("loss", settle=timedelta(seconds=0))
    with pytest.raises(AvailabilityError) as failure:
        library.no_requests_should_be_lost("loss")
    records = results.expectation_records((k, d) for k, d, _ in published)
    assert {r["what"]: (r["measured"], r["passed"]) for r in records} == {
        "lost writes": (1, False), "duplicated writes": (1, False),
        "writes deleted twice": (0, True), "stuck writes": (0, True)}
    message = str(failure.value)
    assert "1 lost" in message and victim in message
    assert "1 duplicated" in message and "create req-" in message
    assert cloud.networks == {}


def test_a_black_holed_backend_still_in_rotation_fails_the_partial_outage(target, cloud,
                                                                          published):
    library = Monitor(target)
    library.start_availability_monitor(name="half", probes=["version-identity"], rate=20)
    wait_samples(library, "half", 5)
    cloud.down("503")  # an outage before the fault: not this phase's, nor its errors
    time.sleep(0.3)
    cloud.up()
    time.sleep(0.5)  # ten samples served again before the fault starts
    library.mark_timeline("black-hole one backend", "fault start")
    cloud.down("every other hangs")
    time.sleep(2.0)
    cloud.up()
    library.mark_timeline("backend back", "fault end")
    wait_samples(library, "half", 80)
    library.stop_availability_monitor("half")
    # The longest outage is about one sample: that verdict passes.
    library.outage_should_be_shorter_than(timedelta(seconds=0.5), name="half")
    with pytest.raises(AvailabilityError) as failure:
        library.partial_outage_should_stay_within(10, timedelta(seconds=0.5), name="half")
    message = str(failure.value)
    assert message.startswith("Partial outage during (from ")
    assert "version-identity (identity)" in message and "requests failed (" in message
    assert "limit 10 %" in message and "timeout" in message
    assert "503" not in message
    records = [r for r in results.expectation_records((k, d) for k, d, _ in published)
               if r["keyword"] == "Partial Outage Should Stay Within"]
    share, seconds = records
    assert (share["what"], share["unit"], share["subject"], share["passed"]) == (
        "failed share (during)", "%", "version-identity", False)
    assert 30 <= share["measured"] <= 70  # every other request, about
    assert seconds["what"] == "failing time (during)" and seconds["unit"] == "s"
    assert 0.6 <= seconds["measured"] <= 1.6 and seconds["uncertainty"] > 0
    assert not seconds["passed"]
    # Generous limits pass; nothing failed after the recovery.
    library.partial_outage_should_stay_within(80, timedelta(seconds=3), name="half")
    library.partial_outage_should_stay_within(0.01, timedelta(0), phase="after recovery",
                                              probe="version-identity", name="half")
    assert "Partial Outage Should Stay Within" in results.VERDICT_KEYWORDS


def test_a_delete_re_sent_on_the_way_is_deleted_twice_not_lost(target, cloud, published):
    # As a load balancer that re-sends requests: each DELETE is applied twice and the
    # monitor gets the second answer, 404. Nothing was lost.
    cloud.resend_deletes = True
    library = Monitor(target)
    library.start_availability_monitor(name="resent", probes=["write-network"],
                                       writes=["network"], rate=20)
    session = library._sessions["resent"]
    deadline = time.monotonic() + 10
    while not any(w.missing_at_delete for w in session.write_probes[0].ledger.writes()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    library.stop_availability_monitor("resent", settle=timedelta(seconds=0))
    with pytest.raises(AvailabilityError) as failure:
        library.no_requests_should_be_lost("resent")
    records = {r["what"]: r["measured"]
               for r in results.expectation_records((k, d) for k, d, _ in published)}
    assert records["lost writes"] == 0 and records["writes deleted twice"] >= 1
    message = str(failure.value)
    assert "deleted twice" in message and "delete req-" in message and " lost" not in message


def test_no_outage_at_all_publishes_a_record_that_agrees_with_its_verdict(target, cloud,
                                                                          published):
    library = Monitor(target)
    library.start_availability_monitor(name="calm", probes=["token"], rate=20)
    wait_samples(library, "calm", 4)
    library.stop_availability_monitor("calm")
    library.outage_should_be_shorter_than(timedelta(0), probe="token", name="calm")
    library.start_availability_monitor(name="cut", probes=["token"], rate=20)
    wait_samples(library, "cut", 3)
    cloud.down("503")
    time.sleep(0.3)
    cloud.up()
    wait_samples(library, "cut", 12)
    library.stop_availability_monitor("cut")
    with pytest.raises(AvailabilityError):
        library.outage_should_be_shorter_than(timedelta(0), probe="token", name="cut")
    records = results.expectation_records((k, d) for k, d, _ in published)
    assert [(r["what"], r["comparison"], r["limit"], r["passed"]) for r in records] == [
        ("outages", "==", 0, True), ("outages", "==", 0, False)]
    assert records[0]["measured"] == 0 and records[1]["measured"] >= 1


def test_no_write_probes_cannot_pass_silently(target, published):
    library = Monitor(target)
    library.start_availability_monitor(name="reads", probes=["version-identity"])
    library.stop_availability_monitor("reads")
    with pytest.raises(MonitorError, match="no write probes"):
        library.no_requests_should_be_lost("reads")


def test_monitors_stop_at_the_end_of_their_test_suite_or_run(cloud, published):
    library = Monitor()
    sessions = {}
    for name, scope in (("t", ("test", "S.Case")), ("s", ("suite", "S")),
                        ("g", ("global", ""))):
        sessions[name] = MonitorSession(name, [GetProbe("v", url=cloud.url + "/", rate=10)])
        library._start_session(sessions[name], "global")
        sessions[name].scope = scope
    with pytest.raises(MonitorError, match="already running"):
        library._start_session(MonitorSession("t", [GetProbe("v", url=cloud.url)]))
    library.ROBOT_LIBRARY_LISTENER.end_test(None, SimpleNamespace(full_name="S.Other"))
    assert sessions["t"].running
    library.ROBOT_LIBRARY_LISTENER.end_test(None, SimpleNamespace(full_name="S.Case"))
    assert not sessions["t"].running and sessions["t"].result is not None
    assert sessions["s"].running
    library.ROBOT_LIBRARY_LISTENER.end_suite(None, SimpleNamespace(full_name="S"))
    assert not sessions["s"].running and sessions["g"].running
    library.ROBOT_LIBRARY_LISTENER.close()
    assert not sessions["g"].running
    assert [data["monitor"] for _, data, _ in published] == ["t", "s", "g"]


def test_phases_are_the_public_view_other_libraries_judge(target, cloud, published):
    library = Monitor(target)
    library.start_availability_monitor(name="p", probes=["version-identity", "token"])
    wait_samples(library, "p", 4)
    library.mark_timeline("change", "fault start")
    cloud.down("503")
    deadline = time.monotonic() + 10
    while not library.phases("token", "p").failed("during"):  # poll until a probe fails
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cloud.up()
    library.mark_timeline("changed", "fault end")
    wait_samples(library, "p", 12)
    running = library.phases(name="p")  # a running monitor: its figures so far
    assert running.fault.start is not None and running.fault.end is not None
    library.stop_availability_monitor("p")
    token, overall = library.phases("token", "p"), library.phases(name="p")
    assert token.failed("before") == 0 and token.failed("during") >= 1
    assert len(overall.samples["all"]) == sum(
        len(library.phases(probe, "p").samples["all"]) for probe in ("version-identity", "token"))
    assert overall.latency_percentile("before", 95) is not None
    result = library.get_monitor_result("p")
    assert token.failed("all") == result["probes"]["token"]["failed"]
    assert len(overall.samples["during"]) > 0
    with pytest.raises(MonitorError, match="no probe 'nope'"):
        library.phases("nope", "p")
    with pytest.raises(MonitorError, match="No monitor named 'other'"):
        library.phases(name="other")
    assert not hasattr(Monitor.phases, "robot_name"), "plain Python, not a keyword"


def test_unknown_probe_names_are_refused(target):
    with pytest.raises(MonitorError, match="Unknown probes"):
        Monitor(target).start_availability_monitor(probes=["version-compute"])


def test_export_with_samples(tmp_path, cloud):
    session = MonitorSession("x", [GetProbe("v", url=cloud.url + "/", rate=20)])
    session.start()
    deadline = time.monotonic() + 10
    while session.run.timelines["v"].total < 4:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    session.stop(draw=False)
    written = json.loads(session.export(tmp_path / "r.json", samples=True).read_text())
    assert written["monitor"] == "x"
    assert len(written["samples"]["v"]) >= 4
    assert {"t", "latency", "ok", "status", "request_id"} <= set(written["samples"]["v"][0])


def test_start_returns_with_a_steady_state_before_any_fault(target, published):
    # A fault injected right after the start must have a 'before' phase to judge: the
    # keyword polls until every probe finished a sample (a slow write probe included).
    library = Monitor(target)
    library.start_availability_monitor(name="base", baseline=timedelta(milliseconds=200))
    session = library._sessions["base"]
    counts = {name: len(samples) for name, samples in session.run.samples().items()}
    library.stop_availability_monitor("base")
    assert counts and all(count >= 1 for count in counts.values()), counts
    started = time.monotonic()
    library.start_availability_monitor(name="now", baseline=timedelta(0))
    assert time.monotonic() - started < 5  # no baseline: returns without waiting for one
    library.stop_availability_monitor("now")


def test_a_baseline_without_a_sample_of_some_probe_warns_naming_it(monkeypatch):
    from ExtremeTesting.monitor import library as monitor_library

    asked, warned = [], []
    session = SimpleNamespace(wait_for_baseline=lambda seconds, deadline: asked.append(
        (seconds, deadline)) or ["nova", "glance"])
    monkeypatch.setattr(monitor_library.logger, "warn", warned.append)
    monitor_library._wait_for_baseline(session, timedelta(seconds=3), 7, "Monitor 'm'",
                                       ": the phase before a fault may be empty for it")
    assert asked == [(3.0, 10.0)]
    assert warned == ["Monitor 'm': no sample of nova, glance yet after the 3 s baseline: "
                      "the phase before a fault may be empty for it."]
    monitor_library._wait_for_baseline(session, timedelta(0), 7, "Data plane 'd'")
    assert len(asked) == 1  # no baseline: the session is not even asked


def test_a_write_without_a_request_id_is_named_with_the_time_its_create_was_sent():
    origin_wall = datetime(2026, 12, 7, 6, 19, 39, 353000).timestamp()
    result = {"origin_wall": origin_wall}
    entry = {"request_ids": "no request id", "sent_t": 6.909}
    assert Monitor._request_ids(result, entry) == "no request id, create sent at 06:19:46.262"
    answered = {"request_ids": "create req-1, delete req-2", "sent_t": 6.909}
    assert Monitor._request_ids(result, answered) == "create req-1, delete req-2"
    assert Monitor._request_ids(result, {"request_ids": "not ours"}) == "not ours"
    assert Monitor._request_ids({}, entry) == "no request id"

"""Answers checked against their published schemas by sample: which ones, what is kept, what
the monitor's result and its verdict say, the answers of the libraries' own API calls, and
nothing ever failing a probe or a call. With the small tempest-shaped package of
conftest.py (tempest itself is an optional extra, absent from the project's venv)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from robot.api import SkipExecution

from ExtremeTesting import results
from ExtremeTesting.cloud import connection
from ExtremeTesting.monitor import AvailabilityError, Monitor, MonitorError
from ExtremeTesting.monitor.fakecloud import FakeCloud
from ExtremeTesting.monitor.probes import GetProbe, TokenHolder
from ExtremeTesting.monitor.session import MonitorSession
from ExtremeTesting.schemas import published, watch
from ExtremeTesting.schemas.watch import Watch

SERVERS = "http://vip:8774/v2.1/servers?limit=1"
AT_21 = {"openstack-api-version": "compute 2.1"}
GOOD = json.dumps({"servers": [{"id": "a1", "name": "vm"}]}).encode()
NAMELESS = json.dumps({"servers": [{"id": "a1"}]}).encode()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_first_answer_of_each_kind_then_one_per_period_is_checked(tempest):
    clock = Clock()
    found = Watch(every=60, clock=clock)
    for _ in range(5):  # one kind, five answers in the same second: the first is checked
        found.offer("compute", "GET", SERVERS, 200, AT_21, GOOD)
    found.offer("compute", "GET", SERVERS, 200, {"openstack-api-version": "compute 2.47"},
                NAMELESS)  # another microversion: another kind, checked at once
    clock.now += 59.9
    found.offer("compute", "GET", SERVERS, 200, AT_21, NAMELESS)  # not due yet
    clock.now += 0.2
    found.offer("compute", "GET", SERVERS, 200, AT_21, NAMELESS)  # due: checked
    figures = found.figures()
    assert figures["status"] == "checked" and figures["checked"] == 3
    assert [(k["request"], k["microversion"], k["seen"], k["checked"], k["mismatched"])
            for k in figures["kinds"]] == [("/servers", "2.1", 7, 2, 1),
                                           ("/servers", "2.47", 1, 1, 1)]
    assert [m["text"] for m in figures["mismatches"]] == [
        "compute GET /servers at 2.1: servers[0].name: missing",
        "compute GET /servers at 2.47: servers[0].name: missing",
        "compute GET /servers at 2.47: servers[0].status: missing"]
    assert figures["sampling"] == "the first answer of each kind, then at most one every 60 s"


def test_a_mismatch_seen_again_is_counted_once_with_its_first_request_ids(tempest):
    clock = Clock()
    found = Watch(every=1, clock=clock)
    for our in ("req-1", "req-2", "req-3"):
        found.offer("compute", "GET", SERVERS, 200, AT_21, NAMELESS, our, "theirs-" + our,
                    "read-servers")
        clock.now += 1
    (mismatch,) = found.figures()["mismatches"]
    assert (mismatch["count"], mismatch["our_id"], mismatch["their_id"], mismatch["source"]) \
        == (3, "req-1", "theirs-req-1", "read-servers")
    assert mismatch["schema"].endswith("compute.v2_1.servers.list_servers")
    assert mismatch["first_seen"] <= mismatch["last_seen"]


def test_apis_without_a_published_schema_are_listed_not_checked(tempest):
    found = Watch(every=0)
    found.offer("identity", "GET", "http://vip:5000/v3/auth/projects", 200, {}, b"{}")
    found.offer("network", "GET", "http://vip:9696/v2.0/networks/"
                "0b3c5f6e-0000-4000-8000-000000000001", 200, {}, b"{}")
    found.offer("compute", "POST", "http://vip:8774/v2.1/servers/a1/action", 202, AT_21, b"")
    found.offer("compute", "GET", SERVERS, 503, AT_21, b"")  # an error: not looked at
    figures = found.figures()
    assert figures["checked"] == 0 and figures["kinds"] == []
    assert figures["not_covered"] == [
        {"api": "compute", "responses": 1, "requests": ["POST /servers/a1/action"]},
        {"api": "identity", "responses": 1, "requests": ["GET /auth/projects"]},
        {"api": "network", "responses": 1, "requests": ["GET /networks/{id}"]}]
    assert figures["no_schema_published"] == ["identity", "network", "image", "placement"]


def test_a_request_tempest_has_no_schema_for_is_not_covered(tempest, monkeypatch):
    found = Watch(every=0)
    found.offer("compute", "GET", "http://vip:8774/v2.1/flavors", 200, AT_21, b"{}")
    asked = []
    monkeypatch.setattr(published, "schema_for", lambda *a: asked.append(a))
    found.offer("compute", "GET", "http://vip:8774/v2.1/flavors", 200, AT_21, b"{}")
    figures = found.figures()
    assert figures["kinds"] == [] and figures["errors"] == 0 and figures["responses"] == 0
    assert figures["not_covered"] == [{"api": "compute", "responses": 2,
                                       "requests": ["GET /flavors at 2.1"]}]
    assert asked == []  # not looked up again


def test_without_tempest_nothing_is_checked_and_the_extra_is_named(monkeypatch):
    monkeypatch.setattr(published, "available", lambda: False)
    found = Watch(every=0)
    read = []
    for _ in range(3):
        found.offer("compute", "GET", SERVERS, 200, AT_21, lambda: read.append(1) or GOOD)
    figures = found.figures()
    assert figures["status"] == "not checked" and figures["checked"] == 0
    assert figures["unchecked"] == 3 and read == []  # the body is never even read
    assert "install 'openstack-extreme-testing[schemas]'" in figures["not_checked"]
    assert watch.summary(figures).startswith("not checked: install 'openstack-extreme-"
                                             "testing[schemas]'")


def test_a_check_that_breaks_is_counted_never_raised(tempest):
    found = Watch(every=0)

    def broken():
        raise OSError("connection reset while reading the body")

    found.offer("compute", "GET", SERVERS, 200, AT_21, broken)
    found.offer_response(None, None)  # nonsense in: still no exception
    figures = found.figures()
    assert figures["errors"] == 1 and "connection reset" in figures["last_error"]


def test_what_is_kept_is_bounded(tempest, monkeypatch):
    monkeypatch.setattr(watch, "MAX_KEPT", 2)
    found = Watch(every=0)
    body = json.dumps({"servers": [{"id": 1}, {"id": 2}]}).encode()  # 4 mismatches
    found.offer("compute", "GET", SERVERS, 200, AT_21, body)
    figures = found.figures()
    assert len(figures["mismatches"]) == 2 and figures["dropped"] == 2
    assert "servers[0].id: not of type 'string'" in watch.summary(figures)


def _tokens(cloud: FakeCloud) -> TokenHolder:
    return TokenHolder(cloud.url + "/v3", {"auth": {"identity": {"methods": ["password"],
                       "password": {"user": {"name": "admin", "password": cloud.password}}}}})


def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_the_monitor_checks_its_reads_and_never_fails_a_probe_for_it(tempest):
    with FakeCloud() as cloud:
        tokens = _tokens(cloud)
        session = MonitorSession("schemas", [
            GetProbe("read-servers", "read", rate=20, timeout=1.0, service="compute",
                     url=cloud.url + "/v2.1/servers?limit=1", tokens=tokens),
            GetProbe("read-networks", "read", rate=20, timeout=1.0, service="network",
                     url=cloud.url + "/v2.0/networks?limit=1", tokens=tokens)],
            schemas=Watch(every=0.2))
        session.start()
        _wait(lambda: session.schemas.figures()["checked"] >= 2)
        cloud.listed_server.pop("name")  # the cloud now answers without a field
        _wait(lambda: session.schemas.figures()["mismatches"])
        result = session.stop(draw=False)
    figures = result["schemas"]
    assert [m["text"] for m in figures["mismatches"]] == [
        "compute GET /servers at 2.1: servers[0].name: missing"]
    assert figures["mismatches"][0]["source"] == "read-servers"
    assert figures["mismatches"][0]["our_id"].startswith("req-")
    assert figures["not_covered"] == [{"api": "network", "responses": figures[
        "not_covered"][0]["responses"], "requests": ["GET /networks"]}]
    # a mismatch is a finding, not a failed request: every sample stayed OK
    assert result["overall"]["failed"] == 0 and result["overall"]["samples"] > 10


def test_a_slow_check_never_lengthens_a_sample(tempest, monkeypatch):
    checked = []
    original = published.check

    def slow(*args, **kwargs):
        time.sleep(1.0)
        checked.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(published, "check", slow)
    with FakeCloud() as cloud:
        session = MonitorSession("slow", [GetProbe(
            "read-servers", "read", rate=10, timeout=2.0, service="compute",
            url=cloud.url + "/v2.1/servers?limit=1", tokens=_tokens(cloud))],
            schemas=Watch(every=0))
        session.start()
        _wait(lambda: len(checked) >= 2)
        session.stop(draw=False)
    latencies = [s.latency for s in session.run.samples()["read-servers"]]
    # each check took 1 s; the samples it followed were timed before it (3x margin)
    assert latencies and max(latencies) < 1.0 / 3


@pytest.fixture
def records(monkeypatch):
    found = []

    def capture(kind, data, summary_html="", level="INFO"):
        found.append((kind, data))
        results.render(kind, data, summary_html)  # must serialise

    monkeypatch.setattr(results, "publish", capture)
    return found


def _monitor_with(figures: dict) -> Monitor:
    library = Monitor()
    session = SimpleNamespace(result={"schemas": figures}, name="default")
    library._sessions["default"] = session
    return library


def _figures(*offers, every=0.0) -> dict:
    found = Watch(every=every)
    for offer in offers:
        found.offer(*offer)
    return found.figures()


def test_the_verdict_publishes_a_record_per_kind_and_names_each_mismatch(tempest, records):
    figures = _figures(("compute", "GET", SERVERS, 200, AT_21, NAMELESS, "req-9"),
                       ("compute", "DELETE", "http://vip:8774/v2.1/servers/a1", 204, AT_21,
                        b""))
    library = _monitor_with(figures)
    with pytest.raises(AvailabilityError, match=r"compute GET /servers at 2\.1: "
                       r"servers\[0\]\.name: missing \(1 of 1 checked answer\(s\), first at "
                       r"\d\d:\d\d:\d\d, request req-9\)"):
        library.responses_should_match_their_schemas()
    expectations = [(d["subject"], d["measured"], d["passed"]) for k, d in records
                    if k == results.EXPECTATION]
    assert expectations == [("compute DELETE /servers/{id} at 2.1", 0.0, True),
                            ("compute GET /servers at 2.1", 1.0, False)]
    assert all(d["keyword"] == "Responses Should Match Their Schemas" for k, d in records
               if k == results.EXPECTATION)


def test_the_verdict_passes_only_on_what_it_checked(tempest, records):
    library = _monitor_with(_figures(("compute", "GET", SERVERS, 200, AT_21, GOOD)))
    library.responses_should_match_their_schemas()
    assert [(d["measured"], d["passed"]) for k, d in records if k == "expectation"] == [
        (0.0, True)]


def test_the_verdict_is_skipped_never_passed_when_nothing_was_checked(tempest, monkeypatch,
                                                                      records):
    only_uncovered = _figures(("network", "GET", "http://vip:9696/v2.0/networks", 200, {},
                               b"{}"))
    with pytest.raises(SkipExecution, match=r"nothing to check: .*tempest publishes no "
                       r"schema for identity, network, image, placement\)\. Answers seen: "
                       r"network: GET /networks"):
        _monitor_with(only_uncovered).responses_should_match_their_schemas()
    monkeypatch.setattr(published, "available", lambda: False)
    unchecked = _figures(("compute", "GET", SERVERS, 200, AT_21, NAMELESS))
    with pytest.raises(SkipExecution, match=r"not checked: install 'openstack-extreme-"
                       r"testing\[schemas\]'.*1 answer\(s\) of Compute or Block Storage "
                       r"went unchecked"):
        _monitor_with(unchecked).responses_should_match_their_schemas()
    assert [k for k, _ in records if k == results.EXPECTATION] == []  # no record: a skip


def test_the_verdict_needs_a_monitor_that_probed_an_api():
    library = Monitor()
    library._sessions["dp"] = SimpleNamespace(result={"schemas": None}, name="dp")
    with pytest.raises(MonitorError, match="no API probe"):
        library.responses_should_match_their_schemas(name="dp")
    with pytest.raises(MonitorError, match="No monitor named 'nope'"):
        library.responses_should_match_their_schemas(name="nope")


class _Content:
    """A requests.Response stand-in that counts reads of its body."""

    def __init__(self, status, headers, body):
        self.status_code, self.headers, self._body, self.reads = status, headers, body, 0

    @property
    def content(self):
        self.reads += 1
        return self._body


def test_the_libraries_calls_are_checked_from_the_start_of_the_suite(tempest, monkeypatch,
                                                                     records):
    calls = Watch(every=60)
    monkeypatch.setattr(watch, "CALLS", calls)
    stale = _Content(200, {"OpenStack-API-Version": "compute 2.1"}, NAMELESS)
    request = SimpleNamespace(method="GET", url=SERVERS,
                              headers={"X-OpenStack-Request-ID": "req-old"})
    connection._on_response(request, stale, None)
    library = Monitor()
    library.scope_started("suite", "Suites.Operational.Smoke", None)  # forgets the above
    first = _Content(200, {"OpenStack-API-Version": "compute 2.1",
                           "x-openstack-request-id": "req-theirs"}, NAMELESS)
    request.headers = {"X-OpenStack-Request-ID": "req-ours"}
    connection._on_response(request, first, None)
    again = _Content(200, {"OpenStack-API-Version": "compute 2.1"}, NAMELESS)
    connection._on_response(request, again, None)
    connection._on_response(request, None, TimeoutError())  # no answer: nothing to check
    keystone = _Content(200, {}, b"{}")  # an API that names no microversion: never read
    connection._on_response(SimpleNamespace(method="GET", url="http://vip:5000/v3/projects",
                                            headers={}), keystone, None)
    assert (first.reads, again.reads, keystone.reads) == (1, 0, 0)
    with pytest.raises(AvailabilityError, match=r"this suite's API calls .*servers\[0\]\.name"
                       r": missing \(1 of 1 checked answer\(s\), first at .*, request "
                       r"req-ours\)"):
        library.responses_should_match_their_schemas(of="calls")
    (published_calls,) = [d for k, d in records if k == "schemas"]
    assert published_calls["of"] == "calls" and published_calls["kinds"][0]["seen"] == 2
    assert published_calls["not_covered"] == [
        {"api": "unnamed", "responses": 1, "requests": ["GET /v3/projects"]}]
    assert watch.summary(published_calls).endswith(
        "; no schema for APIs that name no microversion")


def test_an_sdk_connection_feeds_the_calls_watch(monkeypatch):
    calls = Watch(every=0, available=False)
    monkeypatch.setattr(watch, "CALLS", calls)
    requests = pytest.importorskip("requests")
    session = requests.Session()

    class Adapter(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):
            response = requests.Response()
            response.status_code, response.request = 200, request
            response.headers["OpenStack-API-Version"] = "compute 2.1"
            response._content = GOOD
            return response

        def close(self):
            pass

    session.mount("http://", Adapter())
    assert connection.stamp_request_ids(SimpleNamespace(session=SimpleNamespace(
        session=session)))
    assert session.get(SERVERS, timeout=1).status_code == 200
    assert calls.figures()["unchecked"] == 1  # offered (not checked: no tempest here)


def test_a_verdict_that_checked_nothing_blocks_acceptance_in_the_report(tmp_path):
    """The skip is no pass: the sign-off report counts it as blocking (NOT ACCEPTED)
    unless the target declares the case not applicable."""
    import io

    import robot
    from ExtremeTesting.report import model

    suite = tmp_path / "schemas.robot"
    suite.write_text("*** Settings ***\nLibrary    ExtremeTesting.Monitor\n\n"
                     "*** Test Cases ***\nAnswers Match Their Schemas\n"
                     "    [Tags]    area:operational\n"
                     "    Responses Should Match Their Schemas    of=calls\n")
    robot.run(str(suite), outputdir=str(tmp_path), log="NONE", report="NONE",
              stdout=io.StringIO(), stderr=io.StringIO())
    run = model.read([tmp_path / "output.xml"], [], tmp_path)
    (case,) = run.cases
    expected = "not checked: install 'openstack-extreme-testing[schemas]'" if not \
        published.available() else "nothing to check"
    assert case.status == "SKIP" and expected in case.message
    assert case.verdict == "SKIP" and run.verdict == model.NOT_ACCEPTED
    declared = model.read([tmp_path / "output.xml"], [], tmp_path, not_applicable=[
        {"test": "Answers Match Their Schemas", "reason": "no tempest on this runner"}])
    assert declared.cases[0].verdict == "NOT APPLICABLE"

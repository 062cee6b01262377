"""Request ids on every request, failed requests kept with them, and the services' log
lines fetched, masked and capped (the evidence of a failed case)."""

from __future__ import annotations

import http.server
import io
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import robot
from ExtremeTesting import results
from ExtremeTesting.cloud import connection
from ExtremeTesting.errors import TargetError
from ExtremeTesting.evidence import collect, failures, ids, logs, mask
from ExtremeTesting.lab import leakscan
from ExtremeTesting.monitor import http as probe_http
from ExtremeTesting.report import cli as report_cli

THEIRS = "req-11111111-2222-4333-8444-555555555555"


@pytest.fixture(autouse=True)
def _clean_failures():
    failures.clear()
    yield
    failures.clear()


# --- our id on every request -----------------------------------------------------------

def test_stamp_gives_a_fresh_valid_id_and_keeps_a_callers_valid_one():
    first, second = {}, {"x-openstack-request-id": "not-an-id"}
    a, b = ids.stamp(first), ids.stamp(second)
    assert ids.is_ours(a) and ids.is_ours(b) and a != b
    assert first == {ids.HEADER: a} and second == {ids.HEADER: b}  # the bad one replaced
    kept = {ids.HEADER: THEIRS}
    assert ids.stamp(kept) == THEIRS and ids.last_sent() == THEIRS
    ids.forget()
    assert ids.last_sent() == ""


class _Adapter(requests.adapters.BaseAdapter):
    def __init__(self, status: int = 200, fail: bool = False):
        super().__init__()
        self.status, self.fail, self.seen = status, fail, []

    def send(self, request, **kwargs):
        self.seen.append(request.headers.get(ids.HEADER))
        if self.fail:
            raise requests.exceptions.ConnectTimeout("no answer")
        response = requests.Response()
        response.status_code = self.status
        response.headers["X-OpenStack-Request-ID"] = THEIRS
        response.request = request
        response._content = b"{}"
        return response

    def close(self):
        pass


class _Connection:
    def __init__(self, adapter):
        self.session = type("KsaSession", (), {})()
        self.session.session = requests.Session()
        self.session.session.mount("http://", adapter)


def test_every_sdk_request_carries_a_fresh_id_and_a_5xx_is_kept_with_both_ids():
    adapter = _Adapter(status=503)
    conn = _Connection(adapter)
    assert connection.stamp_request_ids(conn)
    assert connection.stamp_request_ids(conn)  # idempotent: one id per request, not two
    first = conn.session.session.get("http://192.0.2.1:8774/v2.1/servers?name=x", timeout=1)
    conn.session.session.get("http://192.0.2.1:8774/v2.1/servers", timeout=1)
    assert len(set(adapter.seen)) == 2 and all(ids.is_ours(i) for i in adapter.seen)
    assert ids.sent_by(first) == adapter.seen[0]
    kept = failures.since(0)
    assert [(f.source, f.our_id, f.their_id, f.status) for f in kept] == [
        ("sdk", adapter.seen[0], THEIRS, 503), ("sdk", adapter.seen[1], THEIRS, 503)]
    assert kept[0].url == "http://192.0.2.1:8774/v2.1/servers"  # never the query


def test_an_sdk_request_without_answer_is_kept_with_our_id():
    adapter = _Adapter(fail=True)
    conn = _Connection(adapter)
    connection.stamp_request_ids(conn)
    with pytest.raises(requests.exceptions.ConnectTimeout):
        conn.session.session.get("http://192.0.2.1:5000/v3", timeout=1)
    (kept,) = failures.since(0)
    assert kept.our_id == adapter.seen[0] == ids.last_sent()
    assert kept.their_id == "" and kept.error == "ConnectTimeout"


def test_a_2xx_is_not_a_failed_request():
    conn = _Connection(_Adapter(status=200))
    connection.stamp_request_ids(conn)
    conn.session.session.get("http://192.0.2.1:5000/v3", timeout=1)
    assert failures.since(0) == []


@pytest.fixture
def api_server():
    """A loopback HTTP server: /fail answers 503 with a request id of its own, /slow
    never answers within the probe's timeout; records the ids it received."""
    received: list[str] = []
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            received.append(self.headers.get(ids.HEADER, ""))
            if self.path == "/slow":
                release.wait(5)
            status = 503 if self.path == "/fail" else 200
            self.send_response(status)
            self.send_header("X-OpenStack-Request-ID", THEIRS)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    release.set()
    server.shutdown()
    server.server_close()


def test_the_monitors_client_sends_our_id_and_keeps_failures(api_server):
    url, received = api_server
    ok = probe_http.request("GET", url + "/ok", 2.0)
    bad = probe_http.request("GET", url + "/fail", 2.0)
    assert ok.sent_id == received[0] and bad.sent_id == received[1]
    assert all(ids.is_ours(i) for i in received) and received[0] != received[1]
    with pytest.raises(probe_http.ProbeError) as error:
        probe_http.request("GET", url + "/slow", 0.3)
    assert error.value.sent_id == received[2] == ids.last_sent()
    kept = failures.since(0)
    assert [(f.our_id, f.their_id, f.status) for f in kept] == [
        (received[1], THEIRS, 503), (received[2], "", None)]
    assert kept[1].error.startswith("timeout")


def test_monitor_samples_keep_the_id_sent():
    from ExtremeTesting.monitor.engine import MonitorRun
    from ExtremeTesting.monitor.probes import Outcome, Probe

    class Failing(Probe):
        def check(self):
            ids.stamp({})
            return Outcome(False, 503, "HTTP 503", THEIRS)

    run = MonitorRun([Failing("p", rate=50)], 100, name="t")
    run.start()
    deadline = time.monotonic() + 10
    while not run.samples()["p"] and time.monotonic() < deadline:
        time.sleep(0.01)
    run.stop()
    sample = run.samples()["p"][0]
    assert ids.is_ours(sample.sent_id) and sample.request_id == THEIRS
    assert sample.as_dict()["sent_id"] == sample.sent_id


# --- masking ----------------------------------------------------------------------------

FERNET = "gAAAAAB" + "x" * 120
LEAKY = [
    f"2026-12-06 14:00:00.000 1 DEBUG x [-] X-Auth-Token: {FERNET}",
    f"2026-12-06 14:00:00.000 1 DEBUG x [-] token={FERNET}",
    "2026-12-06 14:00:00.000 1 DEBUG x [-] Authorization: Basic YWRtaW46aHVudGVyMjI=",
    "2026-12-06 14:00:00.000 1 ERROR x [-] transport_url = rabbit://openstack:Sup3rS3cret@h:5672/",
    "2026-12-06 14:00:00.000 1 ERROR x [-] login with hunter22 refused",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
]


def test_masked_lines_pass_the_leak_scan():
    secrets = {"admin": "hunter22", "rabbit": "Sup3rS3cret"}
    key = [LEAKY[-1].encode()]
    raw = "\n".join(LEAKY).encode()
    assert len(leakscan.scan_bytes(raw, secrets, key)) >= 5  # the corpus does leak
    masked = "\n".join(mask.mask(line, secrets.values(), key) for line in LEAKY)
    assert leakscan.scan_bytes(masked.encode(), secrets, key) == []
    assert "rabbit://openstack:***@h:5672/" in masked
    assert "refused" in masked  # the rest of the line stays


def test_target_secrets_are_the_values_of_every_env_name():
    data = {"bmcs": {"ctl1": {"password_env": "BMC_PW"}},
            "switches": {"sw": {"password_env": "SW_PW", "username": "admin"}},
            "personas": {"p": {"password_env": "UNSET_PW"}}}
    assert sorted(mask.target_secrets(data, {"BMC_PW": "b" * 8, "SW_PW": "s" * 8})) == [
        "b" * 8, "s" * 8]


# --- the target's logs section ------------------------------------------------------------

DATA = {"nodes": {"ctl1": {"address": "192.0.2.11"}, "ctl2": {"address": "192.0.2.12"}},
        "services": {"nova-api": {"nodes": ["ctl1", "ctl2"]}, "haproxy": {"nodes": ["lb"]}}}


@pytest.mark.parametrize("logs_section, needle", [
    (["x"], "must map a service"),
    ({"nova-api": {}}, "logs.nova-api in the target needs 'files'"),
    ({"keystone": {"files": ["/x"]}}, "places 'keystone' on no node"),
    ({"nova-api": {"files": ["/x"], "nodes": ["ctl9"]}}, "node 'ctl9'"),
    ({"nova-api": {"files": ["/var/log/$(reboot)*.log"]}}, "a glob may hold only"),
])
def test_a_bad_logs_section_is_a_clear_error(logs_section, needle):
    with pytest.raises(TargetError, match=needle.replace("(", r"\(").replace("$", r"\$")):
        logs.sources({**DATA, "logs": logs_section})


def test_sources_follow_the_services_nodes_unless_given():
    found = logs.sources({**DATA, "logs": {
        "nova-api": {"files": "/var/log/nova/nova-api.log"},
        "nova-compute": {"unit": "nova-compute", "nodes": ["ctl2"]}}})
    assert [(s.service, s.node, s.files, s.unit) for s in found] == [
        ("nova-api", "ctl1", ("/var/log/nova/nova-api.log",), ""),
        ("nova-api", "ctl2", ("/var/log/nova/nova-api.log",), ""),
        ("nova-compute", "ctl2", (), "nova-compute")]


# --- fetching: the real shell command, run locally on files written here ------------------

OURS = "req-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def _stamp(wall: float) -> str:
    return datetime.fromtimestamp(wall).strftime("%Y-%m-%d %H:%M:%S.000")


def _write_logs(folder: Path, start: float) -> None:
    t = _stamp
    (folder / "nova").mkdir(parents=True)
    lines = [
        f"{t(start - 600)} 7 WARNING nova.x [-] long before the window",
        f"{t(start + 1)} 7 INFO nova.api [{OURS} {THEIRS} - - -] GET /v2.1/servers",
        f"{t(start + 2)} 7 ERROR nova.api [{OURS} {THEIRS} - - -] Unexpected exception",
        f"{t(start + 2)} 7 ERROR nova.api Traceback (most recent call last):",
        f"{t(start + 2)} 7 ERROR nova.api   File \"x.py\", line 1, in f",
        f"{t(start + 2)} 7 ERROR nova.api oslo_db.exception.DBConnectionError: lost "
        f"connection to mysql+pymysql://nova:Sup3rS3cret@db/nova",
        f"{t(start + 3)} 8 INFO nova.api [None req-x - - -] unrelated",
        *[f"{t(start + 4)} 9 WARNING nova.api [-] noise {i}" for i in range(300)],
    ]
    (folder / "nova" / "nova-api.log").write_text("\n".join(lines) + "\n")
    (folder / "rabbit@ctl1.log").write_text(
        f"{t(start + 1)}.5+00:00 [error] <0.1.0> closing AMQP connection\n")


def _local_runner(root: Path):
    calls = []

    def run(node: str, command: str, timeout: float):
        calls.append(node)
        done = subprocess.run(["bash", "-c", command.replace("/var/log", str(root / node))],
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr

    return run, calls


def test_fetch_finds_the_ids_lines_and_the_windows_warnings_masked_and_capped(tmp_path):
    start = time.time() - 60
    _write_logs(tmp_path / "ctl1", start)
    (tmp_path / "ctl2").mkdir()
    data = {**DATA, "logs": {
        "nova-api": {"files": ["/var/log/nova/nova-api.log"]},
        "rabbitmq": {"files": ["/var/log/rabbit@*.log"], "nodes": ["ctl1"]}}}
    run, calls = _local_runner(tmp_path)
    request = failures.FailedRequest("monitor", "GET", "http://vip:8774/v2.1/servers", OURS,
                                     THEIRS, 500, "HTTP 500", start + 1)
    evidence = collect.collect(data, [request], run, start, start + 30, timeout=10,
                               secrets=["Sup3rS3cret"])
    assert sorted(calls) == ["ctl1", "ctl2"]
    by = {(e.node, e.service): e for e in evidence.excerpts}
    nova = by[("ctl1", "nova-api")]
    assert len(nova.lines) == logs.MAX_LINES and nova.dropped > 0
    assert nova.id_lines == 2
    assert not any("long before" in line or "unrelated" in line for line in nova.lines)
    assert all("Sup3rS3cret" not in line for line in nova.lines)
    assert nova.lines[0].endswith("GET /v2.1/servers")  # chronological
    assert by[("ctl1", "rabbitmq")].first_error.endswith("closing AMQP connection")
    assert by[("ctl2", "nova-api")].problem == (
        f"cannot read {tmp_path}/ctl2/log/nova/nova-api.log on ctl2".replace("/log/", "/"))
    record = evidence.record()
    (shown,) = record["requests"]
    (found,) = shown["found"]
    assert (found["node"], found["service"]) == ("ctl1", "nova-api")
    assert found["first_error"].endswith("Unexpected exception")
    assert found["traceback_last"].startswith("oslo_db.exception.DBConnectionError: lost")
    assert "***" in found["traceback_last"] and "Sup3rS3cret" not in str(record)
    assert record["named_in_logs"] == 1 and record["failed_requests"] == 1
    page = evidence.html()
    assert "<details>" in page and "Sup3rS3cret" not in page


def test_an_unreachable_node_is_named_and_the_others_still_answer(tmp_path):
    start = time.time() - 60
    _write_logs(tmp_path / "ctl1", start)
    local, _ = _local_runner(tmp_path)

    def run(node, command, timeout):
        if node == "ctl2":
            raise OSError("Cannot reach ctl2 over SSH: timed out")
        return local(node, command, timeout)

    data = {**DATA, "logs": {"nova-api": {"files": ["/var/log/nova/nova-api.log"]}}}
    evidence = collect.collect(data, [], run, start, start + 30, timeout=10)
    by = {e.node: e for e in evidence.excerpts}
    assert "timed out" in by["ctl2"].problem and by["ctl1"].lines
    assert by["ctl1"].id_lines == 0  # no ids asked: only the window's warnings


def test_journald_sources_ask_journalctl_bounded_in_time():
    line = logs.command([logs.Source("nova-compute", "cmp1", unit="nova-compute")],
                        [OURS], 1000.0, 2000.0, 7)
    assert "timeout 7 journalctl" in line and "--since @1000 --until @2001" in line
    assert f"grep -F -e {OURS}" in line and "-p warning" in line


def test_traceback_and_first_error_readers():
    lines = ["2026-01-01 00:00:00.000 5 WARNING a [-] slow",
             "2026-01-01 00:00:01.000 5 ERROR a [req-1 req-2] boom",
             "2026-01-01 00:00:01.000 5 ERROR a Traceback (most recent call last):",
             "2026-01-01 00:00:01.000 6 ERROR b other process",
             "2026-01-01 00:00:01.000 5 ERROR a ValueError: bad"]
    assert logs.first_error(lines) == lines[1]
    assert logs.traceback_last(lines) == "ValueError: bad"
    assert logs.traceback_after(lines, lines[1]) == "ValueError: bad"
    assert logs.first_error(["2026-01-01 00:00:00.000 5 INFO a [-] fine"]) == ""


# --- the keyword, and the report beside the failed case ----------------------------------

class _FakeNodes:
    def __init__(self, root: Path):
        self.run_local, self.calls = _local_runner(root)

    def run(self, node, command, check=False, timeout=None):
        rc, out, err = self.run_local(node, command, timeout)
        return type("Result", (), {"rc": rc, "out": out, "err": err})()


def _library(tmp_path: Path, monkeypatch, status: str):
    from ExtremeTesting.evidence.library import Evidence, When
    from robot.libraries.BuiltIn import BuiltIn

    target = tmp_path / "target.yaml"
    target.write_text(
        "name: t\nnodes: {ctl1: {address: 192.0.2.11}}\n"
        "services: {nova-api: {nodes: [ctl1]}}\n"
        "logs: {nova-api: {files: [/var/log/nova/nova-api.log]}}\n")
    library = Evidence(str(target))
    library.nodes = _FakeNodes(tmp_path)
    monkeypatch.setattr(BuiltIn, "get_variable_value",
                        lambda self, name, default=None: status)
    published = []
    monkeypatch.setattr(results, "publish", lambda kind, data, summary="", level="INFO":
                        published.append((kind, data)))
    return library, When, published


def _start_test(library) -> None:
    """A test starts, as Robot tells the library's one scope listener."""
    library.ROBOT_LIBRARY_LISTENER.start_test(None, SimpleNamespace(full_name="S.Case"))


def test_a_failed_request_before_the_test_started_is_not_its_evidence(tmp_path,
                                                                      monkeypatch):
    library, When, published = _library(tmp_path, monkeypatch, "FAIL")
    before = library._case_started  # after the library was made, before the test
    failures.record("monitor", "GET", "http://vip:8774/", OURS, THEIRS, 500, "HTTP 500",
                    wall=before)
    while time.time() <= before:  # the clock's next tick: the test starts strictly later
        pass
    _start_test(library)
    assert library.collect_evidence_of_failed_requests() == {}
    assert library.nodes.calls == [] and published == []


def test_the_keyword_collects_only_for_a_failed_test(tmp_path, monkeypatch):
    library, When, published = _library(tmp_path, monkeypatch, "PASS")
    _start_test(library)
    _write_logs(tmp_path / "ctl1", time.time())
    failures.record("monitor", "GET", "http://vip:8774/", OURS, THEIRS, 500, "HTTP 500")
    assert library.collect_evidence_of_failed_requests() == {}
    assert library.nodes.calls == [] and published == []
    record = library.collect_evidence_of_failed_requests(When.always)
    assert published == [("evidence", record)] and library.nodes.calls == ["ctl1"]
    assert record["requests"][0]["found"][0]["service"] == "nova-api"


def test_the_keyword_does_nothing_without_failures_or_faults(tmp_path, monkeypatch):
    library, When, published = _library(tmp_path, monkeypatch, "FAIL")
    _start_test(library)
    assert library.collect_evidence_of_failed_requests() == {}
    assert library.nodes.calls == [] and published == []


def test_the_report_shows_the_evidence_beside_the_failed_case(tmp_path):
    library = tmp_path / "Publisher.py"
    record = {"schema": 1, "case": "S.Fails", "since": "2026-12-06T14:00:00.000",
              "until": "2026-12-06T14:01:00.000", "fetch_seconds": 1.5,
              "failed_requests": 3, "named_in_logs": 1, "excerpt_lines": 12, "problems": [],
              "requests": [{"our_id": OURS, "their_id": THEIRS, "source": "monitor",
                            "method": "GET", "path": "/v2.1/servers", "port": 8774,
                            "status": None, "error": "timeout after 1 s",
                            "at": "2026-12-06T14:00:05.000", "found": [{
                                "node": "ctl1", "service": "nova-api", "lines": "2",
                                "first_error": "ERROR nova.api Unexpected exception",
                                "traceback_last": "DBConnectionError: lost connection"}]}],
              "services": [{"node": "ctl1", "service": "nova-api", "lines": 12,
                            "id_lines": 2, "dropped": 0, "problem": "",
                            "first_error": "ERROR nova.api Unexpected exception",
                            "traceback_last": "DBConnectionError: lost connection"}]}
    library.write_text(
        "from ExtremeTesting import results\n"
        f"RECORD = {record!r}\n"
        "def publish_evidence():\n    results.publish('evidence', RECORD, 'evidence')\n")
    suite = tmp_path / "S.robot"
    suite.write_text(
        "*** Settings ***\nLibrary    Publisher.py\n\n*** Test Cases ***\nFails\n"
        "    [Tags]    area:destructive\n    Fail    outage too long\n"
        "    [Teardown]    Publish Evidence\n")
    rc = robot.run(str(suite), outputdir=str(tmp_path), output="output.xml", log="NONE",
                   report="NONE", pythonpath=[str(tmp_path)], stdout=io.StringIO(),
                   stderr=io.StringIO())
    assert rc == 1
    out = tmp_path / "signoff.html"
    assert report_cli.main([str(tmp_path / "output.xml"), "-o", str(out)]) == 1
    page = out.read_text()
    assert "Evidence: the failed requests and the services" in page
    assert "DBConnectionError: lost connection" in page and OURS in page
    assert "3 failed requests, 1 named in the logs" in page  # in the new failures table


def test_the_example_and_the_lab_targets_name_where_their_services_log():
    from ExtremeTesting import target
    from ExtremeTesting.lab import targetfile
    from ExtremeTesting.lab import topology as topo

    example = target.load(Path(__file__).parents[2] / "variables" /
                          "example-3-controllers.yaml")
    found = logs.sources(example.data)
    assert {(s.service, s.node) for s in found} >= {("keystone", "ctl3"),
                                                    ("nova-compute", "cmp2")}
    lab = {"nodes": {n.name: {"address": n.address} for n in topo.NODES},
           "services": {s.name: {"nodes": list(s.nodes)} for s in topo.SERVICES},
           "logs": targetfile.logs_section()}
    services = {s.service for s in logs.sources(lab)}
    assert {"keystone", "nova-api", "neutron-server", "placement", "glance-api",
            "nova-compute", "mariadb", "rabbitmq"} <= services


def test_evidence_that_cannot_be_collected_warns_and_never_fails_the_case(tmp_path,
                                                                          monkeypatch):
    library, When, published = _library(tmp_path, monkeypatch, "FAIL")
    _start_test(library)
    failures.record("monitor", "GET", "http://vip:8774/", OURS, THEIRS, 500, "HTTP 500")
    warned = []
    monkeypatch.setattr("robot.api.logger.warn", lambda text, html=False: warned.append(text))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(library, "collect", broken)
    assert library.collect_evidence_of_failed_requests() == {}
    assert published == [] and "could not be collected: RuntimeError" in warned[0]


def test_a_malformed_logs_section_fails_the_keyword_clearly(tmp_path, monkeypatch):
    library, When, _ = _library(tmp_path, monkeypatch, "FAIL")
    library.target.data["logs"] = {"nova-api": {"nodes": ["ctl1"]}}
    _start_test(library)
    failures.record("monitor", "GET", "http://vip:8774/", OURS, THEIRS, 500, "HTTP 500")
    with pytest.raises(TargetError, match="logs.nova-api in the target needs 'files'"):
        library.collect_evidence_of_failed_requests()


def test_a_failed_load_iteration_is_kept_with_every_id_it_sent():
    from ExtremeTesting.load.workloads import WorkerContext, run_iteration

    def workload(ctx):
        for _ in range(3):
            ids.stamp({})
        raise RuntimeError("server went to ERROR; password=hunter22")

    sample = run_iteration(workload, WorkerContext(0, "xt-"), "boot_server")
    (kept,) = failures.since(0)
    assert kept.source == "load" and kept.url == "boot_server"
    assert len(kept.all_ids) == 3 and kept.our_id == ids.sent_since_forget()[0]
    assert sample.sent_id == kept.all_ids[-1]
    evidence = collect.Evidence("c", [kept], [], 0, 1)
    assert "hunter22" not in str(evidence.record()) and "hunter22" not in evidence.html()

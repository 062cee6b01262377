"""The Cloud library inside real Robot runs, against the fake cloud: keywords, the
clean-up listener (after passing and failing tests, per test and per suite), purge,
skips, error messages, published environment record, and secrets kept out of the log."""

from __future__ import annotations

import io
import json
import logging
import sys
import textwrap
from pathlib import Path

import pytest
import robot
from ExtremeTesting import results
from ExtremeTesting.cloud import connection
from robot.api import ExecutionResult

# The fake cloud lives beside this file; importable whether or not tests/unit is a package.
sys.path.insert(0, str(Path(__file__).parent))
from test_cloud_fake import FakeCloud, http_error

CONTROL = '''
import logging
from ExtremeTesting.cloud import connection
from test_cloud_fake import http_error


def _cloud():
    return connection.connect(None, None)


def fail_next_call(proxy, method, status, message, request_id="req-boom"):
    _cloud().fail_on(proxy, method, http_error(int(status), message, request_id), times=1)


def set_compute_service_state(binary, state):
    for service in _cloud().store["service"].values():
        if service.binary == binary:
            service.state = state


def fake_should_hold(prefix, count):
    held = _cloud().named(prefix)
    assert len(held) == int(count), f"expected {count} resources named {prefix}*: {held}"


def log_like_keystoneauth(secret):
    logging.getLogger("keystoneauth.session").debug(
        'REQ: curl -g -i -X POST http://198.18.0.100:5000/v3/users '
        '-H "X-Auth-Token: {SHA256}abc" -d \\'{"user": {"name": "u", "password": "%s"}}\\'',
        secret)
    logging.getLogger("some.other.library").info("the password is %s", secret)
'''


@pytest.fixture
def fake(monkeypatch, tmp_path):
    cloud = FakeCloud()
    monkeypatch.setattr(connection, "connect", lambda settings, password: cloud)
    # No target: the per-node checks skip, whatever lab runs on this machine.
    monkeypatch.setenv("EXTREME_TARGET", str(tmp_path / "no-target.yaml"))
    (tmp_path / "FakeControl.py").write_text(CONTROL)
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return cloud


def run(tmp_path: Path, suites: dict[str, str], loglevel: str = "INFO", **env):
    folder = tmp_path / "suites"
    folder.mkdir(exist_ok=True)
    for name, text in suites.items():
        (folder / name).write_text(text)
    output = tmp_path / "output.xml"
    stdout = io.StringIO()
    root_level = logging.getLogger().level
    rc = robot.run(str(folder), output=str(output), log=None, report=None,
                   loglevel=loglevel, pythonpath=[str(tmp_path)], stdout=stdout,
                   stderr=stdout)
    logging.getLogger().setLevel(root_level)
    assert output.exists(), stdout.getvalue()
    result = ExecutionResult(str(output))
    tests = {t.name: t for t in result.suite.all_tests}
    assert output.exists(), stdout.getvalue()
    return rc, tests, output.read_text(encoding="utf-8"), stdout.getvalue()


SETTINGS = """\
*** Settings ***
Library    ExtremeTesting.cloud.Cloud    cloud=fake    prefix=xt-unit-    api_timeout=5 s
Library    FakeControl
"""


def suite(body: str) -> str:
    return SETTINGS + textwrap.dedent(body)


def test_server_lifecycle_and_cleanup_after_a_half_way_failure(fake, tmp_path):
    _, tests, xml, _ = run(tmp_path, {"lifecycle.robot": suite("""
        *** Test Cases ***
        Server Lifecycle
            ${server} =    Create Server    timeout=10 s
            Server Status Should Be    ${server}    ACTIVE
            Should Start With    ${server.name}    xt-unit-server-
            Stop Server    ${server}
            Server Status Should Be    ${server}    SHUTOFF
            Start Server    ${server}
            Reboot Server    ${server}
            Delete Server    ${server}
            Server Should Not Exist    ${server}
            Fake Should Hold    xt-unit-    0

        Fails Half Way
            Create Network
            Create Keypair
            ${server} =    Create Server
            Fake Should Hold    xt-unit-    3
            Fail    Deliberate failure half way

        Nothing Left After The Failure
            No Resources Should Be Left
            Fake Should Hold    xt-unit-    0
        """)})
    assert {n: t.status for n, t in tests.items()} == {
        "Server Lifecycle": "PASS", "Fails Half Way": "FAIL",
        "Nothing Left After The Failure": "PASS"}, {n: t.message for n, t in tests.items()}
    assert tests["Fails Half Way"].message == "Deliberate failure half way"
    assert fake.named("xt-") == []
    assert "Clean-up after test" in xml
    # the server went before the network it could be using
    deletes = [m for _, m, _, _ in fake.calls if m.startswith("delete_")]
    assert deletes.index("delete_server") < deletes.index("delete_network")


def test_suite_scope_keeps_resources_until_the_suite_ends(fake, tmp_path):
    _, tests, _, _ = run(tmp_path, {"a_first.robot": suite("""
        Suite Setup    Create Network    shared

        *** Test Cases ***
        Suite Resource Survives Tests
            Create Image
            Fake Should Hold    xt-unit-shared    1

        Still There In The Next Test
            Fake Should Hold    xt-unit-shared    1
            Fake Should Hold    xt-unit-image    0
        """), "b_second.robot": suite("""
        *** Test Cases ***
        Earlier Suite Cleaned Up
            Fake Should Hold    xt-unit-    0
            Set Cleanup Level    SUITE
            Create Flavor

        Suite Level Keeps It
            Fake Should Hold    xt-unit-flavor    1
        """)})
    assert all(t.status == "PASS" for t in tests.values()), {
        n: t.message for n, t in tests.items()}
    assert fake.named("xt-") == []


def test_api_failure_message_has_status_request_id_and_message(fake, tmp_path):
    _, tests, _, _ = run(tmp_path, {"errors.robot": suite("""
        *** Test Cases ***
        Create Fails
            Fail Next Call    network    create_network    503    Service Unavailable
            Create Network
        """)})
    message = tests["Create Fails"].message
    assert "Creating network xt-unit-network-1 failed: HTTP 503" in message
    assert "Service Unavailable" in message and "request id req-boom" in message


def test_health_keywords_and_environment_record(fake, tmp_path):
    _, tests, xml, _ = run(tmp_path, {"health.robot": suite("""
        *** Test Cases ***
        Healthy
            Cloud Should Be Healthy
            Service Catalog Should Contain    compute    image
            All Endpoints Should Answer
            All Network Agents Should Be Up

        No Cinder Skips
            All Volume Services Should Be Up

        No Cinder Skips Volume Creation
            Create Volume

        Stopped Compute Turns Red
            Set Compute Service State    nova-compute    down
            Wait Until Compute Service Is Down    nova-compute    cmp1    timeout=5 s
            All Compute Services Should Be Up

        Unhealthy Lists Every Problem
            Cloud Should Be Healthy
        """)})
    status = {n: (t.status, t.message) for n, t in tests.items()}
    assert status["Healthy"][0] == "PASS", status
    assert status["No Cinder Skips"][0] == "SKIP"
    assert "no volume service" in status["No Cinder Skips"][1]
    assert status["No Cinder Skips Volume Creation"][0] == "SKIP"
    red = status["Stopped Compute Turns Red"]
    assert red[0] == "FAIL" and "nova-compute on cmp1 (state down" in red[1]
    assert "2 of 3 up" in red[1]
    unhealthy = status["Unhealthy Lists Every Problem"]
    assert unhealthy[0] == "FAIL" and "1 problem(s)" in unhealthy[1]
    assert "no agents" in xml.lower()
    records = [data for message in _messages(xml) for kind, data in results.extract(message)
               if kind == "environment"]
    assert len(records) == 1, "published once per run"
    assert records[0]["services"]["compute"]["max_microversion"] == "2.93"
    assert records[0]["services"]["image"]["api"] == "v2.16"
    assert records[0]["cloud"] == "fake"


def test_endpoint_down_is_named(fake, tmp_path):
    fake.session.down.add(":9292")
    _, tests, _, _ = run(tmp_path, {"endpoints.robot": suite("""
        *** Test Cases ***
        Endpoint Down
            All Endpoints Should Answer
        """)})
    message = tests["Endpoint Down"].message
    assert "1 of 4 did not" in message and "image http://198.18.0.100:9292" in message
    assert "ConnectFailure" in message


def test_purge_removes_only_earlier_runs_prefixed_resources(fake, tmp_path):
    fake.add("server", name="xt-earlier-server-1", status="ACTIVE")
    fake.add("network", name="xt-earlier-network-2")
    fake.add("user", name="xt-earlier-user-3")
    fake.add("network", name="public")
    _, tests, _, _ = run(tmp_path, {"purge.robot": suite("""
        *** Test Cases ***
        Purge
            ${mine} =    Create Network    keep
            ${dry} =    Purge Leftovers    dry_run=True
            Length Should Be    ${dry}    3
            Fake Should Hold    xt-earlier-    3
            ${gone} =    Purge Leftovers
            Length Should Be    ${gone}    3
            Fake Should Hold    xt-earlier-    0
            Fake Should Hold    xt-unit-keep    1
        """)})
    assert tests["Purge"].status == "PASS", tests["Purge"].message
    assert fake.named("") == sorted([("network", "public")] + [
        (k, o.name) for k, objs in fake.store.items() for o in objs.values()
        if k in ("flavor", "image", "service", "hypervisor") and o.get("name")])


def test_secrets_stay_out_of_the_log_at_debug(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("XT_UNIT_PASSWORD", "S3cret-Passw0rd-xyz")
    _, tests, xml, _ = run(tmp_path, {"secrets.robot": suite("""
        *** Test Cases ***
        User With Secret Password
            VAR    ${password: Secret}    %{XT_UNIT_PASSWORD}
            Connect To Cloud    password=${password}
            ${user} =    Create User    password=${password}
            Log Like Keystoneauth    %{XT_UNIT_PASSWORD}
            ${server} =    Create Server    wait=False
            ${server} =    Create Server    wait=True
        """)}, loglevel="DEBUG")
    assert tests["User With Secret Password"].status == "PASS", \
        tests["User With Secret Password"].message
    assert "S3cret-Passw0rd-xyz" not in xml
    assert "Gener4ted-AdminPass" not in xml  # nor the server's admin password
    assert "the password is ***" in xml  # the other library's record was redacted too
    created = [kw for _, m, _, kw in fake.calls if m == "create_user"]
    assert created[0]["password"] == "S3cret-Passw0rd-xyz"  # but the cloud got it


def _messages(xml: str) -> list[str]:
    import html
    import re
    return [html.unescape(m) for m in re.findall(r"<msg[^>]*>(.*?)</msg>", xml, re.DOTALL)]


def test_http_error_helper_is_a_real_sdk_exception():
    error = http_error(500, "x")
    assert error.status_code == 500 and error.request_id == "req-fake-1"
    assert json.dumps({"ok": True})

"""Cloud library units: errors, polling, tracking, deletion order, purge, health rules."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ExtremeTesting.cloud import apierrors, health, polling, resources, tracking
from ExtremeTesting.cloud.apierrors import CloudError, CloudTimeout
from ExtremeTesting.cloud.tracking import CleanupLevel, Tracked, Tracker
from ExtremeTesting.errors import ExtremeError
from keystoneauth1 import exceptions as ksa

# The fake cloud lives beside this file; importable whether or not tests/unit is a package.
sys.path.insert(0, str(Path(__file__).parent))
from test_cloud_fake import FakeCloud, FakeClock, Obj, http_error


# --- errors -------------------------------------------------------------------------

def test_http_error_message_carries_status_request_id_and_api_message():
    error = apierrors.describe(http_error(500, "Unexpected API Error.", "req-abc"),
                               "Creating server xt-1-server-1")
    assert isinstance(error, CloudError) and isinstance(error, ExtremeError)
    text = str(error)
    assert "Creating server xt-1-server-1 failed: HTTP 500" in text
    assert "POST http://198.18.0.100:8774/v2.1/servers" in text
    assert "Unexpected API Error." in text
    assert "request id req-abc" in text
    assert "logs" in text  # what to do
    assert error.request_id == "req-abc" and error.status_code == 500


def test_connect_failure_says_cloud_did_not_answer():
    error = apierrors.describe(ksa.ConnectFailure("Unable to establish connection"),
                               "Listing compute services")
    assert isinstance(error, apierrors.CloudNotConnected)
    assert "did not answer" in str(error)


def test_api_call_decorator_translates_and_leaves_other_errors_alone():
    @apierrors.api_call("Doing a thing")
    def failing(error):
        raise error

    with pytest.raises(CloudError, match=r"Doing a thing failed: HTTP 409.*req-fake-1"):
        failing(http_error(409, "Instance is in task state deleting"))
    with pytest.raises(KeyError):
        failing(KeyError("a bug stays a bug"))


def test_error_messages_are_redacted():
    error = CloudError('failed: {"password": "hunter2-secret"}')
    assert "hunter2-secret" not in str(error)


# --- polling --------------------------------------------------------------------------

def test_wait_until_returns_once_true_and_times_out_with_last_seen():
    clock = FakeClock()
    answers = iter([(False, "BUILD"), (False, "BUILD"), (True, "ACTIVE")])
    assert polling.wait_until(lambda: next(answers), timedelta(seconds=10), "x",
                              clock=clock, sleep=clock.sleep) == "ACTIVE"
    clock = FakeClock()
    with pytest.raises(CloudTimeout, match=r"Timed out after 5 s.*server is up.*BUILD"):
        polling.wait_until(lambda: (False, "BUILD"), timedelta(seconds=5), "server is up",
                           clock=clock, sleep=clock.sleep)
    assert clock.now == pytest.approx(5.0)  # the last sleep is cut to the deadline
    assert max(clock.sleeps) <= 3.0


# --- tracker scopes -------------------------------------------------------------------

def test_tracker_scopes_test_suite_and_manual():
    tracker = Tracker(CleanupLevel.TEST)
    tracker.start("suite", "S")
    tracker.add("network", "n1", "xt-net")  # suite setup: belongs to the suite
    tracker.start("test", "T")
    tracker.add("server", "s1", "xt-server")
    assert [t.id for t in tracker.end("test")] == ["s1"]
    tracker.level = CleanupLevel.SUITE
    tracker.start("test", "T2")
    tracker.add("server", "s2", "xt-server2")  # SUITE level: survives the test
    assert tracker.end("test") == []
    tracker.level = CleanupLevel.MANUAL
    tracker.add("image", "i1", "xt-image")
    assert sorted(t.id for t in tracker.end("suite")) == ["n1", "s2"]
    assert [t.id for t in tracker.all()] == ["i1"]
    tracker.forget("i1")
    assert tracker.all() == []


def test_tracker_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="Unknown resource kind"):
        Tracker().add("loadbalancer", "l", "xt-l")


# --- deletion -------------------------------------------------------------------------

def _tracked(cloud: FakeCloud, kind: str, name: str, **attrs) -> Tracked:
    obj = cloud.add(kind, name=name, **attrs)
    return Tracked(kind, obj.name if kind == "keypair" else obj.id, name)


def test_delete_goes_in_dependency_order_and_waits_for_servers():
    cloud = FakeCloud(delete_polls=2)
    items = [_tracked(cloud, "network", "xt-n"), _tracked(cloud, "port", "xt-p"),
             _tracked(cloud, "server", "xt-s", status="ACTIVE"),
             _tracked(cloud, "project", "xt-pr"), _tracked(cloud, "user", "xt-u")]
    problems = tracking.delete(cloud, items, timedelta(seconds=30), sleep=lambda s: None)
    assert problems == []
    deletes = [m for _, m, _, _ in cloud.calls if m.startswith("delete_")]
    assert deletes == ["delete_server", "delete_port", "delete_network", "delete_user",
                       "delete_project"]
    # the port went only after the server was seen gone
    finds = [i for i, c in enumerate(cloud.calls) if c[1] == "find_server"]
    port = next(i for i, c in enumerate(cloud.calls) if c[1] == "delete_port")
    assert finds and max(finds) < port
    assert cloud.named("xt-") == []


def test_delete_reports_failures_with_request_id_and_goes_on():
    cloud = FakeCloud()
    items = [_tracked(cloud, "network", "xt-n"), _tracked(cloud, "image", "xt-i")]
    cloud.fail_on("network", "delete_network",
                  http_error(409, "One or more ports have an IP allocation", "req-409"))
    problems = tracking.delete(cloud, items, timedelta(seconds=5), sleep=lambda s: None)
    assert [t.name for t, _ in problems] == ["xt-n"]
    assert "HTTP 409" in problems[0][1] and "req-409" in problems[0][1]
    assert cloud.named("xt-") == [("network", "xt-n")]  # the image went anyway


def test_delete_gives_up_on_a_server_that_never_goes():
    cloud = FakeCloud(delete_polls=10_000)
    items = [_tracked(cloud, "server", "xt-s", status="ACTIVE")]
    clock = FakeClock()
    problems = tracking.delete(cloud, items, timedelta(seconds=20), sleep=clock.sleep,
                               clock=clock)
    assert len(problems) == 1 and "Timed out after 20 s" in problems[0][1]
    assert "xt-s" in problems[0][1]


# --- leftovers ------------------------------------------------------------------------

def test_find_leftovers_by_prefix_excluding_current_run_and_by_age():
    cloud = FakeCloud()
    cloud.add("server", name="xt-old-server-1", status="ACTIVE",
              created_at="2024-01-01T00:00:00Z")
    cloud.add("network", name="xt-old-network-2", created_at="2024-01-01T10:00:00Z")
    cloud.add("keypair", id="xt-old-keypair-3", name="xt-old-keypair-3",
              created_at="2024-01-01T11:00:00")
    cloud.add("flavor", name="xt-old-flavor-4", created_at=None)
    cloud.add("server", name="xt-now-server-1", status="ACTIVE")
    cloud.add("server", name="production-db", status="ACTIVE")
    found = tracking.find_leftovers(cloud, "xt-", exclude_prefix="xt-now-", volumes=False)
    assert [(t.kind, t.name) for t in found] == [
        ("server", "xt-old-server-1"), ("network", "xt-old-network-2"),
        ("keypair", "xt-old-keypair-3"), ("flavor", "xt-old-flavor-4")]
    assert found[2].id == "xt-old-keypair-3"  # key pairs are deleted by name
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    aged = tracking.find_leftovers(cloud, "xt-", "xt-now-", timedelta(hours=6),
                                   volumes=False, now=now)
    assert [t.name for t in aged] == ["xt-old-server-1"]


def test_find_leftovers_refuses_empty_prefix():
    with pytest.raises(CloudError, match="empty prefix"):
        tracking.find_leftovers(FakeCloud(), "")


# --- health rules ---------------------------------------------------------------------

def test_service_problems_name_the_service_and_host():
    services = [Obj(binary="nova-compute", host="cmp1", state="down", status="enabled",
                    updated_at="2024-01-01T00:00:00"),
                Obj(binary="nova-conductor", host="ctl1", state="up", status="disabled",
                    disabled_reason="maintenance"),
                Obj(binary="nova-scheduler", host="ctl1", state="up", status="enabled")]
    problems = health.service_problems(services)
    assert len(problems) == 2
    assert problems[0].startswith("nova-compute on cmp1 (state down")
    assert "maintenance" in problems[1]
    assert health.service_problems(services, disabled_ok=True) == [problems[0]]
    assert health.summarize(services) == "2 of 3 up"


def test_parse_version_documents_of_each_form():
    nova = {"version": {"id": "v2.1", "status": "CURRENT", "version": "2.93",
                        "min_version": "2.1"}}
    assert health.parse_version_document(nova) == {
        "api": "v2.1", "status": "CURRENT", "max_microversion": "2.93",
        "min_microversion": "2.1"}
    glance = {"versions": [{"id": "v2.9", "status": "SUPPORTED"},
                           {"id": "v2.16", "status": "CURRENT"},
                           {"id": "v2.15", "status": "CURRENT"}]}
    assert health.parse_version_document(glance)["api"] == "v2.16"
    keystone_root = {"versions": {"values": [{"id": "v3.14", "status": "stable"}]}}
    assert health.parse_version_document(keystone_root)["api"] == "v3.14"
    placement = {"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0",
                               "status": "CURRENT"}]}
    assert health.parse_version_document(placement)["max_microversion"] == "1.39"
    assert health.parse_version_document("<html>") == {}


def test_version_url_drops_project_id():
    assert (health.version_url("http://h:8776/v3/" + "0123456789abcdef" * 2)
            == "http://h:8776/v3")
    assert health.version_url("http://h:8774/v2.1") == "http://h:8774/v2.1"
    assert health.version_url("http://h:9292") == "http://h:9292/"


def test_smallest_flavor_and_active_image():
    cloud = FakeCloud()
    assert resources.smallest_flavor(cloud.compute.flavors()).name == "m1.nano"
    cloud.add("image", name="queued", status="queued", size=1)
    assert resources.active_image(cloud.image.images()).name == "cirros"
    with pytest.raises(CloudError, match="no active image"):
        resources.active_image([])


def test_public_key_is_openssh_ed25519():
    key = resources.public_key()
    assert key.startswith("ssh-ed25519 ") and "PRIVATE" not in key


class _Logins:
    def __init__(self, *errors):
        self.errors, self.calls = list(errors), 0

    def authorize(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


def test_a_login_without_an_answer_is_tried_again_and_a_refused_one_is_not(monkeypatch):
    from ExtremeTesting.cloud import connection
    monkeypatch.setattr(connection, "LOGIN_PAUSE", 0.0)
    dropped = ksa.ConnectFailure("Remote end closed connection without response")
    once = _Logins(dropped)
    connection.authenticate(once, "lab")  # the second try gets its token
    assert once.calls == 2
    never = _Logins(*[dropped] * 5)
    with pytest.raises(apierrors.CloudNotConnected, match="Authenticating to cloud 'lab'"):
        connection.authenticate(never, "lab")
    assert never.calls == connection.LOGIN_TRIES
    refused = _Logins(http_error(401, "The request you have made requires authentication"))
    with pytest.raises(CloudError, match="401"):
        connection.authenticate(refused, "lab")
    assert refused.calls == 1

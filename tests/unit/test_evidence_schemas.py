"""Response schemas: the published schema at the microversion asked, every mismatching
field named (never its value), the Schemas library's keyword and its records; with a small
tempest-shaped package (the ``tempest`` fixture of conftest.py), and tempest's own schemas
when the extra is installed."""

from __future__ import annotations

import pytest
from ExtremeTesting import results, schemas
from ExtremeTesting.Schemas import Schemas, _operations
from ExtremeTesting.schemas import published
from robot.api import Failure, SkipExecution

SERVER = {"id": "a1", "name": "vm", "links": []}


def test_the_schema_is_the_newest_published_at_or_below_the_microversion(tempest):
    assert schemas.schema_for("compute", "servers", "list_servers", "2.50")[0].endswith(
        "compute.v2_47.servers.list_servers")
    assert schemas.schema_for("compute", "servers", "list_servers", "2.46")[0].endswith(
        "compute.v2_1.servers.list_servers")
    assert ".v2_1." in schemas.schema_for("compute", "servers", "list_servers")[0]
    # v2_47 has no get_server: the newest package below that defines it
    assert ".v2_1." in schemas.schema_for("compute", "servers", "get_server", "2.60")[0]
    # Block Storage's base schemas sit in the package itself
    assert schemas.schema_for("volume", "volumes", "show_volume", "3.0")[0].endswith(
        "response.volume.volumes.show_volume")
    with pytest.raises(schemas.NoSchema, match="no servers.list_flavors schema"):
        schemas.schema_for("compute", "servers", "list_flavors", "2.1")


def test_every_mismatching_field_is_named_without_its_value(tempest):
    body = {"servers": [SERVER, {"id": 7, "links": []}]}
    found = schemas.check("compute", "GET", "/servers?limit=1", 200, body, "2.47")
    assert not found.matches
    assert found.mismatches == ["servers[0].status: missing",
                                "servers[1].name: missing",
                                "servers[1].status: missing",
                                "servers[1].id: not of type 'string' (got integer)"]
    assert schemas.check("compute", "GET", "/servers", 200, {"servers": [SERVER]}).matches
    assert schemas.check("compute", "GET", "/servers", 203, {"servers": []}).mismatches == [
        "status: 203, the schema expects 200"]
    secret = {"server": {"id": "s1", "adminPass": "hunter2-secret", "extra": "hunter3"}}
    found = schemas.check("compute", "POST", "/servers", 202, secret)
    assert found.schema.endswith("create_server_with_admin_pass")  # as tempest chooses
    assert found.mismatches == ["server: unexpected field(s) 'extra'"]
    found = schemas.check("compute", "POST", "/servers", 202, {"server": {"id": 5}})
    assert "hunter" not in str(found) and found.mismatches == [
        "server.id: not of type 'string' (got integer)"]


def test_a_body_that_is_not_what_the_schema_says_is_a_mismatch(tempest):
    assert schemas.check("compute", "GET", "/servers", 200, b"<html>").mismatches == [
        "(the body): not JSON"]
    assert schemas.check("compute", "DELETE", "/servers/a1", 204, b"").matches
    assert schemas.check("compute", "DELETE", "/servers/a1", 204, {"x": 1}).mismatches == [
        "(the body): present, the schema expects none"]


def test_what_is_not_checked(tempest):
    assert not schemas.check("compute", "GET", "/servers", 503, {}).covered  # an error
    assert not schemas.check("compute", "GET", "/servers", 302, {}).covered  # a redirect
    assert not schemas.check("network", "GET", "/v2.0/networks", 200, {}).covered
    assert schemas.operation_of("compute", "GET", "/servers/4f1/") == ("servers", "get_server")
    assert schemas.operation_of("compute", "GET", "/servers/detail") == (
        "servers", "list_servers_detail")
    assert schemas.operation_of("compute", "POST", "/servers/4f1/action") is None


@pytest.mark.parametrize("url, path", [
    ("http://vip:8774/v2.1/servers?limit=1", "/servers"),
    ("http://vip:8774/v2.1/0123456789abcdef0123456789abcdef/servers/detail", "/servers/detail"),
    ("http://vip:8776/v3/0123456789abcdef0123456789abcdef/volumes/v1", "/volumes/v1"),
    ("https://cloud.example/compute/v2.1/flavors/7", "/flavors/7"),
    ("http://vip:8774/v2.1/", "/{version}"),
    ("http://vip:8774/", "/"),
    ("/servers/detail", "/servers/detail"),
])
def test_the_request_path_is_taken_under_the_versioned_endpoint(url, path):
    assert published.request_path(url) == path


def test_the_microversion_and_the_api_come_from_the_answer():
    headers = {"OpenStack-API-Version": "compute 2.93", "Vary": "OpenStack-API-Version"}
    assert published.microversion_of(headers, "compute") == "2.93"
    assert published.service_of(headers) == "compute"
    assert published.microversion_of({"openstack-api-version": "volume 3.61"},
                                      "block-storage") == "3.61"
    assert published.service_of({"openstack-api-version": "volume 3.61"}) == "volumev3"
    assert published.microversion_of({"x-openstack-nova-api-version": "2.1"}, "compute") \
        == "2.1"
    assert published.microversion_of({}, "compute") == "" and published.service_of({}) == ""


def test_without_tempest_the_extra_is_named(monkeypatch):
    monkeypatch.setattr(published, "available", lambda: False)
    with pytest.raises(schemas.SchemasUnavailable, match=r"\[schemas\]"):
        schemas.schema_for("compute", "servers", "list_servers")
    with pytest.raises(SkipExecution, match=r"not checked: install "
                                            r"'openstack-extreme-testing\[schemas\]'"):
        Schemas().responses_should_match_their_published_schemas()


class _Response:
    def __init__(self, status, body, headers=None):
        self.status_code, self._body, self.headers = status, body, headers or {}

    def json(self):
        return self._body


def test_the_keyword_publishes_a_record_per_operation_and_fails_naming_fields(
        tempest, monkeypatch):
    published_records = []
    monkeypatch.setattr(results, "publish", lambda kind, data, summary="", level="INFO":
                        published_records.append(data))
    asked = []

    class Compute:
        def get(self, path, microversion=None, raise_exc=True):
            asked.append((path, microversion, raise_exc))
            return _Response(200, {"servers": [SERVER]},
                             {"OpenStack-API-Version": f"compute {microversion}"})

    library = Schemas()
    library.conn = type("Conn", (), {"compute": Compute()})()
    records = library.responses_should_match_their_published_schemas(
        "compute /servers", "2.1")
    assert asked == [("/servers", "2.1", False)]
    assert [(r["subject"], r["measured"], r["passed"]) for r in records] == [
        ("compute GET /servers at 2.1", 0.0, True)]
    with pytest.raises(Failure, match=r"compute GET /servers at 2.47: servers\[0\]\.status: "
                                      r"missing"):
        library.responses_should_match_their_published_schemas("compute /servers", "2.47")
    assert published_records[-1]["measured"] == 1.0
    assert published_records[-1]["passed"] is False


def test_operations_are_checked_before_anything_is_asked():
    assert ("compute", "/servers/detail") in _operations("")
    assert all("{" not in path for _, path in _operations(""))
    with pytest.raises(ValueError, match="not 'SERVICE /path'"):
        _operations("identity /v3/projects")
    with pytest.raises(ValueError, match="no published schema for compute GET /os-aggregates"):
        _operations("compute /os-aggregates")


def test_tempests_own_schemas_when_the_extra_is_installed():
    pytest.importorskip("tempest.lib.api_schema.response.compute.v2_1.servers")
    body = {"servers": [{"id": "0b3c", "name": "vm", "links": [
        {"href": "http://x/v2.1/servers/0b3c", "rel": "self"}]}]}
    assert schemas.check("compute", "GET", "/servers", 200, body).matches
    del body["servers"][0]["name"]
    assert schemas.check("compute", "GET", "/servers", 200, body).mismatches == [
        "servers[0].name: missing"]
    # every request this project maps has a schema in the tempest installed
    for (service, method, path), (module, name) in schemas.OPERATIONS.items():
        assert schemas.schema_for(service, module, name, "2.93" if service == "compute"
                                  else "3.0")[0].endswith(name), (service, method, path)

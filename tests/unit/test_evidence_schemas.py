"""Response schemas: the published schema at the microversion asked, every mismatching
field named, the keyword's records; with a small tempest-shaped package made here (and
tempest's own schemas when the extra is installed)."""

from __future__ import annotations

import sys
import textwrap

import pytest
from ExtremeTesting import results, schemas
from ExtremeTesting.Schemas import Schemas, _operations
from robot.api import Failure, SkipExecution

SERVER = {"id": "a1", "name": "vm", "links": []}


def _write(root, dotted: str, text: str = "") -> None:
    """Module ``dotted`` under ``root``, with an __init__.py in each of its packages."""
    parts = dotted.split(".")
    for depth in range(1, len(parts)):
        package = root.joinpath(*parts[:depth])
        package.mkdir(exist_ok=True)
        (package / "__init__.py").touch()
    root.joinpath(*parts[:-1], f"{parts[-1]}.py").write_text(textwrap.dedent(text))


@pytest.fixture
def tempest(tmp_path, monkeypatch):
    """A tempest-shaped package: servers at v2_1 (id, name) and v2_47 (and status)."""
    base = "tempest.lib.api_schema.response.compute"
    _write(tmp_path, f"{base}.v2_1.servers", """
        list_servers = {"status_code": [200], "response_body": {
            "type": "object", "required": ["servers"], "properties": {"servers": {
                "type": "array", "items": {"type": "object", "required": ["id", "name"],
                                           "properties": {"id": {"type": "string"}}}}}}}
        get_server = {"status_code": [200], "response_body": {"type": "object"}}
        """)
    _write(tmp_path, f"{base}.v2_47.servers", """
        import copy
        from tempest.lib.api_schema.response.compute.v2_1 import servers
        list_servers = copy.deepcopy(servers.list_servers)
        list_servers["response_body"]["properties"]["servers"]["items"]["required"].append(
            "status")
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n == "tempest" or n.startswith("tempest.")]:
        del sys.modules[name]


def test_the_schema_is_the_newest_published_at_or_below_the_microversion(tempest):
    assert schemas.schema_for("compute", "servers", "list_servers", "2.50")[0].endswith(
        "compute.v2_47.servers.list_servers")
    assert schemas.schema_for("compute", "servers", "list_servers", "2.46")[0].endswith(
        "compute.v2_1.servers.list_servers")
    assert ".v2_1." in schemas.schema_for("compute", "servers", "list_servers")[0]
    # v2_47 has no get_server: the newest package below that defines it
    assert ".v2_1." in schemas.schema_for("compute", "servers", "get_server", "2.60")[0]


def test_every_mismatching_field_is_named(tempest):
    body = {"servers": [SERVER, {"id": 7, "links": []}]}
    found = schemas.check("compute", "GET", "/servers?limit=1", 200, body, "2.47")
    assert not found.matches
    assert found.mismatches == ["servers[0]: 'status' is a required property",
                                "servers[1]: 'name' is a required property",
                                "servers[1]: 'status' is a required property",
                                "servers[1].id: 7 is not of type 'string'"]
    assert schemas.check("compute", "GET", "/servers", 200, {"servers": [SERVER]}).matches
    assert schemas.check("compute", "GET", "/servers", 203, {"servers": []}).mismatches == [
        "status: 203, the schema expects 200"]


def test_what_is_not_checked(tempest):
    assert not schemas.check("compute", "GET", "/servers", 503, {}).covered  # an error
    assert not schemas.check("network", "GET", "/v2.0/networks", 200, {}).covered
    assert schemas.operation_of("compute", "GET", "/servers/4f1/") == ("servers", "get_server")
    assert schemas.operation_of("compute", "GET", "/servers/detail") == (
        "servers", "list_servers_detail")


def test_without_tempest_the_extra_is_named(monkeypatch):
    monkeypatch.setattr(schemas, "available", lambda: False)
    with pytest.raises(schemas.SchemasUnavailable, match=r"\[schemas\]"):
        schemas.schema_for("compute", "servers", "list_servers")
    with pytest.raises(SkipExecution, match=r"openstack-extreme-testing\[schemas\]"):
        Schemas().responses_should_match_their_published_schemas()


class _Response:
    def __init__(self, status, body):
        self.status_code, self._body = status, body

    def json(self):
        return self._body


def test_the_keyword_publishes_a_record_per_operation_and_fails_naming_fields(
        tempest, monkeypatch):
    published = []
    monkeypatch.setattr(results, "publish", lambda kind, data, summary="", level="INFO":
                        published.append(data))
    asked = []

    class Compute:
        def get(self, path, microversion=None, raise_exc=True):
            asked.append((path, microversion, raise_exc))
            return _Response(200, {"servers": [SERVER]})

    library = Schemas()
    library.conn = type("Conn", (), {"compute": Compute()})()
    records = library.responses_should_match_their_published_schemas(
        "compute /servers", "2.1")
    assert asked == [("/servers", "2.1", False)]
    assert [(r["subject"], r["measured"], r["passed"]) for r in records] == [
        ("compute GET /servers at 2.1", 0.0, True)]
    with pytest.raises(Failure, match=r"compute GET /servers at 2.47: servers\[0\]: "
                                      r"'status' is a required property"):
        library.responses_should_match_their_published_schemas("compute /servers", "2.47")
    assert published[-1]["measured"] == 1.0 and published[-1]["passed"] is False


def test_operations_are_checked_before_anything_is_asked():
    assert ("compute", "/servers/detail") in _operations("")
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
        "servers[0]: 'name' is a required property"]

"""The Cloud library over the real openstacksdk and keystoneauth, against a tiny API on
127.0.0.1: configuration from clouds.yaml + secure.yaml, the timeout on every call,
microversion negotiation for servers without a network, and no credential in DEBUG logs
even when HTTP debugging is on."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from ExtremeTesting.cloud import logsafety
from ExtremeTesting.cloud.context import CloudContext
from ExtremeTesting.cloud.keywords import ResourceKeywords
from robot.api.types import Secret

PASSWORD = "Adm1n-Secret-Passw0rd"
USER_PASSWORD = "N3w-User-Passw0rd-123"
TOKEN = "gAAAAAB-fake-token-value-1234567890"


class Api(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, dict, str]] = []

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-openstack-request-id", "req-local-1")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        Api.requests.append((self.command, self.path, dict(self.headers), body))
        return body

    def do_GET(self):
        self._record()
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path.rstrip("/") == "/identity/v3":
            self._send(200, {"version": {"id": "v3.14", "status": "stable", "links": [
                {"rel": "self", "href": f"{base}/identity/v3/"}]}})
        elif self.path.rstrip("/") == "/compute/v2.1":
            self._send(200, {"version": {"id": "v2.1", "status": "CURRENT", "version": "2.93",
                                         "min_version": "2.1", "links": [
                                             {"rel": "self", "href": f"{base}/compute/v2.1/"}]}})
        elif self.path.startswith("/compute/v2.1/servers/"):
            self._send(200, {"server": {"id": "s1", "name": "xt-x", "status": "ACTIVE"}})
        elif self.path.startswith("/identity/v3/users/"):
            self._send(200, {"user": {"id": "u1", "name": "xt-u", "domain_id": "default"}})
        else:
            self._send(404, {"error": {"message": f"no {self.path}"}})

    def do_POST(self):
        self._record()
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path == "/identity/v3/auth/tokens":
            catalog = [
                {"type": "identity", "name": "keystone", "id": "1", "endpoints": [
                    {"interface": "public", "region": "RegionOne", "region_id": "RegionOne",
                     "url": f"{base}/identity/v3", "id": "e1"}]},
                {"type": "compute", "name": "nova", "id": "2", "endpoints": [
                    {"interface": "public", "region": "RegionOne", "region_id": "RegionOne",
                     "url": f"{base}/compute/v2.1", "id": "e2"}]}]
            self._send(201, {"token": {
                "methods": ["password"], "expires_at": "2999-01-01T00:00:00.000000Z",
                "issued_at": "2024-01-01T00:00:00.000000Z",
                "user": {"id": "admin", "name": "admin", "domain": {"id": "default",
                                                                     "name": "Default"}},
                "project": {"id": "p" * 32, "name": "admin",
                            "domain": {"id": "default", "name": "Default"}},
                "roles": [{"id": "r", "name": "admin"}], "catalog": catalog}},
                {"X-Subject-Token": TOKEN})
        elif self.path == "/identity/v3/users":
            self._send(201, {"user": {"id": "u1", "name": "xt-u", "domain_id": "default"}})
        elif self.path == "/compute/v2.1/servers":
            self._send(202, {"server": {"id": "s1", "adminPass": "Gener4ted-AdminPass"}})
        else:
            self._send(404, {"error": {"message": f"no {self.path}"}})


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    Api.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def clouds(api, tmp_path, monkeypatch):
    for variable in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD",
                     "EXTREME_TARGET"):
        monkeypatch.delenv(variable, raising=False)
    port = api.server_port
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"local": {
        "auth": {"auth_url": f"http://127.0.0.1:{port}/identity/v3", "username": "admin",
                 "project_name": "admin", "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": "RegionOne", "identity_api_version": 3}}}))
    (tmp_path / "secure.yaml").write_text(yaml.safe_dump(
        {"clouds": {"local": {"auth": {"password": PASSWORD}}}}))
    (tmp_path / "target.yaml").write_text(yaml.safe_dump(
        {"name": "local", "cloud": "local", "clouds_yaml": "clouds.yaml"}))
    return tmp_path


@pytest.fixture
def captured():
    """Everything logged anywhere at DEBUG, as Robot's handler on the root would see it."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    root = logging.getLogger()
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(level)
    logsafety.protect(False)


def test_target_clouds_yaml_secure_yaml_timeout_and_microversion(clouds, captured):
    ctx = CloudContext(str(clouds / "target.yaml"), api_timeout=timedelta(seconds=7))
    conn = ctx.conn
    assert conn.config.config["auth"]["password"] == PASSWORD  # from secure.yaml beside
    assert conn.session.timeout == 7.0
    created = conn.compute.create_server(name="xt-x", flavor_id="f", image_id="i",
                                         networks="none")
    assert created.id == "s1"
    posted = [r for r in Api.requests if r[0] == "POST" and r[1].endswith("/servers")]
    headers = {k.lower(): v for k, v in posted[0][2].items()}
    version = headers.get("openstack-api-version", "")
    assert version.startswith("compute 2."), headers
    assert tuple(map(int, version.split()[1].split("."))) >= (2, 37)
    assert json.loads(posted[0][3])["server"]["networks"] == "none"
    text = "\n".join(captured)
    assert PASSWORD not in text and TOKEN not in text


@pytest.mark.parametrize("http_debug", [False, True])
def test_no_credential_reaches_debug_logs(clouds, captured, http_debug):
    ctx = CloudContext(str(clouds / "target.yaml"), http_debug=http_debug)
    user = ResourceKeywords(ctx).create_user(password=Secret(USER_PASSWORD))
    assert user.id == "u1"
    sent = [r for r in Api.requests if r[1] == "/identity/v3/users"]
    assert USER_PASSWORD in sent[0][3]  # the cloud got it...
    text = "\n".join(captured)
    for secret in (PASSWORD, USER_PASSWORD, TOKEN, "Gener4ted-AdminPass"):
        assert secret not in text  # ...the log did not
    if http_debug:
        assert "curl" in text and "/identity/v3/users" in text  # dumps were on, redacted
        assert '"password": "***"' in text
    else:
        assert "curl" not in text


def test_wrong_auth_url_fails_with_a_clear_message(tmp_path, monkeypatch):
    for variable in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"dead": {"auth": {
        "auth_url": "http://127.0.0.1:9/v3", "username": "u", "password": "p-secret-x",
        "project_name": "p", "user_domain_name": "Default",
        "project_domain_name": "Default"}}}}))
    (tmp_path / "target.yaml").write_text(yaml.safe_dump(
        {"name": "dead", "cloud": "dead", "clouds_yaml": "clouds.yaml"}))
    ctx = CloudContext(str(tmp_path / "target.yaml"), api_timeout=timedelta(seconds=2))
    from ExtremeTesting.cloud.apierrors import CloudNotConnected
    with pytest.raises(CloudNotConnected, match="Authenticating to cloud 'dead'") as error:
        ctx.connect()
    assert "p-secret-x" not in str(error.value)

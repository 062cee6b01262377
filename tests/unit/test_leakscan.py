"""The credential scan on planted files: each kind of credential is found, clean files pass,
and a finding never repeats the value."""

from __future__ import annotations

import base64
import io
import subprocess

import pytest
import robot
from ExtremeTesting.lab import leakscan

SECRETS = {"admin": "Adm1n-pa55word", "bmc": "Bmc-pa55w0rd", "db": "Db-pa55w0rd"}
FERNET = "gAAAAABm" + "Q" * 60 + "xY_-z9" * 8 + "=="


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "id")],
                   check=True, timeout=30)
    return (folder / "id").read_bytes()


PLANTED = {
    "auth_token.log": "DEBUG REQ: curl -g -i -X GET http://vip:5000/v3 -H \"X-Auth-Token: "
                      "3f1a9c0e8b7d4c2a9e6f5b4a3c2d1e0f\"\n",
    "subject_token.json": '{"headers": {"X-Subject-Token": "abcdef0123456789abcdef0123456789"}}',
    "fernet.xml": f"<msg>token is {FERNET}</msg>",
    "basic_header.txt": "GET /redfish/v1 HTTP/1.1\r\nAuthorization: Basic YWRtaW46eA==\r\n",
    "basic_secret.txt": "sent Basic " + base64.b64encode(b"admin:Bmc-pa55w0rd").decode(),
    "password.xml": "<msg>login with Adm1n-pa55word</msg>",
    "password_escaped.json": '{"m": "Db-pa55w0rd"}',
}
CLEAN = {
    "hashed.log": "REQ: -H \"X-Auth-Token: {SHA256}9b71d224bd62f3785d96d46ad3ea3d73319bfbc2\"",
    "masked.log": "X-Auth-Token: ***",
    "words.txt": "Basic health check passed; token validated; the Fernet keys rotate daily.",
    "basic_other.txt": "a Basic " + base64.b64encode(b"nothing to see here").decode(),
    "robot_var.robot": "    Set Headers    X-Auth-Token=${TOKEN}\n",
    # a response's headers name the token header as a value, with no token in it
    "vary.xml": "headers={'vary': 'X-Auth-Token', 'x-openstack-request-id': 'req-53a2bbbf-"
                "e425-49f5-bfc2-8874bddfcdce'}",
}


def test_every_planted_credential_is_found_and_not_repeated(tmp_path, key):
    for name, text in PLANTED.items():
        (tmp_path / name).write_text(text)
    key_body = leakscan.key_lines_from(key)
    assert key_body
    (tmp_path / "key_line.log").write_bytes(b"stderr: " + key_body[1] + b"\n")
    (tmp_path / "key_file.txt").write_bytes(key)
    count, findings = leakscan.scan_files([tmp_path], SECRETS, key_body)
    assert count == len(PLANTED) + 2
    flagged = {f.split(": ", 1)[0].rsplit("/", 1)[1] for f in findings}
    assert flagged == set(PLANTED) | {"key_line.log", "key_file.txt"}, findings
    text = "\n".join(findings)
    assert "Fernet" in text and "Keystone token" in text and "private key" in text
    assert "Authorization: Basic" in text and "Basic-auth string holding" in text
    for value in [*SECRETS.values(), FERNET, "3f1a9c0e8b7d", "YWRtaW46eA"]:
        assert value not in text
    assert not any(line.decode() in text for line in key_body)


def test_clean_files_pass(tmp_path, key):
    for name, text in CLEAN.items():
        (tmp_path / name).write_text(text)
    count, findings = leakscan.scan_files([tmp_path], SECRETS, leakscan.key_lines_from(key))
    assert count == len(CLEAN) and findings == []


def test_a_secret_only_in_robot_log_html_compressed_text_is_found(tmp_path):
    suite = tmp_path / "s.robot"
    suite.write_text("*** Test Cases ***\nT\n    Log    " + "padding " * 40 +
                     "the password is Bmc-pa55w0rd " + "padding " * 40 + "\n")
    robot.run(str(suite), outputdir=str(tmp_path / "out"),
              log="log.html", report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
    log = tmp_path / "out" / "log.html"
    assert b"Bmc-pa55w0rd" not in log.read_bytes()  # Robot compressed the message
    _, findings = leakscan.scan_files([log], SECRETS)
    assert findings and "the lab's bmc password" in findings[0], findings


def test_cli_exit_codes(tmp_path, monkeypatch):
    monkeypatch.setattr(leakscan, "lab_credentials", lambda: (SECRETS, []))
    (tmp_path / "clean.txt").write_text("nothing")
    assert leakscan.main([str(tmp_path)]) == 0
    (tmp_path / "leak.txt").write_text("X-Auth-Token: abcdefabcdef0123456789abcdef0123")
    assert leakscan.main([str(tmp_path)]) == 1

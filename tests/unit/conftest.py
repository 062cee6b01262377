"""Fixtures shared by the unit tests."""

import socket
import threading
from collections.abc import Callable

import pytest


@pytest.fixture
def haproxy_socket(tmp_path):
    """A fake HAProxy admin socket on a Unix socket: ``start(answer)`` serves it, records
    each command and replies ``answer(command)``; returns (path, commands)."""
    servers: list[socket.socket] = []

    def start(answer: Callable[[str], str]) -> tuple[str, list[str]]:
        path = str(tmp_path / "admin.sock")
        commands: list[str] = []
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(8)
        server.settimeout(10)
        servers.append(server)

        def serve():
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                with connection:
                    text = connection.recv(1024).decode().strip()
                    commands.append(text)
                    reply = answer(text)
                    if reply:
                        connection.sendall(reply.encode())

        threading.Thread(target=serve, daemon=True).start()
        return path, commands

    yield start
    for server in servers:
        server.close()


def _write_module(root, dotted: str, text: str = "") -> None:
    """Module ``dotted`` under ``root``, with an __init__.py in each of its packages."""
    import textwrap

    parts = dotted.split(".")
    for depth in range(1, len(parts)):
        package = root.joinpath(*parts[:depth])
        package.mkdir(exist_ok=True)
        (package / "__init__.py").touch()
    root.joinpath(*parts[:-1], f"{parts[-1]}.py").write_text(textwrap.dedent(text))


@pytest.fixture
def tempest(tmp_path, monkeypatch):
    """A small tempest-shaped package (tempest itself is an optional extra, absent from
    the project's venv): Compute servers at v2_1 (id, name) and v2_47 (and status),
    versions at v2_1; Block Storage volumes in the base package."""
    import sys

    def forget_tempest():  # the real tempest (the schemas extra) may be imported already
        for name in [n for n in sys.modules if n == "tempest" or n.startswith("tempest.")]:
            del sys.modules[name]

    forget_tempest()
    base = "tempest.lib.api_schema.response.compute"
    _write_module(tmp_path, f"{base}.v2_1.servers", """
        list_servers = {"status_code": [200], "response_body": {
            "type": "object", "required": ["servers"], "properties": {"servers": {
                "type": "array", "items": {"type": "object", "required": ["id", "name"],
                                           "properties": {"id": {"type": "string"}}}}}}}
        get_server = {"status_code": [200], "response_body": {"type": "object"}}
        delete_server = {"status_code": [204]}
        create_server = {"status_code": [202], "response_body": {
            "type": "object", "properties": {"server": {
                "type": "object", "required": ["id"], "additionalProperties": False,
                "properties": {"id": {"type": "string"}}}}}}
        create_server_with_admin_pass = {"status_code": [202], "response_body": {
            "type": "object", "properties": {"server": {
                "type": "object", "required": ["id", "adminPass"],
                "additionalProperties": False, "properties": {
                    "id": {"type": "string"}, "adminPass": {"type": "string"}}}}}}
        """)
    _write_module(tmp_path, f"{base}.v2_1.versions", """
        get_one_version = {"status_code": [200], "response_body": {
            "type": "object", "required": ["version"]}}
        """)
    _write_module(tmp_path, f"{base}.v2_47.servers", """
        import copy
        from tempest.lib.api_schema.response.compute.v2_1 import servers
        list_servers = copy.deepcopy(servers.list_servers)
        list_servers["response_body"]["properties"]["servers"]["items"]["required"].append(
            "status")
        """)
    _write_module(tmp_path, "tempest.lib.api_schema.response.volume.volumes", """
        show_volume = {"status_code": [200], "response_body": {
            "type": "object", "required": ["volume"]}}
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    forget_tempest()

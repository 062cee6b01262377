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

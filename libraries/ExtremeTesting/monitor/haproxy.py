"""Plant a crisp outage through HAProxy's admin socket: the monitor's own accuracy check.

Disabling every server of a backend makes HAProxy answer 503 at once, so the outage
starts and ends at known instants. Used by bench/monitor_accuracy.py and the lab suite
tests/lab/robot/monitor.robot; each change is published on the fault timeline.
"""

from __future__ import annotations

import socket
import time

from .. import events


def command(socket_path: str, text: str, timeout: float = 2.0) -> str:
    """Send one admin command; HAProxy answers an empty line on success."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        connection.sendall(text.encode() + b"\n")
        answer = b""
        while chunk := connection.recv(4096):
            answer += chunk
    return answer.decode(errors="replace").strip()


def set_servers(socket_path: str, backend: str, servers: list[str], enabled: bool) -> float:
    """Enable or disable servers of a backend; the monotonic time the last change applied."""
    verb = "enable" if enabled else "disable"
    for server in servers:
        answer = command(socket_path, f"{verb} server {backend}/{server}")
        if answer:
            raise RuntimeError(f"HAProxy refused '{verb} server {backend}/{server}': {answer}. "
                               f"Check the backend and server names (show stat).")
    return time.monotonic()


def plant_outage(socket_path: str, backend: str, servers: list[str], seconds: float) -> float:
    """Disable the servers for ``seconds``; return the planted length measured between the
    disable and the enable taking effect. The servers are enabled again whatever happens."""
    target = f"{backend}/{','.join(servers)}"
    try:
        started = set_servers(socket_path, backend, servers, False)
        events.publish("haproxy", "in effect", "disable servers", target)
        deadline = started + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))  # the planted time
    finally:
        ended = set_servers(socket_path, backend, servers, True)
        events.publish("haproxy", "undone", "enable servers", target)
    return ended - started

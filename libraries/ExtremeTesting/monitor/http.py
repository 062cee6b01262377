"""A small HTTP client for probes: one deadline per request, nothing ever logged.

Probes do raw HTTP with :mod:`http.client` rather than keystoneauth or requests, so no
library's DEBUG logging can put a password or a token into Robot's log, and so each
request costs little CPU. Connections are kept per worker thread and dropped on any
error, so a broken connection never outlives the request that found it.
"""

from __future__ import annotations

import http.client
import json
import select
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..evidence import failures, ids

REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id", "x-request-id")
MAX_BODY = 4 * 1024 * 1024  # bytes read from one answer; probes need small documents


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    sent_id: str = ""  # our X-OpenStack-Request-ID on the request

    @property
    def request_id(self) -> str:
        for name in REQUEST_ID_HEADERS:
            if self.headers.get(name):
                return self.headers[name]
        return ""

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


class ProbeError(Exception):
    """A request that got no HTTP answer; the message is safe to log (no headers)."""

    def __init__(self, message: str, sent_id: str = "") -> None:
        super().__init__(message)
        self.sent_id = sent_id  # our request id on the request that got no answer


_local = threading.local()


def _connections() -> dict:
    if not hasattr(_local, "connections"):
        _local.connections = {}
    return _local.connections


def close_thread_connections() -> None:
    for connection in _connections().values():
        connection.close()
    _connections().clear()


def request(method: str, url: str, timeout: float, headers: dict[str, str] | None = None,
            body: dict | None = None, verify: bool | str = True) -> Response:
    """Send one request; raise :class:`ProbeError` when no answer came within ``timeout``."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    key = (parts.scheme, parts.netloc, str(verify))
    pool = _connections()
    connection = pool.pop(key, None)
    if connection is not None and _dropped(connection):
        connection.close()
        connection = None
    reused = connection is not None
    if connection is None:
        connection = _connect(parts.scheme, parts.netloc, timeout, verify)
    else:
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    payload = json.dumps(body).encode() if body is not None else None
    all_headers = {"Accept": "application/json", "User-Agent": "extreme-monitor"}
    if payload is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    sent_id = ids.stamp(all_headers)
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        if connection.sock is not None:
            connection.sock.settimeout(max(0.001, deadline - time.monotonic()))
        answer = connection.getresponse()
        data = answer.read(MAX_BODY)
        if time.monotonic() > deadline:
            raise TimeoutError()
        response = Response(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                            data, sent_id)
    except TimeoutError:
        connection.close()
        raise _unanswered(method, url, sent_id, f"timeout after {timeout:g} s") from None
    except ConnectionRefusedError:
        connection.close()
        raise _unanswered(method, url, sent_id, "connection refused") from None
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        stale = isinstance(error, (http.client.RemoteDisconnected, BrokenPipeError,
                                   ConnectionResetError))
        if reused and stale and method in ("GET", "HEAD") and time.monotonic() < deadline:
            # The server closed an idle kept-alive connection: not the service failing.
            return request(method, url, deadline - time.monotonic(), headers, body, verify)
        raise _unanswered(method, url, sent_id, _describe(error)) from None
    if response.status >= 500:
        failures.record("monitor", method, url, sent_id, response.request_id,
                        response.status, f"HTTP {response.status}")
    if answer.will_close:
        connection.close()
    else:
        pool[key] = connection
    return response


def _unanswered(method: str, url: str, sent_id: str, why: str) -> ProbeError:
    failures.record("monitor", method, url, sent_id, error=why)
    return ProbeError(why, sent_id)


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read has been closed by the server."""
    if connection.sock is None:
        return True
    try:
        readable, _, _ = select.select([connection.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _connect(scheme: str, netloc: str, timeout: float,
             verify: bool | str) -> http.client.HTTPConnection:
    if scheme == "https":
        context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(netloc, timeout=timeout, context=context)
    return http.client.HTTPConnection(netloc, timeout=timeout)


def _describe(error: Exception) -> str:
    # Exception texts from sockets and http.client name addresses, never headers or bodies.
    name = type(error).__name__
    text = str(error).strip()
    return f"{name}: {text}"[:200] if text else name

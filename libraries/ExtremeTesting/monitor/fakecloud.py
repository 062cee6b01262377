"""A tiny in-process HTTP cloud on 127.0.0.1 with outages planted on demand.

For the monitor's own tests and benchmarks, not for testing clouds: it answers version
documents, Keystone token issue/validate, create/list/delete of networks and a list of
servers (Compute at microversion 2.1; ``listed_server`` is its one server, edit it to plant a
response that breaks its schema), and can
answer 503 (or hang, or hang every other request: one backend of two black-holed and
still in rotation) between :meth:`FakeCloud.down` and :meth:`FakeCloud.up`, recording
the monotonic times it switched so a test knows the planted outage exactly.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeCloud:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.mode = "up"  # "up", "503", "hang", "every other hangs"
        self.switches: list[tuple[str, float]] = []
        self.networks: dict[str, dict] = {}
        self.token = uuid.uuid4().hex
        self.password = "fake-secret"
        self.logins = 0
        self.requests = 0
        # As a load balancer that re-sends a request after a timeout: each DELETE of a
        # network is applied twice, the client getting the second answer (404).
        self.resend_deletes = False
        self.listed_server = {"id": "0b3c5f6e-0000-4000-8000-000000000001", "name": "vm",
                              "links": []}
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._ids = itertools.count(1)
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                cloud.handle(self, "GET")

            def do_POST(self) -> None:
                cloud.handle(self, "POST")

            def do_DELETE(self) -> None:
                cloud.handle(self, "DELETE")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # clients that gave up (timeouts) break pipes: expected here

        self.server = Server((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeCloud:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()

    def down(self, mode: str = "503") -> float:
        self._released.clear()
        self.mode = mode
        now = time.monotonic()
        self.switches.append((mode, now))
        return now

    def up(self) -> float:
        self.mode = "up"
        self._released.set()
        now = time.monotonic()
        self.switches.append(("up", now))
        return now

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        with self._lock:
            self.requests += 1
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length) or b"{}") if length else {}
        mode = self.mode
        if mode == "every other hangs":
            with self._lock:
                self._turn = not getattr(self, "_turn", False)
                mode = "hang" if self._turn else "up"
        if mode == "hang":
            self._released.wait(30)
        if mode == "503":
            return self._send(request, 503, {"error": "down"})
        path = request.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/auth/tokens"):
            return self._tokens(request, method, body)
        if path.endswith("/v2.1/servers"):
            if request.headers.get("X-Auth-Token") != self.token:
                return self._send(request, 401, {"error": "unauthorized"})
            return self._send(request, 200, {"servers": [dict(self.listed_server)]},
                              {"OpenStack-API-Version": "compute 2.1"})
        if path.endswith("/v2.0/networks") or "/v2.0/networks/" in path:
            if request.headers.get("X-Auth-Token") != self.token:
                return self._send(request, 401, {"error": "unauthorized"})
            return self._networks(request, method, path, body)
        return self._send(request, 200, {"version": {"id": "v1", "status": "CURRENT"}})

    def _tokens(self, request, method: str, body: dict) -> None:
        if method == "POST":
            password = (body.get("auth", {}).get("identity", {}).get("password", {})
                        .get("user", {}).get("password"))
            if password != self.password:
                return self._send(request, 401, {"error": "bad credentials"})
            self.logins += 1
            return self._send(request, 201, {"token": {"catalog": []}},
                              {"X-Subject-Token": self.token})
        if request.headers.get("X-Subject-Token") == self.token == request.headers.get(
                "X-Auth-Token"):
            return self._send(request, 200, {"token": {}})
        return self._send(request, 404, {"error": "token not found"})

    def _networks(self, request, method: str, path: str, body: dict) -> None:
        if method == "POST":
            network_id = f"net-{next(self._ids)}"
            item = {"id": network_id, "name": body.get("network", {}).get("name", ""),
                    "status": "ACTIVE"}
            with self._lock:
                self.networks[network_id] = item
            return self._send(request, 201, {"network": item})
        if method == "DELETE":
            network_id = path.rsplit("/", 1)[1]
            with self._lock:
                found = self.networks.pop(network_id, None)
                if self.resend_deletes:
                    found = self.networks.pop(network_id, None)
            return self._send(request, 204 if found else 404, None)
        if "/v2.0/networks/" in path:
            with self._lock:
                item = self.networks.get(path.rsplit("/", 1)[1])
            return self._send(request, 200 if item else 404,
                              {"network": item} if item else {"error": "not found"})
        with self._lock:
            items = list(self.networks.values())
        return self._send(request, 200, {"networks": items})

    def _send(self, request, status: int, payload, headers: dict | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.send_header("X-Openstack-Request-Id", f"req-{uuid.uuid4()}")
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        if data:
            request.wfile.write(data)


def main(argv: list[str] | None = None) -> int:
    """Serve a fake cloud on 127.0.0.1 for ``--seconds`` (benchmarks run it apart)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    with FakeCloud(port=args.port) as cloud:
        print(cloud.url, flush=True)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and not sys.stdin.closed:
            time.sleep(0.2)  # serve until the deadline; the parent may kill us earlier
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

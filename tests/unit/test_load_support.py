"""Shared by the load tests: a local HTTP server on 127.0.0.1 that counts what it serves,
and workloads that call it (importable as ``test_load_support:...`` in a Locust process
too, with this folder on PYTHONPATH)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from ExtremeTesting.load.workloads import WorkloadError


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.count += 1
            number = server.count
        # The request counts as in flight from its arrival until just before its answer
        # is sent: strictly inside the client's own send..receive span. Decrementing after
        # the write overcounts: under CPU contention the client can read the answer and
        # send its next request before this handler thread runs again.
        try:
            delay = float(query.get("ms", ["0"])[0]) / 1000.0
            if delay:
                time.sleep(delay)  # the simulated service time of this endpoint
        finally:
            with server.lock:
                server.in_flight -= 1
        status = 503 if url.path == "/fail" else 200
        body = b"ok\n"
        self.send_response(status)
        self.send_header("x-openstack-request-id", f"req-{number}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.count = 0
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def handle_error(self, request, client_address):
        pass  # a client that timed out and closed its socket is what some tests want

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


def hit(ctx) -> dict:
    """One GET of ``ctx.params['url']``; HTTP errors raise with status and request id."""
    timeout = float(ctx.params.get("timeout", 5))
    try:
        with urllib.request.urlopen(ctx.params["url"], timeout=timeout) as response:
            response.read()
            return {"status": response.status,
                    "request_id": response.headers.get("x-openstack-request-id", "")}
    except urllib.error.HTTPError as error:
        raise WorkloadError(f"HTTP {error.code}", error.code,
                            error.headers.get("x-openstack-request-id", "")) from None


def noop(ctx) -> None:
    """Does nothing: what remains is the runner's own cost."""

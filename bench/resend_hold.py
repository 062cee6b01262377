#!/usr/bin/python3
"""The hold of bench/verdict_accuracy.py's ``resend`` plant: a small HTTP relay planted
between HAProxy and a service's servers that holds the first copy of every write until
HAProxy has sent it again.

    resend_hold.py --listen 127.0.0.1:19696=10.0.0.11:9696 [--listen ...]
                   --state /run/xt-bench-resend-hold.json [--cap 20] [--lifetime 2400]

Standard library only: the bench copies it to the load balancer's node and runs it there
with the node's python3. The planted HAProxy backend sends the service's writes to these
listeners (one per server) with a short ``timeout server`` and ``retry-on``
``all-retryable-errors``. For each request:

- a read (GET, HEAD, OPTIONS) is relayed at once;
- a write seen for the first time (method, path and body: HAProxy re-sends the same
  bytes) is *held*: not sent to the server at all until a copy of it arrives again, or
  ``cap`` seconds passed. The first attempt therefore cannot be answered, whatever the
  service's speed: HAProxy's server timeout strikes and it re-sends the request;
- a copy of a write already seen (the re-send) is relayed at once and its answer goes
  back to HAProxy (so to the client); then the held first copy is sent too. The service
  runs the write twice: a create makes two resources of one name, a delete's second copy
  answers 404 to no one.

So every write HAProxy routes here is re-sent, by construction, not by luck of timing.
The counts (``held``, ``resent``, ``released_at_cap``...) are in the ``--state`` file
(JSON, no request content, no token), written at each change, ``ready`` once every
listener is bound. At SIGTERM (or after ``--lifetime`` s, so a forgotten hold does not
outlive a killed bench for long) it stops listening, drops held copies not yet sent, and
deletes what its held creates made (the ids their answers gave, with the token of the
request, kept in memory only), so it leaves no resource behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

READS = (b"GET", b"HEAD", b"OPTIONS")
MAX_HEAD = 256 * 1024  # bytes of a message's start line and headers
MAX_BODY = 16 * 1024 * 1024
UPSTREAM_TIMEOUT = 60.0  # s: one exchange with the service
REMEMBER = 300.0  # s a write's fingerprint is kept: its re-sends come within seconds


class BadMessage(Exception):
    pass


def read_head(reader) -> list[bytes] | None:
    """A message's start line and header lines (without CRLF); None at a clean EOF."""
    lines, size = [], 0
    while True:
        line = reader.readline(MAX_HEAD)
        if not line:
            if lines:
                raise BadMessage("connection closed inside a message head")
            return None
        size += len(line)
        if size > MAX_HEAD:
            raise BadMessage("message head too long")
        line = line.rstrip(b"\r\n")
        if not line:
            if not lines:
                continue  # tolerated: an empty line before a request
            return lines
        lines.append(line)


def header(lines: list[bytes], name: bytes) -> bytes | None:
    wanted = name.lower()
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == wanted:
            return value.strip()
    return None


def read_body(reader, lines: list[bytes], until_eof: bool = False) -> bytes:
    """The body as sent (chunked framing kept), by Content-Length, chunks or EOF."""
    encoding = (header(lines, b"transfer-encoding") or b"").lower()
    if b"chunked" in encoding:
        parts = []
        while True:
            size_line = reader.readline(1024)
            if not size_line:
                raise BadMessage("connection closed inside a chunked body")
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    trailer = reader.readline(MAX_HEAD)
                    parts.append(trailer)
                    if trailer in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
            chunk = reader.read(size + 2)
            if len(chunk) < size + 2:
                raise BadMessage("connection closed inside a chunk")
            parts.append(chunk)
    length = header(lines, b"content-length")
    if length is not None:
        count = int(length)
        if count > MAX_BODY:
            raise BadMessage("body too large")
        body = reader.read(count)
        if len(body) < count:
            raise BadMessage("connection closed inside a body")
        return body
    return reader.read(MAX_BODY) if until_eof else b""


def closing(lines: list[bytes]) -> bytes:
    """The head with ``Connection: close`` (one exchange per connection to the service)."""
    kept = [line for line in lines
            if line.partition(b":")[0].strip().lower() not in (b"connection", b"keep-alive")]
    return b"\r\n".join(kept + [b"Connection: close"]) + b"\r\n\r\n"


def exchange(upstream: tuple[str, int], lines: list[bytes], body: bytes,
             timeout: float = UPSTREAM_TIMEOUT) -> tuple[list[bytes], bytes]:
    """Send one request to the service; its answer's head lines and body."""
    method = lines[0].split(b" ", 1)[0].upper()
    with socket.create_connection(upstream, timeout=timeout) as conn:
        conn.sendall(closing(lines) + body)
        reader = conn.makefile("rb")
        while True:
            head = read_head(reader)
            if head is None:
                raise BadMessage("the service closed the connection without an answer")
            status = head[0].split(b" ", 2)[1] if len(head[0].split(b" ")) > 1 else b""
            if not status.startswith(b"1") or status == b"101":
                break  # skip interim 1xx answers
        if method == b"HEAD" or status in (b"204", b"304"):
            return head, b""
        return head, read_body(reader, head, until_eof=True)


def answer_bytes(head: list[bytes], body: bytes) -> bytes:
    return closing(head) + body


def created_id(head: list[bytes], body: bytes) -> str:
    """The id a create's answer gives (``{"network": {"id": ...}}``), else ""."""
    status = head[0].split(b" ", 2)[1] if len(head[0].split(b" ")) > 1 else b""
    if not status.startswith(b"2"):
        return ""
    try:
        found = json.loads(body.decode())
    except (UnicodeDecodeError, ValueError):
        return ""
    if isinstance(found, dict) and len(found) == 1:
        inner = next(iter(found.values()))
        if isinstance(inner, dict) and isinstance(inner.get("id"), str):
            return inner["id"]
    return ""


class Hold:
    """The shared state of every listener: writes seen, first copies held, counts."""

    def __init__(self, state_path: str = "", cap: float = 20.0) -> None:
        self.state_path = state_path
        self.cap = cap
        self.lock = threading.Lock()
        self.saving = threading.Lock()
        self.seen: dict[str, float] = {}  # fingerprint -> when first seen (monotonic)
        self.waiting: dict[str, threading.Event] = {}  # held first copies: their release
        self.created: list[tuple[tuple[str, int], bytes, str, bytes]] = []  # to delete
        self.stopping = threading.Event()
        self.counts = {"held": 0, "resent": 0, "copies": 0, "released_at_cap": 0,
                       "held_sent": 0, "dropped": 0, "passed": 0, "created_by_held": 0,
                       "cleaned": 0, "errors": 0}
        self.cleanup_errors: list[str] = []
        self.ready = False

    # --- the counts, for the bench ----------------------------------------------------
    def count(self, key: str, by: int = 1) -> None:
        with self.lock:
            self.counts[key] += by
        self.save()

    def snapshot(self) -> dict:
        with self.lock:
            return {**self.counts, "ready": self.ready, "pid": os.getpid(),
                    "cleanup_errors": list(self.cleanup_errors[:10])}

    def save(self) -> None:
        """Write the counts (one writer at a time); a failure to write never stops the
        relay: the bench then reads older counts."""
        if not self.state_path:
            return
        with self.saving:
            temporary = f"{self.state_path}.new"
            try:
                with open(temporary, "w", encoding="utf-8") as out:
                    json.dump(self.snapshot(), out)
                os.replace(temporary, self.state_path)
            except OSError as error:
                print(f"resend hold: cannot write {self.state_path}: {error}",
                      file=sys.stderr, flush=True)

    # --- one request ------------------------------------------------------------------
    def serve(self, upstream: tuple[str, int], lines: list[bytes], body: bytes,
              reply) -> None:
        """Relay, hold or release one request; ``reply(bytes)`` answers the client
        (HAProxy), which may have gone: its errors are the caller's to ignore."""
        method, _, rest = lines[0].partition(b" ")
        if method.upper() in READS:
            self.count("passed")
            reply(answer_bytes(*exchange(upstream, lines, body)))
            return
        fingerprint = hashlib.sha256(method.upper() + b" " + rest.rsplit(b" ", 1)[0]
                                     + b"\n" + body).hexdigest()
        now = time.monotonic()
        with self.lock:
            for old in [f for f, t in self.seen.items() if now - t > REMEMBER]:
                if old not in self.waiting:
                    del self.seen[old]
            first = fingerprint not in self.seen
            if first:
                self.seen[fingerprint] = now
                release = self.waiting[fingerprint] = threading.Event()
            else:
                release = self.waiting.get(fingerprint)
        if not first:  # a re-send: answered at once, then the held copy goes too
            self.count("copies")
            try:
                reply(answer_bytes(*exchange(upstream, lines, body)))
            finally:
                if release is not None and not release.is_set():
                    self.count("resent")
                    release.set()
            return
        self.count("held")
        released = release.wait(self.cap)
        with self.lock:
            self.waiting.pop(fingerprint, None)
        if self.stopping.is_set():
            self.count("dropped")  # never sent: the service ran the write once (or never)
            return
        if not released:
            self.count("released_at_cap")
        head, answer = exchange(upstream, lines, body)
        self.count("held_sent")
        resource = created_id(head, answer) if method.upper() == b"POST" else ""
        if resource:
            token = header(lines, b"x-auth-token") or b""
            path = rest.rsplit(b" ", 1)[0].split(b"?")[0].decode(errors="replace")
            with self.lock:
                self.created.append((upstream, path.encode(), resource, token))
            self.count("created_by_held")
        reply(answer_bytes(head, answer))

    # --- the end ------------------------------------------------------------------------
    def stop(self) -> None:
        """Drop the held copies not sent yet, delete what the held creates made."""
        self.stopping.set()
        with self.lock:
            for event in self.waiting.values():
                event.set()
            created, self.created = self.created, []
        for upstream, path, resource, token in created:
            member = path.rstrip(b"/") + b"/" + resource.encode()
            lines = [b"DELETE " + member + b" HTTP/1.1", b"Host: " + upstream[0].encode(),
                     b"Content-Length: 0"] + ([b"X-Auth-Token: " + token] if token else [])
            try:
                head, _ = exchange(upstream, lines, b"", timeout=10.0)
                status = head[0].split(b" ", 2)[1]
                if status.startswith(b"2") or status == b"404":
                    self.count("cleaned")
                else:
                    self._cleanup_error(f"DELETE {member.decode()}: HTTP {status.decode()}")
            except (OSError, BadMessage, IndexError) as error:
                self._cleanup_error(f"DELETE {member.decode()}: {error}")
        self.save()

    def _cleanup_error(self, text: str) -> None:
        with self.lock:
            self.cleanup_errors.append(text)
        self.count("errors")


def handler_for(hold: Hold, upstream: tuple[str, int]):
    class Handler(socketserver.StreamRequestHandler):
        timeout = UPSTREAM_TIMEOUT

        def handle(self) -> None:
            try:
                lines = read_head(self.rfile)
                if lines is None:
                    return
                body = read_body(self.rfile, lines)
            except (OSError, BadMessage, ValueError):
                return

            def reply(data: bytes) -> None:
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:
                    pass  # HAProxy gave up on this attempt (its server timeout): fine

            try:
                hold.serve(upstream, lines, body, reply)
            except (OSError, BadMessage, ValueError, IndexError) as error:
                hold.count("errors")
                method = lines[0].split(b" ", 1)[0].decode(errors="replace")
                print(f"resend hold: {method} to {upstream[0]}:{upstream[1]} failed: "
                      f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
                reply(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")

    return Handler


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port")
    return host, int(port)


def listen_pair(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    here, sep, there = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not LISTEN=UPSTREAM "
                                          "(e.g. 127.0.0.1:19696=10.0.0.11:9696)")
    return address(here), address(there)


def start(hold: Hold, pairs) -> list[Server]:
    servers = []
    for here, upstream in pairs:
        server = Server(here, handler_for(hold, upstream))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    with hold.lock:
        hold.ready = True
    hold.save()
    return servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", action="append", type=listen_pair, required=True,
                        help="LISTEN=UPSTREAM, one per server of the backend")
    parser.add_argument("--state", required=True, help="JSON file of the counts")
    parser.add_argument("--pidfile", default="")
    parser.add_argument("--cap", type=float, default=20.0,
                        help="s a first copy is held when no re-send comes")
    parser.add_argument("--lifetime", type=float, default=2400.0,
                        help="s after which the hold stops by itself")
    args = parser.parse_args(argv)
    hold = Hold(args.state, args.cap)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.pidfile:  # before ready: whoever saw it ready can stop it
        with open(args.pidfile, "w", encoding="utf-8") as out:
            out.write(f"{os.getpid()}\n")
    servers = start(hold, args.listen)
    done.wait(args.lifetime)
    for server in servers:
        server.shutdown()
        server.server_close()
    hold.stop()
    print(f"resend hold stopped: {json.dumps(hold.snapshot())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

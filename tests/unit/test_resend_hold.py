"""bench/resend_hold.py, the resend plant's hold, without a lab: against a fake Neutron
on the loopback; its start and stop shell lines as the bench runs them on the node; and,
where HAProxy is installed (the lab's 2.6), the planted configuration with the monitor's
own HTTP client: every write re-sent once, each create made twice, no client failing."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from ExtremeTesting.lab import config as lab_config
from ExtremeTesting.monitor import http

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


hold_module = load("resend_hold")


class FakeNeutron:
    """Networks over HTTP on the loopback: creates (201 with an id), deletes (204, 404
    when gone), lists, and a record of every request in the order it arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, bytes, str]] = []  # method, path, body, token
        self.networks: dict[str, str] = {}  # id -> name
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, document: dict | None = None) -> None:
                data = json.dumps(document).encode() if document is not None else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def record(self, body: bytes = b"") -> None:
                with fake.lock:
                    fake.requests.append((self.command, self.path, body,
                                          self.headers.get("X-Auth-Token", "")))

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.record()
                with fake.lock:
                    listed = [{"id": i, "name": n} for i, n in fake.networks.items()]
                self.answer(200, {"networks": listed})

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.record(body)
                network = {"id": str(uuid.uuid4()), "name": json.loads(body)["network"]["name"]}
                with fake.lock:
                    fake.networks[network["id"]] = network["name"]
                self.answer(201, {"network": network})

            def do_DELETE(self) -> None:  # noqa: N802
                self.record()
                with fake.lock:
                    gone = fake.networks.pop(self.path.rsplit("/", 1)[-1], None) is None
                self.answer(404, {"NeutronError": "not found"}) if gone else self.answer(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = self.server.server_address[:2]

    def seen(self, method: str) -> list[tuple[str, str, bytes, str]]:
        with self.lock:
            return [r for r in self.requests if r[0] == method]

    def named(self, name: str) -> list[str]:
        with self.lock:
            return [i for i, n in self.networks.items() if n == name]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)  # poll interval
    return condition()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def send(port: int, method: str, path: str, body: bytes = b"", gap: float = 0.0,
         token: str = "tok-secret") -> tuple[int, bytes]:
    """One raw request; the head and the body in two writes ``gap`` s apart (as
    http.client sends them); the status and body of the answer."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: neutron\r\nX-Auth-Token: {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        if body:
            time.sleep(gap)
            conn.sendall(body)
        reader = conn.makefile("rb")
        lines = hold_module.read_head(reader)
        if lines is None:
            return 0, b""  # closed without an answer
        answer = hold_module.read_body(reader, lines, until_eof=True)
    return int(lines[0].split()[1]), answer


@pytest.fixture
def neutron():
    fake = FakeNeutron()
    yield fake
    fake.close()


@pytest.fixture
def started(tmp_path, neutron):
    """A hold in this process, one listener in front of the fake Neutron."""
    found = {}

    def start(cap: float = 20.0):
        hold = hold_module.Hold(str(tmp_path / "state.json"), cap)
        servers = hold_module.start(hold, [(("127.0.0.1", 0), neutron.address)])
        found.update(hold=hold, servers=servers)
        return hold, servers[0].server_address[1]

    yield start
    for server in found.get("servers", []):
        server.shutdown()
        server.server_close()
    if "hold" in found:
        found["hold"].stop()


def create(name: str) -> bytes:
    return json.dumps({"network": {"name": name}}).encode()


def test_a_read_goes_through_at_once(started, neutron):
    hold, port = started()
    status, body = send(port, "GET", "/v2.0/networks")
    assert status == 200 and json.loads(body) == {"networks": []}
    assert hold.counts["passed"] == 1 and hold.counts["held"] == 0


def test_a_writes_first_copy_waits_for_its_re_send_then_the_service_runs_it_twice(
        started, neutron):
    hold, port = started()
    first = {}
    thread = threading.Thread(target=lambda: first.update(
        answer=send(port, "POST", "/v2.0/networks", create("xt-mon-a-1"), gap=0.05)))
    thread.start()
    assert wait_until(lambda: hold.counts["held"] == 1)
    time.sleep(0.5)  # however long the service would take, the first copy is not sent
    assert neutron.seen("POST") == [] and thread.is_alive()
    # HAProxy's re-send: answered at once, before the held copy goes
    status, body = send(port, "POST", "/v2.0/networks", create("xt-mon-a-1"))
    assert status == 201
    assert wait_until(lambda: len(neutron.seen("POST")) == 2)
    thread.join(10)
    assert first["answer"][0] == 201  # (HAProxy has given up on it by then: no one reads)
    ids = neutron.named("xt-mon-a-1")
    assert len(ids) == 2 and json.loads(body)["network"]["id"] == ids[0]  # re-send first
    assert {k: hold.counts[k] for k in ("held", "resent", "copies", "held_sent",
                                        "created_by_held", "released_at_cap", "errors")} == {
        "held": 1, "resent": 1, "copies": 1, "held_sent": 1, "created_by_held": 1,
        "released_at_cap": 0, "errors": 0}


def test_a_delete_re_sent_answers_the_client_204_and_its_held_copy_404_to_no_one(
        started, neutron):
    hold, port = started()
    neutron.networks["n1"] = "xt-mon-a-2"
    first = {}
    thread = threading.Thread(target=lambda: first.update(
        answer=send(port, "DELETE", "/v2.0/networks/n1")))
    thread.start()
    assert wait_until(lambda: hold.counts["held"] == 1)
    assert send(port, "DELETE", "/v2.0/networks/n1")[0] == 204
    thread.join(10)
    assert first["answer"][0] == 404 and len(neutron.seen("DELETE")) == 2
    assert hold.counts["resent"] == 1 and hold.counts["created_by_held"] == 0


def test_a_write_never_re_sent_goes_at_the_cap_and_is_counted(started, neutron):
    hold, port = started(cap=0.3)
    began = time.monotonic()
    status, _ = send(port, "POST", "/v2.0/networks", create("xt-mon-a-3"))
    assert status == 201 and time.monotonic() - began >= 0.3
    assert hold.counts["released_at_cap"] == 1 and hold.counts["resent"] == 0
    assert len(neutron.named("xt-mon-a-3")) == 1


def test_stopping_drops_held_copies_and_deletes_what_held_creates_made(started, neutron,
                                                                      tmp_path):
    hold, port = started()
    made = threading.Thread(target=send, args=(port, "POST", "/v2.0/networks",
                                               create("xt-mon-a-4")))
    made.start()
    assert wait_until(lambda: hold.counts["held"] == 1)
    send(port, "POST", "/v2.0/networks", create("xt-mon-a-4"))
    made.join(10)
    pending = threading.Thread(target=lambda: send(port, "POST", "/v2.0/networks",
                                                   create("xt-mon-a-5")))
    pending.start()
    assert wait_until(lambda: hold.counts["held"] == 2)
    hold.stop()
    pending.join(10)
    assert neutron.named("xt-mon-a-5") == []  # held, never sent
    assert len(neutron.named("xt-mon-a-4")) == 1  # the held copy's network deleted...
    cleanup = neutron.seen("DELETE")
    assert len(cleanup) == 1 and cleanup[0][3] == "tok-secret"  # ...with the request's token
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["dropped"] == 1 and state["cleaned"] == 1 and state["ready"] is True
    assert "tok-secret" not in (tmp_path / "state.json").read_text()


def test_bodies_are_read_whole_whether_sized_or_chunked():
    import io

    chunked = (b"POST /v2.0/networks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    reader = io.BytesIO(chunked)
    lines = hold_module.read_head(reader)
    assert hold_module.read_body(reader, lines) == b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"
    assert hold_module.read_head(reader) == [b"GET / HTTP/1.1"]
    assert hold_module.closing([b"HTTP/1.1 200 OK", b"Connection: keep-alive"]) == (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    assert hold_module.created_id([b"HTTP/1.1 201 Created"],
                                  b'{"network": {"id": "n9", "name": "x"}}') == "n9"
    assert hold_module.created_id([b"HTTP/1.1 409 Conflict"], b'{"network": {"id": "n9"}}') == ""


# --- the bench's start and stop lines, run here as the bench runs them on the node --------

@pytest.mark.skipif(not (os.path.exists("/usr/bin/python3") and shutil.which("setsid")),
                    reason="needs /usr/bin/python3 and setsid, as the lab's nodes have")
def test_the_benchs_start_and_stop_lines_leave_nothing_behind(tmp_path, monkeypatch,
                                                             neutron):
    bench = load("verdict_accuracy")
    for key, name in (("HOLD_SCRIPT", "xt-bench-resend-hold.py"),
                      ("HOLD_STATE", "xt-bench-resend-hold.json"),
                      ("HOLD_PID", "xt-bench-resend-hold.pid"),
                      ("HOLD_LOG", "xt-bench-resend-hold.log")):
        monkeypatch.setattr(bench, key, str(tmp_path / name))
    shutil.copy(BENCH / "resend_hold.py", bench.HOLD_SCRIPT)

    def run(node, command, check=True, stdin=b"", timeout=None):
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=timeout or 60, check=False)
        if check and done.returncode:
            raise AssertionError(done.stderr)
        return SimpleNamespace(rc=done.returncode, out=done.stdout, err=done.stderr)

    lab = SimpleNamespace(nodes=SimpleNamespace(run=run))
    port = free_port()
    upstream = f"{neutron.address[0]}:{neutron.address[1]}"
    try:
        run("lb", bench.start_hold([(f"127.0.0.1:{port}", upstream)], 0.2))
        pid = int(Path(bench.HOLD_PID).read_text())
        held = threading.Thread(target=send, args=(port, "POST", "/v2.0/networks",
                                                   create("xt-mon-b-1")))
        held.start()
        assert wait_until(lambda: json.loads(Path(bench.HOLD_STATE).read_text())["held"])
        assert send(port, "POST", "/v2.0/networks", create("xt-mon-b-1"))[0] == 201
        held.join(10)
    finally:
        note = bench.stop_hold(lab, "lb")
    assert note["resent"] == 1 and note["created_by_held"] == 1 and note["cleaned"] == 1
    assert bench.hold_said(note)[0] is True
    assert not os.path.exists(f"/proc/{pid}")  # ended, not only asked to
    assert sorted(os.listdir(tmp_path)) == []  # script, state, pid file and log removed
    assert len(neutron.named("xt-mon-b-1")) == 1  # the held copy's duplicate deleted


# --- the planted configuration in a real HAProxy -------------------------------------------

def lab_like_config(admin_socket: str, port: int, servers: dict[str, int]) -> str:
    """The lab's HAProxy configuration cut to its global and defaults sections and
    Neutron's frontend and backend, moved to the loopback."""
    keep, out, section = False, [], ""
    for line in lab_config.haproxy_cfg(admin_socket).splitlines():
        if line and not line[0].isspace():
            section = line.strip()
            keep = section in ("global", "defaults", "frontend neutron-server",
                               "backend neutron-server")
        if not keep:
            continue
        if line.strip().startswith("bind "):
            line = f"    bind 127.0.0.1:{port}"
        match = re.match(r"\s+server (\S+) \S+ (.*)", line)
        if match:
            line = f"    server {match[1]} 127.0.0.1:{servers[match[1]]} {match[2]}"
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.skipif(not shutil.which("haproxy"), reason="HAProxy is not installed here")
def test_haproxy_with_the_plant_re_sends_every_monitor_write_once(tmp_path):
    bench = load("verdict_accuracy")
    nodes = {"ctl1": FakeNeutron(), "ctl2": FakeNeutron()}
    hold = hold_module.Hold(str(tmp_path / "state.json"))
    listeners = hold_module.start(hold, [(("127.0.0.1", 0), n.address) for n in nodes.values()])
    holds = {name: f"127.0.0.1:{listener.server_address[1]}"
             for name, listener in zip(nodes, listeners, strict=True)}
    port = free_port()
    text = bench.resending(lab_like_config(str(tmp_path / "admin.sock"), port,
                                           {n: f.address[1] for n, f in nodes.items()}),
                           "neutron-server", 0.3, holds)
    (tmp_path / "haproxy.cfg").write_text(text)
    checked = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")],
                             capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v2.0/networks"
    try:
        assert wait_until(lambda: http_ok(url))
        made = []
        for index in range(4):  # the monitor's client: head and body in two writes
            answer = http.request("POST", url, 5.0, {"X-Auth-Token": "tok"},
                                  {"network": {"name": f"xt-mon-c-{index}"}})
            assert answer.status == 201, answer.body
            made.append(answer.json()["network"]["id"])
        for resource in made:
            assert http.request("DELETE", f"{url}/{resource}", 5.0,
                                {"X-Auth-Token": "tok"}).status == 204
        assert wait_until(lambda: hold.counts["held_sent"] == 8)
    finally:
        proxy.terminate()
        proxy.wait(10)
        http.close_thread_connections()
        for listener in listeners:
            listener.shutdown()
            listener.server_close()
        hold.stop()
        for fake in nodes.values():
            fake.close()
    assert hold.counts["held"] == 8 and hold.counts["resent"] == 8  # every write
    assert hold.counts["errors"] == 0 and hold.counts["released_at_cap"] == 0
    posts = [json.loads(r[2])["network"]["name"] for f in nodes.values()
             for r in f.seen("POST")]
    assert sorted(posts) == sorted(f"xt-mon-c-{i}" for i in range(4) for _ in (1, 2))


def http_ok(url: str) -> bool:
    try:
        return http.request("GET", url, 1.0).status == 200
    except http.ProbeError:
        return False


@pytest.mark.skipif(not (os.path.exists("/usr/bin/python3") and shutil.which("setsid")),
                    reason="needs /usr/bin/python3 and setsid, as the lab's nodes have")
def test_a_hold_that_cannot_listen_fails_its_start_line_with_its_log(tmp_path, monkeypatch):
    bench = load("verdict_accuracy")
    for key, name in (("HOLD_SCRIPT", "xt-bench-resend-hold.py"),
                      ("HOLD_STATE", "xt-bench-resend-hold.json"),
                      ("HOLD_PID", "xt-bench-resend-hold.pid"),
                      ("HOLD_LOG", "xt-bench-resend-hold.log")):
        monkeypatch.setattr(bench, key, str(tmp_path / name))
    shutil.copy(BENCH / "resend_hold.py", bench.HOLD_SCRIPT)
    with socket.socket() as taken:  # the port is someone else's
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(["bash", "-c", bench.start_hold(
            [(f"127.0.0.1:{port}", "127.0.0.1:9")], 0.2)], capture_output=True, text=True,
            timeout=60, check=False)
    assert done.returncode == 1
    assert "the resend hold did not start" in done.stderr
    assert "Address already in use" in done.stderr  # its log says why

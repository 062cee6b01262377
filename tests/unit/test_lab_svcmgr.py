"""The node service manager, run for real on harmless processes (no lab needed)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "libraries" / "ExtremeTesting" / "lab" / "svcmgr.py"


def sleeper(marker, tmp_path, condition="true"):
    """A harmless "service": a sleep whose command line carries a unique marker, started
    only while ``condition`` (a shell test) holds, as a service that exits when its
    dependencies do not answer."""
    return {"command": ["/bin/bash", "-c", f"{condition} && exec -a {marker} sleep 300"],
            "user": "root", "grep": marker, "ready": None, "rundirs": [],
            "log": str(tmp_path / f"{marker}.out"), "chdir": "/"}


def install(tmp_path, services):
    """The service manager in a folder of its own with ``services`` (in order); returns
    a function that runs it."""
    folder = tmp_path / "sbin"
    folder.mkdir()
    shutil.copy(SCRIPT, folder / "service")
    (folder / "services.json").write_text(json.dumps(
        {"order": list(services), "services": services}))
    env = dict(os.environ, EXTREME_LAB_PID_DIR=str(tmp_path / "run"))

    def call(*args, timeout=30):
        return subprocess.run([sys.executable, str(folder / "service"), *args],
                              capture_output=True, text=True, env=env, timeout=timeout)

    return call


@pytest.fixture
def manager(tmp_path):
    marker = f"xt-svcmgr-test-{uuid.uuid4().hex[:8]}"
    call = install(tmp_path, {"demo": sleeper(marker, tmp_path)})
    yield call, marker
    call("demo", "stop")


def pids_of(marker):
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_start_status_restart_stop(manager):
    call, marker = manager
    assert call("demo", "status").returncode == 3
    assert call("demo", "start").stdout.strip() == "demo started"
    first = pids_of(marker)
    assert len(first) == 1
    status = call("demo", "status")
    assert status.returncode == 0 and "running" in status.stdout
    assert "restarted" in call("demo", "restart").stdout
    second = pids_of(marker)
    assert len(second) == 1 and second != first
    assert call("demo", "stop").stdout.strip() == "demo stopped"
    assert pids_of(marker) == []


def test_a_killed_service_reads_stopped_and_starts_again(manager):
    call, marker = manager
    call("demo", "start")
    os.kill(pids_of(marker)[0], signal.SIGKILL)
    for _ in range(50):
        if call("demo", "status").returncode == 3:
            break
    assert "stopped" in call("demo", "status").stdout
    assert call("demo", "start").returncode == 0
    assert len(pids_of(marker)) == 1


def test_a_frozen_service_is_reported_and_stop_still_works(manager):
    call, marker = manager
    call("demo", "start")
    os.kill(pids_of(marker)[0], signal.SIGSTOP)
    assert "frozen" in call("demo", "status").stdout
    assert call("demo", "stop").returncode == 0
    assert pids_of(marker) == []


def test_unknown_service_names_the_known_ones(manager):
    call, _ = manager
    result = call("nosuch", "start")
    assert result.returncode == 1
    assert "unknown service 'nosuch'" in result.stderr and "demo" in result.stderr


def test_list_json(manager):
    call, _ = manager
    call("demo", "start")
    rows = json.loads(call("list", "--json").stdout)
    assert rows[0]["name"] == "demo" and rows[0]["state"] == "running"


def test_an_http_service_is_ready_only_when_it_answers_below_500():
    import http.server
    import importlib.util
    import threading

    spec = importlib.util.spec_from_file_location("svcmgr", SCRIPT)
    svcmgr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(svcmgr)
    answers = [500]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(answers[0])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v3"
    try:
        assert svcmgr.serves(url) is False  # bound, but the application is not loaded
        answers[0] = 300
        assert svcmgr.serves(url) is True
        answers[0] = 401
        assert svcmgr.serves(url) is True
    finally:
        server.shutdown()
        server.server_close()
    assert svcmgr.serves(url) is False  # nothing listens any more


def test_boot_starts_the_others_and_retries_a_service_that_exits(tmp_path):
    flaky = f"xt-svcmgr-flaky-{uuid.uuid4().hex[:8]}"
    steady = f"xt-svcmgr-steady-{uuid.uuid4().hex[:8]}"
    flag = tmp_path / "placement-answers"
    call = install(tmp_path, {"conductor": sleeper(flaky, tmp_path, f"test -e {flag}"),
                              "scheduler": sleeper(steady, tmp_path)})
    try:
        results: list = []
        boot = threading.Thread(target=lambda: results.append(call(
            "start-all", "60", "1", timeout=90)))
        boot.start()
        for _ in range(100):  # the service after the failing one is started all the same
            if pids_of(steady):
                break
            time.sleep(0.1)
        assert pids_of(steady) and not pids_of(flaky)
        assert boot.is_alive(), "start-all gave up while a service was still stopped"
        flag.touch()  # its dependency answers now: the next retry keeps it running
        boot.join(60)
        assert not boot.is_alive()
        assert results[0].returncode == 0, results[0].stderr
        assert len(pids_of(flaky)) == 1
    finally:
        flag.touch()
        call("conductor", "stop")
        call("scheduler", "stop")


def test_boot_gives_up_after_its_window_and_names_what_is_still_stopped(tmp_path):
    never = f"xt-svcmgr-never-{uuid.uuid4().hex[:8]}"
    steady = f"xt-svcmgr-steady-{uuid.uuid4().hex[:8]}"
    call = install(tmp_path, {"conductor": sleeper(never, tmp_path, "false"),
                              "scheduler": sleeper(steady, tmp_path)})
    try:
        started = time.monotonic()
        result = call("start-all", "4", "1")
        took = time.monotonic() - started
        assert result.returncode == 1
        assert "still stopped after boot: conductor" in result.stderr
        assert "scheduler" not in result.stderr.split("after boot:")[1]
        assert took < 15, f"start-all ran {took:.1f} s with a 4 s window"
        assert pids_of(steady) and not pids_of(never)
        bad = call("start-all", "soon")
        assert bad.returncode == 2 and "WINDOW and SETTLE" in bad.stderr
    finally:
        call("scheduler", "stop")


def stubborn(marker, tmp_path, stop_timeout, term_exit_after=None, child=False):
    """A "service" that ignores SIGTERM (or exits ``term_exit_after`` s after it), like
    neutron-server waiting on a worker; with ``child``, its work runs in a forked child
    whose command line does not carry the marker (found only as a descendant)."""
    on_term = "''" if term_exit_after is None else f"'sleep {term_exit_after}; exit 0'"
    body = f"trap {on_term} TERM; while true; do sleep 0.2; done"
    if child:
        worker = f"xt-worker-of-{marker[-8:]}"
        body = f"trap '' TERM; (trap '' TERM; exec -a {worker} sleep 300) & {body}"
    spec = sleeper(marker, tmp_path)
    spec.update(command=["/bin/bash", "-c", f"exec -a {marker} /bin/bash -c \"{body}\""],
                stop_timeout=stop_timeout)
    return spec


def test_a_restart_waits_for_a_service_that_ignores_sigterm_and_starts_a_new_one(tmp_path):
    marker = f"xt-svcmgr-stubborn-{uuid.uuid4().hex[:8]}"
    call = install(tmp_path, {"demo": stubborn(marker, tmp_path, stop_timeout=1)})
    try:
        assert call("demo", "start").returncode == 0
        first = pids_of(marker)
        result = call("demo", "restart")
        assert result.returncode == 0, result.stderr
        assert "restarted" in result.stdout
        second = pids_of(marker)
        assert second and not set(first) & set(second), (first, second)
        assert call("demo", "status").returncode == 0
    finally:
        call("demo", "stop")
    assert pids_of(marker) == []


def test_stop_waits_for_the_services_children_too(tmp_path):
    marker = f"xt-svcmgr-parent-{uuid.uuid4().hex[:8]}"
    worker = f"xt-worker-of-{marker[-8:]}"
    call = install(tmp_path, {"demo": stubborn(marker, tmp_path, stop_timeout=1, child=True)})
    try:
        assert call("demo", "start").returncode == 0
        for _ in range(50):
            if pids_of(worker):
                break
            time.sleep(0.1)
        assert pids_of(worker), "the worker child never started"
        stopped = call("demo", "stop")
        assert stopped.returncode == 0 and "SIGKILL after 1 s" in stopped.stdout
        # the child does not match the pattern: it is found as the main process's child
        assert pids_of(worker) == [] and pids_of(marker) == []
    finally:
        call("demo", "stop")
        for pid in pids_of(worker):
            os.kill(pid, signal.SIGKILL)


def test_the_stop_timeout_of_the_service_is_honoured(tmp_path):
    marker = f"xt-svcmgr-graceful-{uuid.uuid4().hex[:8]}"
    call = install(tmp_path, {"demo": stubborn(marker, tmp_path, stop_timeout=20,
                                               term_exit_after=2)})
    try:
        call("demo", "start")
        started = time.monotonic()
        stopped = call("demo", "stop")
        took = time.monotonic() - started
        # a graceful stop of ~2 s, never cut at the old 15 s nor killed
        assert stopped.stdout.strip() == "demo stopped", stopped.stdout
        assert 1.5 < took < 15, took
        assert pids_of(marker) == []
    finally:
        call("demo", "stop")


def test_a_start_that_does_not_end_running_exits_non_zero(tmp_path):
    marker = f"xt-svcmgr-dies-{uuid.uuid4().hex[:8]}"
    call = install(tmp_path, {"demo": sleeper(marker, tmp_path, "sleep 0.3; false")})
    result = call("demo", "start")
    assert result.returncode == 1
    assert "demo exited while starting" in result.stderr
    restarted = call("demo", "restart")
    assert restarted.returncode == 1 and "exited while starting" in restarted.stderr


def test_start_waits_for_processes_still_dying_from_a_kill(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("svcmgr_dying", SCRIPT)
    svcmgr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(svcmgr)
    marker = f"xt-svcmgr-dying-{uuid.uuid4().hex[:8]}"
    service = sleeper(marker, tmp_path)
    monkeypatch.setattr(svcmgr, "PID_DIR", str(tmp_path / "run"))
    old = subprocess.Popen(["/bin/bash", "-c", f"exec -a {marker} sleep 300"])
    try:
        # The old process reads as killed (a SIGKILL pending) for 1 s, then goes: start
        # must wait for it, then start a new one, never answer "already running".
        real = svcmgr.killed_pids
        until = time.monotonic() + 1

        def dying(pids):
            if time.monotonic() < until:
                return [old.pid] if old.pid in pids else []
            return real(pids)

        monkeypatch.setattr(svcmgr, "killed_pids", dying)
        threading.Timer(1.0, old.kill).start()
        assert svcmgr.start("demo", service) == "demo started"
        assert old.poll() is not None
        assert len(pids_of(marker)) == 1
    finally:
        old.kill()
        old.wait()
        svcmgr.stop("demo", service)

"""The safeguards in real Robot and pabot runs, over a fixture library (gadgets broken and
mended through the ledger, a monitor that fails on demand; no cloud): a planted emergency
aborts the run and undoes at once, a degraded cloud stops the destructive stage without
waiting, a failed pre-flight injects nothing, SIGTERM and ``extreme stop`` undo and end the
run, also under pabot. Each run is a subprocess: signal handlers stay out of pytest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from robot.api import ExecutionResult

from ExtremeTesting.lifecycle import Ledger
from ExtremeTesting.safeguards import journal
from ExtremeTesting.safeguards.stop import stop

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data" / "safeguards"
FIRST = "Cases.First Destructive Case"


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "libraries"), str(DATA), os.environ.get("PYTHONPATH", "")]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}


def make_target(folder: Path) -> Path:
    path = folder / "target.yaml"
    path.write_text(yaml.safe_dump({
        "name": "unit", "destructive": True,
        "safeguards": {"emergency": {"longest_outage": "1 s"}, "poll": "0.1 s"}}))
    return path


def robot_command(folder: Path, scenario: str) -> list[str]:
    return [sys.executable, "-m", "robot", "--outputdir", str(folder), "--report", "NONE",
            "--log", "NONE", "--console", "none", "--variable", f"FOLDER:{folder}",
            "--variable", f"SCENARIO:{scenario}", str(DATA / "cases.robot")]


def results_of(output: Path) -> dict:
    return {t.name: t for t in ExecutionResult(str(output)).suite.all_tests}


def ledger_of(folder: Path) -> Ledger:
    return Ledger(folder / "target.ledger.jsonl")


def report(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ExtremeTesting.cli", "report",
                           str(folder / "output.xml"), "--target", str(folder / "target.yaml"),
                           "-o", str(folder / "signoff.html")],
                          env=env(), capture_output=True, text=True, timeout=120)


def run_scenario(folder: Path, scenario: str) -> tuple[dict, float]:
    make_target(folder)
    began = time.monotonic()
    subprocess.run(robot_command(folder, scenario), env=env(), timeout=120, check=False)
    return results_of(folder / "output.xml"), time.monotonic() - began


def wait_for(condition, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the run did not get there in time"
        time.sleep(0.05)


def test_a_planted_emergency_aborts_undoes_at_once_and_starts_no_other_case(tmp_path):
    tests, took = run_scenario(tmp_path, "emergency")
    first = tests["First Destructive Case"]
    assert first.status == "FAIL"
    assert first.message.startswith("ABORTED BY SAFEGUARD: longest outage "), first.message
    assert ", limit 1.0 s (probes out: version-identity) at " in first.message
    assert "undone in " in first.message and "unit break first -> unit mend first" in \
        first.message
    assert took < 30  # the case's 60 s sleep was cut short
    assert not (tmp_path / "broken-first").exists()
    assert all(not e.open for e in ledger_of(tmp_path).entries())
    second = tests["Second Destructive Case"]
    assert second.status == "SKIP"
    assert second.message.startswith(f"NOT STARTED: ABORTED BY SAFEGUARD in {FIRST}: "
                                     f"longest outage ")
    assert tests["A Case That Breaks Nothing"].status == "PASS"
    assert [e.step.nodes for e in ledger_of(tmp_path).entries()] == [["first"]]
    signed = report(tmp_path)
    assert signed.returncode == 4, signed.stdout + signed.stderr
    assert signed.stdout.startswith("ABORTED: ")
    page = (tmp_path / "signoff.html").read_text()
    assert "ABORTED BY SAFEGUARD: an emergency limit was crossed" in page
    assert "1 case(s) not started" in page and "undone in" in page


def test_a_cloud_left_degraded_stops_the_destructive_stage_at_once(tmp_path):
    tests, _ = run_scenario(tmp_path, "degraded")
    first = tests["First Destructive Case"]
    assert first.status == "FAIL"
    assert "The cloud was left degraded by this case: degraded: neutron-server down on " \
           "ctl1" in first.message
    second = tests["Second Destructive Case"]
    assert second.status == "SKIP"
    assert second.message == (f"NOT RUN: the cloud was left degraded by {FIRST} (degraded: "
                              f"neutron-server down on ctl1)")
    assert second.elapsed_time.total_seconds() < 1.0  # no per-case wait
    assert not (tmp_path / "broken-second").exists()
    assert tests["A Case That Breaks Nothing"].status == "PASS"
    signed = report(tmp_path)
    assert signed.returncode == 1, signed.stdout
    assert f"the cloud was left degraded by {FIRST}" in signed.stdout


def test_a_failed_preflight_injects_nothing_and_the_run_is_aborted(tmp_path):
    tests, _ = run_scenario(tmp_path, "preflight")
    assert tests["A Refused Setup Checked In A Test Body Gates Nothing"].status == "PASS"
    for name in ("First Destructive Case", "Second Destructive Case"):
        assert tests[name].status == "SKIP"
        assert tests[name].message == ("NOT STARTED: pre-flight failed: Cloud Should Be "
                                       "Healthy: degraded: neutron-server down on ctl1")
    assert ledger_of(tmp_path).entries() == []
    signed = report(tmp_path)
    assert signed.returncode == 4 and "PRE-FLIGHT FAILED" in signed.stdout


def test_sigterm_undoes_and_ends_the_run(tmp_path):
    make_target(tmp_path)
    process = subprocess.Popen(robot_command(tmp_path, "hold"), env=env())
    try:
        wait_for((tmp_path / "broken-first").exists)
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        took = time.monotonic() - began
    finally:
        process.kill()
    assert took < 20
    assert not (tmp_path / "broken-first").exists()
    assert all(not e.open for e in ledger_of(tmp_path).entries())
    tests = results_of(tmp_path / "output.xml")
    assert tests["First Destructive Case"].message.startswith("STOPPED by SIGTERM: ")
    assert tests["Second Destructive Case"].status == "SKIP"
    assert tests["Second Destructive Case"].message == \
        "NOT STARTED: the run was stopped by SIGTERM"
    assert report(tmp_path).returncode == 4


def test_extreme_stop_finds_the_run_beside_the_ledger_undoes_and_ends_it(tmp_path):
    target = make_target(tmp_path)
    process = subprocess.Popen(robot_command(tmp_path, "hold"), env=env())
    lines: list[str] = []
    try:
        wait_for((tmp_path / "broken-first").exists)
        began = time.monotonic()
        code = stop(str(tmp_path / "target.ledger.jsonl"), str(target), within=60,
                    out=lines.append)
        took = time.monotonic() - began
        process.wait(30)
    finally:
        process.kill()
    assert code == 0, "\n".join(lines)
    assert took < 20, "\n".join(lines)
    assert any("undid in" in line and "unit break first -> unit mend first" in line
               for line in lines), lines
    assert not (tmp_path / "broken-first").exists()
    tests = results_of(tmp_path / "output.xml")
    assert "STOPPED by extreme stop" in tests["First Destructive Case"].message
    assert tests["Second Destructive Case"].message.startswith(
        "NOT STARTED: the run was stopped by extreme stop")
    assert report(tmp_path).returncode == 4


def test_extreme_stop_ends_a_pabot_run(tmp_path):
    target = make_target(tmp_path)
    out = tmp_path / "pabot"
    command = [sys.executable, "-m", "pabot.pabot", "--processes", "2", "--outputdir",
               str(out), "--report", "NONE", "--log", "NONE", "--variable",
               f"FOLDER:{tmp_path}", "--variable", "SCENARIO:hold", str(DATA / "cases.robot"),
               str(DATA / "other.robot")]
    process = subprocess.Popen(command, env=env(), cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    lines: list[str] = []
    try:
        wait_for((tmp_path / "broken-first").exists, within=60)
        [registered] = journal.live_processes(tmp_path / "target.ledger.jsonl")
        assert registered.root_pid == process.pid  # the run is pabot's
        began = time.monotonic()
        code = stop(str(tmp_path / "target.ledger.jsonl"), str(target), within=60,
                    out=lines.append)
        took = time.monotonic() - began
        process.wait(60)
    finally:
        process.kill()
    assert code == 0, "\n".join(lines)
    assert took < 30, "\n".join(lines)
    assert any("sent SIGINT to pabot" in line for line in lines), lines
    assert not (tmp_path / "broken-first").exists()
    assert all(not e.open for e in ledger_of(tmp_path).entries())



def test_ctrl_c_of_pabot_undoes_in_the_robot_process_it_terminates(tmp_path):
    make_target(tmp_path)
    command = [sys.executable, "-m", "pabot.pabot", "--processes", "2", "--outputdir",
               str(tmp_path / "pabot"), "--report", "NONE", "--log", "NONE", "--variable",
               f"FOLDER:{tmp_path}", "--variable", "SCENARIO:hold", str(DATA / "cases.robot"),
               str(DATA / "other.robot")]
    process = subprocess.Popen(command, env=env(), cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for((tmp_path / "broken-first").exists, within=60)
        began = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(60)
        took = time.monotonic() - began
    finally:
        process.kill()
    assert took < 30
    assert not (tmp_path / "broken-first").exists()
    assert all(not e.open for e in ledger_of(tmp_path).entries())
    state = journal.read_events(journal.events_path(tmp_path / "target.ledger.jsonl"))
    assert [e["by"] for e in state if e["event"] == journal.STOP] == ["SIGTERM"]


def test_the_guard_undoes_what_a_killed_process_left_open(tmp_path, monkeypatch):
    """pabot SIGKILLs a robot process 5 s after its SIGTERM: the detached guard that
    process started waits for it to end, then undoes what it left open."""
    import json

    from ExtremeTesting.lifecycle import Step
    from ExtremeTesting.lifecycle.private import start_time
    from ExtremeTesting.safeguards.stop import guard

    monkeypatch.syspath_prepend(str(DATA))
    import SafeguardsFixture  # noqa: F401 - registers "unit mend"

    target = make_target(tmp_path)
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pid, start = killed.pid, start_time(killed.pid)
    ledger = ledger_of(tmp_path)
    ledger.open_fault(Step("unit break", None, ["first"]), Step("unit mend", None, ["first"]))
    record = json.loads(ledger.path.read_text())
    record["pid"] = pid  # written by the process about to be killed
    ledger.path.write_text(json.dumps(record) + "\n")
    (tmp_path / "broken-first").write_text("broken")
    killed.kill()
    killed.wait()
    assert guard(str(target), str(ledger.path), pid, start, within=10) == 0
    assert not (tmp_path / "broken-first").exists()
    assert ledger.open_entries() == []

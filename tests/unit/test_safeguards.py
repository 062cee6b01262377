"""Safeguards without a cloud: each trigger on fake figures and a fake clock, the watch's
abort and stop (undo first, then the interruption), the run's journal, the target section,
the report's ABORTED verdict. Nothing here sleeps."""

from __future__ import annotations

import json
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from ExtremeTesting.errors import TargetError
from ExtremeTesting.lifecycle.ledger import Ledger, Step
from ExtremeTesting.report import aborts
from ExtremeTesting.safeguards import config, journal, triggers
from ExtremeTesting.safeguards.config import Limits, Settings
from ExtremeTesting.safeguards.interrupt import Interrupter
from ExtremeTesting.safeguards.journal import Journal
from ExtremeTesting.safeguards.library import Safeguards, not_allowed
from ExtremeTesting.safeguards.watcher import UndoResult, Watcher
from ExtremeTesting.target import Target


@dataclass
class S:
    start: float
    ok: bool


def series(pattern: str, t0: float = 0.0, step: float = 0.1) -> list[S]:
    """'.' an OK sample, 'x' a failed one, every ``step`` seconds from ``t0``."""
    return [S(t0 + i * step, c == ".") for i, c in enumerate(pattern)]


# -- triggers -----------------------------------------------------------------------------

def test_an_outage_runs_from_the_first_failed_sample_to_the_next_ok_one_or_now():
    assert triggers.outages(series("..xxx..x"), now=0.9) == [
        (pytest.approx(0.2), pytest.approx(0.5)), (pytest.approx(0.7), 0.9)]


def test_the_longest_outage_joins_overlapping_probes_like_the_monitors_overall():
    samples = {"a": series("xxxxx....."), "b": series("....xxxxx.")}
    limits = Limits(longest_outage=0.8)
    trip = triggers.check_monitor(limits, samples, now=1.0, wall_now=100.0)
    assert trip is not None and trip.what == "longest outage"
    assert trip.measured == "0.9 s" and "a, b" in trip.detail
    assert triggers.check_monitor(Limits(longest_outage=1.0), samples, 1.0, 100.0) is None


def test_an_ongoing_outage_trips_once_it_has_lasted_the_limit():
    samples = {"version-identity": series("..xxxxx")}  # failing since 0.2 s
    limits = Limits(longest_outage=60.0)
    assert triggers.check_monitor(limits, samples, now=60.1, wall_now=0) is None
    trip = triggers.check_monitor(limits, samples, now=60.2, wall_now=0)
    assert trip is not None and trip.measured == "60.0 s"


def test_a_named_probe_trips_on_its_own_outage_before_the_overall_limit():
    samples = {"read-servers": series("xxxxxx"), "version-identity": series("......")}
    limits = Limits(longest_outage=100.0, probes={"read-servers": 0.5})
    trip = triggers.check_monitor(limits, samples, now=0.6, wall_now=0)
    assert trip is not None and trip.what == "probe read-servers outage"


def test_the_error_rate_is_judged_over_its_window_once_the_monitor_ran_that_long():
    half = {"p": series(".x" * 50)}  # 10 s, every other sample failed
    limits = Limits(error_rate=40.0, error_rate_over=5.0)
    trip = triggers.check_monitor(limits, half, now=10.0, wall_now=0)
    assert trip is not None and trip.what == "error rate" and trip.measured == "50.0 %"
    assert triggers.check_monitor(Limits(error_rate=60.0, error_rate_over=5.0), half, 10.0,
                                  0) is None
    young = {"p": series("xxxx")}  # 0.4 s of samples: not judged yet
    assert triggers.check_monitor(limits, young, now=0.4, wall_now=0) is None


def _entry(ledger: Ledger, action: str, when: str, nodes=("ctl1",)):
    entry = ledger.open_fault(Step(action, None, list(nodes)), Step("poweron", None,
                                                                    list(nodes)))
    lines = ledger.path.read_text().splitlines()
    record = json.loads(lines[-1])
    record["time"] = when
    ledger.path.write_text("\n".join([*lines[:-1], json.dumps(record)]) + "\n")
    return entry


def test_a_node_left_off_longer_than_its_limit_trips(tmp_path):
    ledger = Ledger(tmp_path / "t.ledger.jsonl")
    _entry(ledger, "poweroff", "2026-12-06T10:00:00.000+00:00")
    _entry(ledger, "kill", "2026-12-06T09:00:00.000+00:00", nodes=("ctl2",))
    offs = triggers.power_offs(ledger.open_entries())
    assert [o.nodes for o in offs] == [("ctl1",)]
    since = offs[0].since
    limits = Limits(node_off=300.0)
    assert triggers.check_nodes(limits, offs, since + 299.0) is None
    trip = triggers.check_nodes(limits, offs, since + 300.0)
    assert trip is not None and trip.what == "node off" and "ctl1" in trip.detail


# -- the target section ---------------------------------------------------------------------

def target(data: dict, tmp_path: Path) -> Target:
    return Target(tmp_path / "t.yaml", data)


def test_an_operators_cloud_has_no_emergency_limit_unless_its_target_sets_them(tmp_path):
    assert not config.settings(target({"name": "prod"}, tmp_path)).limits.any
    lab = config.settings(target({"name": "lab", "lab": {}}, tmp_path))
    assert lab.limits.longest_outage == 120.0 and lab.limits.node_off == 300.0
    own = config.settings(target({"name": "lab", "lab": {}, "safeguards": {
        "emergency": {"longest_outage": "8 s"}}}, tmp_path))
    assert own.limits.longest_outage == 8.0 and own.limits.node_off is None


def test_the_section_is_read_with_its_checks_and_limits(tmp_path):
    settings = config.settings(target({"safeguards": {
        "preflight": {"checks": ["Cluster Should Be Whole Within    30 s",
                                 ["Processes Of keystone Should Run On ctl1"]]},
        "emergency": {"error_rate": {"limit": "40%", "over": "1 min"}, "node_off": "5 min",
                      "probes": {"read-servers": 90}},
        "poll": "0.5 s"}}, tmp_path))
    assert settings.checks == (("Cluster Should Be Whole Within", "30 s"),
                               ("Processes Of keystone Should Run On ctl1",))
    assert settings.limits.error_rate == 40.0 and settings.limits.error_rate_over == 60.0
    assert settings.limits.probes == {"read-servers": 90.0} and settings.poll == 0.5


@pytest.mark.parametrize("section, words", [
    ({"emergency": {"longest_outage": "soon"}}, "is not a time"),
    ({"emergency": {"error_rate": 0}}, "out of range"),
    ({"emergency": {"outage": 5}}, "unknown keys outage"),
    ({"limits": {}}, "unknown keys limits"),
    ({"preflight": {"checks": "Cloud Should Be Healthy"}}, "must be a list"),
])
def test_a_bad_section_is_one_line_naming_the_key(tmp_path, section, words):
    with pytest.raises(TargetError, match=words):
        config.settings(target({"safeguards": section}, tmp_path))


# -- the journal ----------------------------------------------------------------------------

def test_the_journal_folds_one_runs_events_and_ignores_other_runs(tmp_path):
    ledger = tmp_path / "t.ledger.jsonl"
    mine, other = Journal(ledger, "10-1"), Journal(ledger, "11-1")
    other.append(journal.TRIPPED, case="old", what="longest outage", measured="1 s",
                 limit="1 s", when=1.0)
    assert not_allowed(mine.state()) == ""
    mine.append(journal.PREFLIGHT, passed=True, checks=["Cloud Should Be Healthy"])
    assert not_allowed(mine.state()) == ""
    mine.append(journal.DEGRADED, case="Suites.A.Kill", wrong="neutron-server down on ctl1")
    assert not_allowed(mine.state()) == ("NOT RUN: the cloud was left degraded by "
                                         "Suites.A.Kill (neutron-server down on ctl1)")
    mine.append(journal.TRIPPED, case="Suites.A.Kill", what="longest outage",
                measured="61.0 s", limit="60.0 s", when=1.0)
    assert not_allowed(mine.state()).startswith(
        "NOT STARTED: ABORTED BY SAFEGUARD in Suites.A.Kill: longest outage 61.0 s, limit "
        "60.0 s at ")


def test_a_failed_preflight_keeps_every_case_from_starting(tmp_path):
    mine = Journal(tmp_path / "t.ledger.jsonl", "10-1")
    mine.append(journal.PREFLIGHT, passed=False, detail="Cloud Should Be Healthy: ctl2 down")
    assert not_allowed(mine.state()) == ("NOT STARTED: pre-flight failed: Cloud Should Be "
                                         "Healthy: ctl2 down")


def test_a_stop_request_names_the_runs_it_stops(tmp_path):
    ledger = tmp_path / "t.ledger.jsonl"
    journal.request_stop(ledger, ["10-1"], "extreme stop (PID 5)")
    assert journal.stop_requested(ledger, "10-1")["by"] == "extreme stop (PID 5)"
    assert journal.stop_requested(ledger, "12-1") is None


def test_a_process_registers_beside_the_ledger_and_is_found_alive(tmp_path):
    ledger = tmp_path / "t.ledger.jsonl"
    root = journal.run_root(under_pabot=False)
    journal.register(ledger, journal.run_id(*root), root)
    found = journal.live_processes(ledger)
    assert [(p.pid, p.root_pid) for p in found] == [(os.getpid(), os.getpid())]
    assert journal.alive(found[0].pid, found[0].start)
    assert not journal.alive(found[0].pid, found[0].start + 1)  # a reused PID is not it


# -- the watch ------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watcher(tmp_path, limits=Limits(longest_outage=60.0), samples=None, **kw):
    calls: list[str] = []
    clock = Clock()

    def undo():
        calls.append("undo")
        clock.now += 2.5
        return UndoResult(undone=["kill keystone on ctl1 -> start keystone on ctl1"])

    def interrupt(message):
        calls.append(f"interrupt: {message}")

    w = Watcher(Settings(limits=limits), Journal(tmp_path / "t.ledger.jsonl", "10-1"),
                samples=lambda since: samples, undo=undo, interrupt=interrupt, monotonic=clock,
                wall=clock, **kw)
    return w, calls, clock


def test_nothing_is_watched_outside_a_case(tmp_path):
    w, calls, clock = watcher(tmp_path, samples={"p": series("x" * 10, t0=0)})
    assert w.check() == "" and calls == []


def test_a_crossed_limit_undoes_first_then_interrupts_the_case_once(tmp_path):
    w, calls, clock = watcher(tmp_path, samples={"version-identity": series("..xxxx",
                                                                             t0=900.0)})
    w.case = "Suites.D.Kill Keystone On All Nodes"
    clock.now = 959.0
    assert w.check() == ""
    clock.now = 960.3
    assert w.check() == "tripped"
    assert calls[0] == "undo" and calls[1].startswith("interrupt: ABORTED BY SAFEGUARD: "
                                                      "longest outage 60.1 s, limit 60.0 s")
    assert "undone in 2.5 s: kill keystone on ctl1" in calls[1]
    assert w.check() == "" and len(calls) == 2  # once
    state = w.journal.state()
    assert state.tripped["case"] == "Suites.D.Kill Keystone On All Nodes"
    assert state.undone[0]["seconds"] == 2.5


def test_a_stop_request_undoes_and_interrupts_even_between_limits(tmp_path):
    w, calls, _ = watcher(tmp_path, limits=Limits(), stop_request=lambda: {"by": "extreme "
                                                                                 "stop (PID 7)"})
    w.case = "Suites.D.Case"
    assert w.check() == "stopped"
    assert calls[0] == "undo" and calls[1].startswith("interrupt: STOPPED by extreme stop")
    assert w.stopping.is_set()


def test_a_signal_undoes_and_lets_robot_stop_the_case(tmp_path):
    w, calls, _ = watcher(tmp_path)
    w.case = "Suites.D.Case"
    w.wake("SIGTERM")
    assert w.check() == "stopped"
    assert calls == ["undo"]  # Robot's own handler stops the case
    assert w.journal.state().stop["by"] == "SIGTERM"


def test_an_undo_that_raises_is_written_down_as_failed(tmp_path):
    def broken():
        raise RuntimeError("BMC unreachable")

    w = Watcher(Settings(limits=Limits(longest_outage=1.0)),
                Journal(tmp_path / "t.ledger.jsonl", "10-1"),
                samples=lambda since: {"p": series("xxxxxxxxxxxxxxxxxxxx", t0=0)},
                undo=broken,
                monotonic=lambda: 2.0, wall=lambda: 2.0)
    w.case = "c"
    assert w.check() == "tripped"
    assert w.journal.state().undone[0]["failed"] == ["the undo failed: BMC unreachable"]
    assert "could NOT undo" in w.message


def test_the_interruption_lands_only_in_an_armed_case_and_only_while_a_keyword_runs():
    running = {"now": False}
    interrupter = Interrupter(running_keyword=lambda: running["now"])
    interrupter._message = "ABORTED BY SAFEGUARD: x"
    interrupter.handle()  # not armed: nothing
    interrupter.armed = True
    interrupter.handle()  # armed, but between keywords: nothing, it is sent again
    running["now"] = True
    from robot.errors import TimeoutExceeded

    with pytest.raises(TimeoutExceeded, match="ABORTED BY SAFEGUARD: x"):
        interrupter.handle()
    interrupter.handle()  # delivered once


def test_the_interruption_is_a_signal_to_the_main_thread():
    interrupter = Interrupter(running_keyword=lambda: True)
    previous = signal.getsignal(signal.SIGUSR1)
    interrupter.install()
    try:
        interrupter.armed = True
        from robot.errors import TimeoutExceeded

        landed = threading.Event()
        thread = threading.Thread(target=lambda: landed.set() if interrupter.deliver(
            "STOPPED by extreme stop") else None)
        with pytest.raises(TimeoutExceeded, match="STOPPED by extreme stop"):
            thread.start()
            thread.join(10)  # the signal interrupts this wait, as it would a Sleep
        thread.join(10)
        assert landed.is_set()
    finally:
        signal.signal(signal.SIGUSR1, previous)


# -- the report -----------------------------------------------------------------------------

@dataclass
class C:
    full_name: str
    status: str
    message: str


def test_the_report_reads_a_safeguard_abort_and_the_cases_it_did_not_start():
    cases = [C("S.A", "PASS", ""),
             C("S.B", "FAIL", "ABORTED BY SAFEGUARD: longest outage 8.1 s, limit 8.0 s at "
                              "15:40:01 in S.B; undone in 2.1 s: kill keystone"),
             C("S.C", "SKIP", "NOT STARTED: ABORTED BY SAFEGUARD in S.B: ...")]
    abort = aborts.abort_of(cases, [{"event": "undone", "wall": 1.0, "seconds": 2.1,
                                     "undone": ["kill keystone"], "pid": 9}])
    assert abort.kind == "safeguard" and abort.case == "S.B"
    assert [c.full_name for c in abort.not_started] == ["S.C"]
    assert "undone in 2.1 s" in abort.undone[0]


@pytest.mark.parametrize("message, kind", [
    ("Execution terminated by signal", "stopped"),
    ("User interrupted Pabot execution (Ctrl+C) when this test/suite was running.", "stopped"),
    ("NOT STARTED: pre-flight failed: Cloud Should Be Healthy: ctl2", "preflight"),
])
def test_a_stop_or_a_failed_preflight_is_an_abort(message, kind):
    assert aborts.abort_of([C("S.A", "FAIL", message)]).kind == kind


def test_a_degraded_cloud_is_no_abort_but_names_the_case_and_what_it_kept_from_running():
    cases = [C("S.A", "FAIL", "The cloud was left degraded by this case: x"),
             C("S.B", "SKIP", "NOT RUN: the cloud was left degraded by S.A (neutron-server "
                              "down on ctl1)")]
    assert aborts.abort_of(cases) is None
    [degraded] = aborts.degraded_of(cases)
    assert degraded.case == "S.A" and degraded.wrong == "neutron-server down on ctl1"
    assert [c.full_name for c in degraded.not_run] == ["S.B"]


def test_the_example_targets_section_is_read():
    from ExtremeTesting.target import load

    example = Path(__file__).resolve().parents[2] / "variables" / "example-3-controllers.yaml"
    settings = config.settings(load(example))
    assert settings.checks == (("Cluster Should Be Whole Within", "database", "30 s"),)
    assert settings.limits.longest_outage == 180.0 and settings.limits.node_off == 600.0
    assert settings.limits.probes == {"read-servers": 180.0}


def test_the_watch_reads_only_the_samples_that_can_still_cross_a_limit(tmp_path):
    asked: list[float] = []
    w = Watcher(Settings(limits=Limits(longest_outage=60.0, error_rate=50.0,
                                       error_rate_over=120.0)),
                Journal(tmp_path / "t.ledger.jsonl", "10-1"),
                samples=lambda since: asked.append(since) or {},
                monotonic=lambda: 1000.0, wall=lambda: 0.0)
    w.case = "c"
    w.check()
    assert asked == [1000.0 - 120.0 - 10.0]


def test_the_watch_reads_no_sample_while_no_failure_can_be_in_its_horizon(tmp_path):
    """A failed sample is counted when it ends, after it started: until the counts change,
    and for a whole horizon after their last change, the samples are read; else not."""
    asked: list[float] = []
    counts = {"p": (1, 0)}
    clock = Clock()
    w = Watcher(Settings(limits=Limits(longest_outage=60.0, error_rate_over=60.0)),
                Journal(tmp_path / "t.ledger.jsonl", "10-1"),
                samples=lambda since: asked.append(since) or {},
                failures=lambda: counts, monotonic=clock, wall=clock)
    w.case = "c"
    w.check()
    assert asked == []  # no failure ever: nothing to read
    counts = {"p": (1, 2)}
    clock.now = 1001.0
    w.check()
    assert asked == [1001.0 - 70.0]
    clock.now = 1001.0 + 70.0  # the last change is just inside the horizon
    w.check()
    assert len(asked) == 2
    clock.now = 1001.0 + 70.5
    w.check()
    assert len(asked) == 2  # the failures are older than any limit can reach
    counts = {"p": (2, 2)}  # another monitor, as many failures: a change
    clock.now = 1100.0
    w.check()
    assert asked[-1] == 1100.0 - 70.0


def test_the_watch_skips_its_reading_but_still_trips_on_a_failure(tmp_path):
    counts = {"version-identity": (1, 0)}
    w, calls, clock = watcher(tmp_path, Limits(longest_outage=60.0, error_rate_over=60.0),
                              samples={"version-identity": series("..xxxx", t0=900.0)},
                              failures=lambda: counts)
    w.case = "c"
    clock.now = 960.3
    assert w.check() == ""  # the counts say nothing failed: not read
    counts = {"version-identity": (1, 4)}
    assert w.check() == "tripped"


def test_a_long_timeline_is_read_from_its_newest_end():
    from ExtremeTesting.monitor.samples import ProbeTimeline, Sample

    timeline = ProbeTimeline("p")
    for i in range(1000):  # finished in send order but one pair swapped
        start = float(i if i not in (998, 999) else 1997 - i)
        timeline.add(Sample("p", i, start, start, start + 0.1, start, start, True))
    assert [s.start for s in timeline.since(997.0)] == [997.0, 998.0, 999.0]


def test_the_monitors_live_samples_trip_a_limit_while_it_runs(tmp_path, monkeypatch):
    import time
    from datetime import timedelta

    from ExtremeTesting.Monitor import Monitor
    from ExtremeTesting.monitor.fakecloud import FakeCloud

    for name in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD", "OS_AUTH_URL"):
        monkeypatch.delenv(name, raising=False)
    with FakeCloud() as cloud:
        (tmp_path / "clouds.yaml").write_text(
            f"clouds:\n  fake:\n    auth:\n      auth_url: {cloud.url}/v3\n"
            f"      username: admin\n      password: {cloud.password}\n"
            f"      project_name: admin\n      user_domain_name: Default\n"
            f"      project_domain_name: Default\n")
        (tmp_path / "target.yaml").write_text(
            f"name: fake\ncloud: fake\nclouds_yaml: clouds.yaml\nendpoints:\n"
            f"  identity: {cloud.url}/v3\nprobes:\n  rate: 20\n  timeout: 0.5\n")
        library = Monitor(str(tmp_path / "target.yaml"))
        library.start_availability_monitor(probes=["version-identity"],
                                           baseline=timedelta(seconds=0.2))
        try:
            before = library.live_failures()
            assert list(before) == ["version-identity"] and before["version-identity"][1] == 0
            cloud.down("503")
            limits = Limits(longest_outage=0.5)
            deadline = time.monotonic() + 15
            trip = None
            while trip is None:  # poll the live figures, as the watch does
                assert time.monotonic() < deadline, "the outage never crossed 0.5 s"
                now = time.monotonic()
                trip = triggers.check_monitor(limits, library.live_samples(now - 10), now,
                                              time.time())
                time.sleep(0.05)
            assert trip.what == "longest outage" and "version-identity" in trip.detail
            failed = library.live_failures()["version-identity"]
            assert failed[0] == before["version-identity"][0] and failed[1] >= 5
        finally:
            cloud.up()
            library.stop_availability_monitor()
        assert library.live_samples() == {} and library.live_failures() == {}


def test_extreme_stop_without_a_run_says_so_and_refuses_bad_input(tmp_path, capsys):
    from ExtremeTesting.safeguards import stop

    target_file = tmp_path / "t.yaml"
    target_file.write_text("name: unit\n")
    assert stop.main(["--target", str(target_file)]) == 1
    assert "nothing to stop" in capsys.readouterr().out
    assert stop.main(["--target", str(target_file), "--within", "0"]) == 2
    assert "--within must be above 0" in capsys.readouterr().err
    assert stop.main(["--target", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_pabot_interrupt_names_the_case_the_journal_saw_running():
    line = "User interrupted Pabot execution (Ctrl+C) when this test/suite was running."
    cases = [C("S.A", "FAIL", line), C("S.B", "FAIL", line)]
    events = [{"event": "stop requested", "wall": 1.0, "by": "extreme stop (PID 3)"},
              {"event": "undone", "wall": 2.0, "case": "S.B", "seconds": 1.5,
               "undone": ["kill keystone on ctl1 -> start keystone on ctl1"], "pid": 9}]
    abort = aborts.abort_of(cases, events)
    assert abort.kind == "stopped" and abort.case == "S.B"
    assert any("stop requested by extreme stop (PID 3)" in line for line in abort.details)


def test_the_labs_target_carries_its_safeguards_from_its_expectations_file(tmp_path):
    from ExtremeTesting.target import load

    path = tmp_path / "target.yaml"
    path.write_text("name: lab\nlab: {}\n")
    settings = config.settings(load(path))
    assert settings.limits == config.settings(
        target({"name": "lab", "lab": {}}, tmp_path)).limits  # the file = the fallback
    assert settings.limits.longest_outage == 120.0
    assert settings.limits.error_rate == 50.0 and settings.limits.error_rate_over == 180.0


@pytest.mark.parametrize("message, status, said", [
    # the stop's signal landed in the next case's setup (its gate): that case never started
    ("Setup failed:\nExecution terminated by signal", "SKIP",
     "NOT STARTED: the run was stopped by extreme stop"),
    ("Test execution stopped due to a fatal error.", "SKIP",
     "NOT STARTED: the run was stopped by extreme stop"),
    # in the case's body: it was stopped, and says so
    ("Execution terminated by signal", "FAIL",
     "STOPPED by extreme stop: Execution terminated by signal"),
    ("Setup failed:\nCloud Should Be Healthy: ctl2", "FAIL",
     "Setup failed:\nCloud Should Be Healthy: ctl2"),
])
def test_a_case_the_stop_reached_says_whether_it_had_started(message, status, said):
    library = Safeguards()
    stopping = threading.Event()
    stopping.set()
    library._watcher = SimpleNamespace(stopping=stopping, signalled="", stopped="extreme stop",
                                       tripped=None, disarm=lambda: None)
    result = SimpleNamespace(status="FAIL", message=message)
    library._test_ended(result)
    assert (result.status, result.message) == (status, said)

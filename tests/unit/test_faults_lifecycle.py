"""Faults on the lifecycle layer (issue 24, "one foundation"): the one interlock, the one
ledger path, the one pabot lock, the undo registry, the one scope listener; and ``on=``
required for a fault that would hit every node of a service."""

from __future__ import annotations

import pytest
import test_faults as base

from ExtremeTesting.changes import Changes
from ExtremeTesting.errors import SafetyError
from ExtremeTesting.faults import cli
from ExtremeTesting.faults import undo as faults_undo
from ExtremeTesting.faults.errors import FaultError
from ExtremeTesting.lifecycle import (Ledger, ScopeListener, Step, Tracker,
                                      default_ledger_path, handler_for, undo_entries)
from ExtremeTesting.lifecycle.locking import PabotLock
from ExtremeTesting.target import load

cloud, make = base.cloud, base.make  # the Faults library over the fake os-faults cloud
_Result, in_test = base._Result, base.in_test


def test_faults_keeps_no_interlock_ledger_or_lock_of_its_own(make):
    lib = make()
    assert isinstance(lib.tracker, Tracker)
    assert isinstance(lib.ROBOT_LIBRARY_LISTENER, ScopeListener)
    assert lib.ROBOT_LIBRARY_LISTENER.owner is lib.tracker
    assert lib.engine.tracker is lib.tracker
    assert lib.engine.scope is lib.tracker.scope and lib.engine.mine is lib.tracker.pending


def test_a_fault_goes_to_the_one_ledger_every_library_writes(make, cloud):
    lib = make()
    lib.kill_service("keystone", on="ctl1")
    path = default_ledger_path(lib.target.path)
    assert lib.engine.ledger.path == path
    assert Changes(str(lib.target.path)).changes.ledger().path == path  # same file
    [entry] = Ledger(path).open_entries()
    assert (entry.step.describe(), entry.undo.describe()) == ("kill keystone on ctl1",
                                                             "start keystone on ctl1")
    assert lib.tracker.pending == [entry]


def test_recover_undoes_what_faults_recorded_in_the_one_ledger(make, cloud):
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    # the run dies here: nothing undone; extreme recover reads the same ledger
    out = []
    assert cli.recover(str(lib.target.path), None, library=make(), out=out.append) == 0
    assert cloud.proc("keystone", "ctl1") == "running"
    [entry] = Ledger(default_ledger_path(lib.target.path)).entries()
    assert entry.closed == "undone"
    assert "Recovered 1 of 1" in out[-1]


def test_the_os_faults_undo_actions_are_in_the_lifecycle_registry(make, cloud, monkeypatch):
    """A bare lifecycle tracker (no Faults engine) undoes a Faults entry through the
    registry, as it undoes any other library's."""
    lib = make()
    lib.freeze_service("keystone", on="ctl2")
    assert cloud.proc("keystone", "ctl2") == "frozen"
    for action in ("start", "unfreeze", "plug", "poweron"):
        assert handler_for(action) is faults_undo.undo_with_os_faults
    monkeypatch.setattr(faults_undo, "library_for", lambda target: make())
    faults_undo.forget_engines()
    target = load(str(lib.target.path))
    bare = Tracker(lambda: target)
    [entry] = bare.ledger().open_entries()
    bare.undo(entry)
    assert cloud.proc("keystone", "ctl2") == "running"
    assert Ledger(default_ledger_path(target.path)).open_entries() == []
    faults_undo.forget_engines()


def test_a_fault_is_refused_by_the_one_interlock(make, cloud):
    lib = make(destructive=False)
    with pytest.raises(SafetyError) as refused:
        lib.freeze_service("keystone", on="ctl1")
    with pytest.raises(SafetyError) as interlock:
        lib.target.require_destructive("freeze keystone on ctl1")
    assert str(refused.value) == str(interlock.value)  # one interlock, one message
    assert cloud.calls() == [] and lib.configs == []
    assert not default_ledger_path(lib.target.path).exists()


def test_a_dry_run_on_a_non_destructive_target_only_warns(make, cloud, monkeypatch):
    warnings = []
    lib = make(destructive=False, dry_run=True)
    lib.engine.warn = warnings.append
    lib.kill_service("keystone", on="ctl1")
    assert warnings and warnings[0].startswith("DRY RUN: Refused to kill keystone on ctl1")
    assert cloud.calls() == []


def test_the_pabot_lock_is_the_lifecycle_one(make, cloud, monkeypatch):
    taken = []
    monkeypatch.setenv("PABOTLIBURI", "127.0.0.1:1")
    monkeypatch.setattr(PabotLock, "acquire", lambda self: taken.append(self.name) or 0.0)
    monkeypatch.setattr(PabotLock, "release", lambda self: taken.append("released"))
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    assert lib.tracker.lock is lib.engine.lock and lib.tracker.lock.name == \
        "destructive:fakecloud"
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    assert taken == ["destructive:fakecloud", "released"]


# -- on= for faults that would hit every node
@pytest.mark.parametrize("keyword", ["kill_service", "restart_service", "terminate_service",
                                     "freeze_service", "unplug_service"])
def test_a_fault_without_on_is_refused_when_it_would_hit_every_node(make, cloud, keyword):
    lib = make()
    with pytest.raises(FaultError) as refused:
        getattr(lib, keyword)("keystone")
    message = str(refused.value)
    assert "without on= would hit every node that runs it (ctl1, ctl2)" in message
    assert "on=ctl1" in message and "on=all" in message and "Nothing was touched" in message
    assert cloud.calls() == []
    assert not default_ledger_path(lib.target.path).exists()


def test_on_all_said_on_purpose_hits_every_node(make, cloud):
    assert make().kill_service("keystone", on="all") == ["ctl1", "ctl2"]
    assert cloud.proc("keystone", "ctl1") == cloud.proc("keystone", "ctl2") == "stopped"


def test_a_service_on_one_node_needs_no_on(make, cloud):
    assert make().kill_service("mariadb") == ["db"]


def test_undoing_keywords_and_checks_still_default_to_every_node(make, cloud):
    lib = make()
    lib.kill_service("keystone", on="all")
    assert lib.start_service("keystone") == ["ctl1", "ctl2"]
    lib.service_should_be_running("keystone")


@pytest.mark.parametrize("call", [
    "from ExtremeTesting import cli; rc = cli._recover(['--ledger', LEDGER])",
    "from ExtremeTesting.faults.cli import recover; rc = recover(None, LEDGER)",
])
def test_extreme_recover_registers_the_undo_actions_of_every_library(tmp_path, call):
    """In a fresh process, as the ``extreme`` command or a guard process (the safeguards')
    runs it: recover has every library's undo actions registered (through the one module
    that composes them, ExtremeTesting.undo_actions), though faults/cli.py imports none."""
    import subprocess
    import sys

    code = (f"LEDGER = {str(tmp_path / 'l.jsonl')!r}; {call}; "
            "from ExtremeTesting.lifecycle import registered; print(rc, sorted(registered()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=_env())
    said, last = out.stdout.strip().rsplit("\n", 1)
    rc, found = last.split(" ", 1)
    assert rc == "0" and said.startswith("Nothing to recover"), out.stdout + out.stderr
    for action in ("start", "poweron", "switch port up", "changes lb ready",
                   "changes restore file", "changes install packages", "cluster start members"):
        assert f"'{action}'" in found, found


def _env():
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return {**os.environ, "PYTHONPATH": f"{root / 'libraries'}{os.pathsep}{root / 'resources'}"}


@pytest.mark.parametrize("command", ["restart keystone service", "kill keystone service",
                                     "reboot nodes", "poweroff node with keystone service"])
def test_inject_fault_naming_no_node_is_refused_when_it_would_hit_several(make, cloud,
                                                                          command):
    with pytest.raises(FaultError, match="names no node and would hit every one") as refused:
        make().inject_fault(command)
    assert "'on all nodes'" in str(refused.value) and "Nothing was touched" in str(refused.value)
    assert cloud.calls() == []


def test_inject_fault_on_all_nodes_said_on_purpose(make, cloud):
    assert make().inject_fault("restart keystone service on all nodes") == ["ctl1", "ctl2"]
    assert make().inject_fault("start keystone service") == ["ctl1", "ctl2"]  # an undo


def test_what_a_safeguard_undid_first_is_not_undone_again_at_the_case_end(make, cloud):
    """A safeguard's abort undoes the ledger (``extreme recover`` in the watch thread);
    the case's own undo runs later and must not run an undo twice: not every undo can
    (a drain's fails once the node it drained was removed)."""
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    path = default_ledger_path(lib.target.path)
    [entry] = Ledger(path).open_entries()
    Ledger(path).close(entry.id, "undone", "by the safeguard's abort")
    calls = len(cloud.calls())  # keystone still killed: only the ledger says undone
    assert lib.engine.undo_all() == []
    assert len(cloud.calls()) == calls and lib.tracker.pending == []
    assert cloud.proc("keystone", "ctl1") != "running"  # no second start was sent


def test_a_changes_entry_closed_meanwhile_is_dropped_without_its_undo(make):
    lib = make()
    undone = []
    tracker = Tracker(lambda: lib.target, undo=undone.append)
    tracker.scope.suites.append("Top")
    drain = [tracker.record(Step("drain", service, ["ctl3"]),
                            Step("changes lb ready", service, ["ctl3"]))
             for service in ("keystone", "nova-api")]
    path = default_ledger_path(lib.target.path)
    Ledger(path).close(drain[0].id, "undone", "by extreme recover")
    assert undo_entries(tracker, list(tracker.pending)) == []
    assert undone == [drain[1]] and tracker.pending == []
    assert {e.id: e.closed for e in Ledger(path).entries()} == {
        drain[0].id: "undone", drain[1].id: "undone"}

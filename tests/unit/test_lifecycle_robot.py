"""The one scope listener in real Robot runs: an undo that raises fails its owner, the
other faults are still undone, and the pabot lock is released (issue 12, item 3)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from robot import run
from robot.api import ExecutionResult

from ExtremeTesting.lifecycle import Ledger, default_ledger_path

DATA = Path(__file__).parent / "data" / "lifecycle"
BROKEN = "the cloud may be left broken — run `extreme recover`"


def run_fixture(tmp_path, monkeypatch, suite_gadget):
    state = tmp_path / "state.json"
    monkeypatch.setenv("UNDO_FIXTURE_STATE", str(state))
    with open(os.devnull, "w") as devnull:
        run(str(DATA / "undo.robot"), outputdir=str(tmp_path), pythonpath=[str(DATA)],
            variable=[f"FOLDER:{tmp_path}", f"SUITE_GADGET:{suite_gadget}"],
            stdout=devnull, stderr=devnull, report="NONE", log="NONE")
    result = ExecutionResult(str(tmp_path / "output.xml"))
    tests = {t.name: t for t in result.suite.all_tests}
    return result.suite, tests, json.loads(state.read_text())


def test_an_undo_that_raises_fails_its_test_and_the_rest_is_undone(tmp_path, monkeypatch):
    suite, tests, state = run_fixture(tmp_path, monkeypatch, "none")
    failed = tests["Two Faults One Cannot Be Undone"]
    assert failed.status == "FAIL"
    assert failed.message.startswith(f"could not undo unit break stubborn: {BROKEN}.")
    assert "the gadget's BMC does not answer" in failed.message
    assert tests["One Fault Undone"].status == "PASS"
    assert state["mended"] == ["first", "second"]  # the other faults were undone
    assert state["locks"] == {}  # released though a fault could not be undone
    entries = Ledger(default_ledger_path(tmp_path / "target.yaml")).entries()
    assert [(e.step.nodes, e.closed, bool(e.failures)) for e in entries] == [
        (["first"], "undone", False), (["stubborn"], "", True), (["second"], "undone", False)]


def test_a_suite_fault_that_cannot_be_undone_fails_the_suite_teardown(tmp_path, monkeypatch):
    suite, tests, state = run_fixture(tmp_path, monkeypatch, "stubborn")
    assert suite.teardown.status == "FAIL"
    assert suite.teardown.message.startswith(f"could not undo unit break stubborn: {BROKEN}.")
    assert "injected by Undo" in suite.teardown.message
    assert BROKEN in suite.message
    assert state["mended"] == ["first", "second"]
    assert state["locks"] == {}


@pytest.fixture(autouse=True)
def _forget_the_fixture_module():
    import sys

    yield
    sys.modules.pop("UndoFixture", None)

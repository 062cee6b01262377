"""One scope-ownership listener for every library that holds something per test or suite
(issue 24, "one foundation"): each gives Robot the lifecycle's ``ScopeListener``, none
hand-rolls ``start_suite``/``end_test``/``close``."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest

from ExtremeTesting.lifecycle import LedgerScopes, ScopedResources, ScopeListener

LIBRARIES = ["Load", "Monitor", "Cloud", "Policy", "Faults", "Changes", "Power", "Switch"]
LISTENER_METHODS = ("start_suite", "start_test", "end_test", "end_suite", "end_keyword",
                    "close")


def library(name: str):
    return getattr(importlib.import_module(f"ExtremeTesting.{name}"), name)


@pytest.mark.parametrize("name", LIBRARIES)
def test_every_library_gives_robot_the_one_scope_listener(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_TARGET", str(tmp_path / "no-target.yaml"))  # never read
    instance = library(name)()
    listener = instance.ROBOT_LIBRARY_LISTENER
    assert type(listener) is ScopeListener
    assert isinstance(listener.resources, ScopedResources)


@pytest.mark.parametrize("name", LIBRARIES)
def test_no_library_hand_rolls_a_listener(name):
    cls = library(name)
    rolled = [m for m in LISTENER_METHODS for k in cls.__mro__
              if k.__module__.startswith("ExtremeTesting") and m in vars(k)
              and k is not ScopeListener]
    assert rolled == []
    assert not hasattr(cls, "ROBOT_LISTENER_API_VERSION")


def test_the_listener_keeps_the_scope_and_calls_the_hooks_in_order():
    seen = []

    class Holder(ScopedResources):
        def scope_started(self, kind, name, result):
            seen.append(("start", kind, name))

        def scope_ended(self, kind, name, result):
            seen.append(("end", kind, name))
            return ["gave back nothing"] if kind == "test" else ["suite problem"]

        def run_ended(self):
            seen.append(("run ended",))

    listener = ScopeListener(Holder())
    suite = SimpleNamespace(full_name="Top", name="Top", parent=None, message="")
    test = SimpleNamespace(full_name="Top.T", name="T", status="PASS", message="")
    listener.start_suite(None, suite)
    listener.start_test(None, test)
    assert (listener.scope.test, listener.scope.suite) == ("Top.T", "Top")
    listener.end_test(None, test)
    listener.end_suite(None, suite)
    listener.close()
    assert seen == [("start", "suite", "Top"), ("start", "test", "Top.T"),
                    ("end", "test", "Top.T"), ("end", "suite", "Top"), ("run ended",)]
    assert (test.status, test.message) == ("FAIL", "gave back nothing")  # fails its test
    assert suite.message == "suite problem" and listener.scope.suites == []


def test_a_ledger_owner_gets_the_ledger_hooks():
    from ExtremeTesting.lifecycle import Tracker

    tracker = Tracker(lambda: None)
    listener = ScopeListener(tracker)
    assert isinstance(listener.resources, LedgerScopes) and listener.owner is tracker
    listener.start_suite(None, SimpleNamespace(full_name="Top", name="Top", parent=None))
    assert tracker.scope.suites == ["Top"]

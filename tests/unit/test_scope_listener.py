"""One scope-ownership listener for every library that holds something per test or suite
(issue 24, "one foundation"): each gives Robot the lifecycle's ``ScopeListener``, none
hand-rolls ``start_suite``/``end_test``/``close``, and no module of the package gives
Robot a listener of its own (``ROBOT_LISTENER_API_VERSION``, ``ROBOT_LIBRARY_LISTENER``
other than a ``ScopeListener``, ``@library(listener=...)``)."""

from __future__ import annotations

import ast
import importlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import robot

from ExtremeTesting.lifecycle import LedgerScopes, ScopedResources, ScopeListener

PACKAGE = Path(__file__).resolve().parents[2] / "libraries" / "ExtremeTesting"
# Every library: each ``ExtremeTesting.<Name>`` facade (a new one is covered when added).
ALL_LIBRARIES = sorted(f.stem for f in PACKAGE.glob("*.py") if f.stem[:1].isupper())
# The libraries that hold something per test or suite, or follow the running test.
LIBRARIES = ["Load", "Monitor", "Cloud", "Policy", "Faults", "Changes", "Power", "Switch",
             "Safeguards", "Evidence"]
# The one place a listener API version may be declared: the one listener.
THE_LISTENER = ("lifecycle/listener.py", "ScopeListener")
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


@pytest.mark.parametrize("name", ALL_LIBRARIES)
def test_no_library_hand_rolls_a_listener(name, tmp_path, monkeypatch):
    cls = library(name)
    rolled = [m for m in LISTENER_METHODS + ("start_keyword",) for k in cls.__mro__
              if k.__module__.startswith("ExtremeTesting") and m in vars(k)
              and k is not ScopeListener]
    assert rolled == []
    assert not hasattr(cls, "ROBOT_LISTENER_API_VERSION")
    monkeypatch.setenv("EXTREME_TARGET", str(tmp_path / "no-target.yaml"))  # never read
    listener = getattr(library(name)(), "ROBOT_LIBRARY_LISTENER", None)
    assert listener is None or type(listener) is ScopeListener, listener


def listener_violations(source: str, path: str = "") -> list[str]:
    """Where ``source`` gives Robot a listener other than the one :class:`ScopeListener`:
    a ``ROBOT_LISTENER_API_VERSION`` (a module or class that is a listener itself; only
    :data:`THE_LISTENER` may), a ``ROBOT_LIBRARY_LISTENER`` set to anything but a
    ``ScopeListener(...)``, a ``listener=`` argument of ``@library``."""
    tree = ast.parse(source)
    allowed = {id(statement) for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
               and (path, node.name) == THE_LISTENER for statement in node.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "library":
            found += [f"line {node.lineno}: @library(listener={ast.unparse(k.value)})"
                      for k in node.keywords if k.arg == "listener"]
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for name in (_name(t) for t in targets):
            if name == "ROBOT_LISTENER_API_VERSION" and id(node) not in allowed:
                found.append(f"line {node.lineno}: its own ROBOT_LISTENER_API_VERSION")
            elif name == "ROBOT_LIBRARY_LISTENER" and not (
                    isinstance(node.value, ast.Call) and _name(node.value.func) == "ScopeListener"):
                value = ast.unparse(node.value) if node.value else "?"
                found.append(f"line {node.lineno}: ROBOT_LIBRARY_LISTENER = {value}")
    return found


def _name(node: ast.AST) -> str:
    return getattr(node, "id", None) or getattr(node, "attr", None) or ""


def test_no_module_of_the_package_gives_robot_a_listener_of_its_own():
    found = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        path = file.relative_to(PACKAGE).as_posix()
        if problems := listener_violations(file.read_text(encoding="utf-8"), path):
            found[path] = problems
    assert found == {}, ("Give Robot the lifecycle's ScopeListener (its hooks are in "
                         "ScopedResources) instead: " + json.dumps(found, indent=1))


@pytest.mark.parametrize("snippet, flagged", [
    ("class L:\n    ROBOT_LISTENER_API_VERSION = 3\n", 1),
    ("ROBOT_LISTENER_API_VERSION = 2\n", 1),
    ("class L:\n    def __init__(self):\n        self.ROBOT_LIBRARY_LISTENER = self\n", 1),
    ("class L:\n    ROBOT_LIBRARY_LISTENER: object = Other()\n", 1),
    ("@library(scope='GLOBAL', listener='SELF')\nclass L:\n    pass\n", 1),
    ("class L:\n    def __init__(self):\n"
     "        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)\n", 0),
    ("@library(scope='GLOBAL')\nclass L:\n    pass\n", 0),
])
def test_the_scan_finds_a_listener_of_its_own(snippet, flagged):
    assert len(listener_violations(snippet, "somewhere/library.py")) == flagged
    assert len(listener_violations("class ScopeListener:\n    ROBOT_LISTENER_API_VERSION = 3\n",
                                   THE_LISTENER[0])) == 0


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


RECORDER = """
import json

from ExtremeTesting.lifecycle import ScopedResources, ScopeListener


class FixtureRecorder(ScopedResources):
    def __init__(self, path):
        self.path = path
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)

    def _add(self, *event):
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\\n")

    def fixture_started(self, fixture, kind, name, result):
        self._add("started", fixture, kind, name)

    def fixture_ended(self, fixture, kind, name, result):
        self._add("ended", fixture, kind, name)
"""

SUITE = """*** Settings ***
Library           FixtureRecorder.py    ${EVENTS}
Suite Setup       Log    suite setup
Suite Teardown    Log    suite teardown

*** Test Cases ***
Case
    [Setup]    With Its Own Setup And Teardown
    With Its Own Setup And Teardown
    [Teardown]    Log    test teardown

*** Keywords ***
With Its Own Setup And Teardown
    [Setup]    Log    a user keyword's setup
    Log    body
    [Teardown]    Log    a user keyword's teardown
"""


def test_a_tests_and_a_suites_setup_and_teardown_reach_the_hooks_in_a_real_run(tmp_path):
    (tmp_path / "FixtureRecorder.py").write_text(RECORDER, encoding="utf-8")
    (tmp_path / "Fixtures.robot").write_text(SUITE, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    rc = robot.run(str(tmp_path / "Fixtures.robot"), outputdir=str(tmp_path), output="NONE",
                   log="NONE", report="NONE", pythonpath=[str(tmp_path)],
                   variable=[f"EVENTS:{events}"], stdout=io.StringIO(), stderr=io.StringIO())
    assert rc == 0
    seen = [tuple(json.loads(line)) for line in events.read_text().splitlines()]
    test = ("test", "Fixtures.Case")
    suite = ("suite", "Fixtures")
    # a user keyword's own setup and teardown (inside the test's setup and body) are not
    # the test's: they reach no hook
    assert seen == [("started", "setup", *suite), ("ended", "setup", *suite),
                    ("started", "setup", *test), ("ended", "setup", *test),
                    ("started", "teardown", *test), ("ended", "teardown", *test),
                    ("started", "teardown", *suite), ("ended", "teardown", *suite)]

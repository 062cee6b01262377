"""Bad target files: one line naming the file, the problem and the fix; nothing touched.

Every library loads without reading the target (libdoc works without a lab) and reports a
bad target at its first keyword; the CLI commands that take a target exit 2 with one line.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import robot
from ExtremeTesting import target as targets
from ExtremeTesting.errors import TargetError
from robot.api import ExecutionResult

REPORT_DATA = Path(__file__).parent / "data" / "report"
BAD = {
    # name: (file content or None for a folder, words the message must carry)
    "binary.yaml": (bytes(range(256)) * 4, "not a text file"),
    "nul.yaml": (b"name: x\x00\x01\x02\n", "binary file"),
    "nodes_list.yaml": (b"name: x\nnodes:\n  - ctl1\n  - ctl2\n", "'nodes' must be a mapping"),
    "node_entry.yaml": (b"nodes:\n  ctl1: 10.0.0.1\n", "'nodes.ctl1' must be a mapping"),
    "bmcs_text.yaml": (b"bmcs: ipmi\n", "'bmcs' must be a mapping"),
    "ssh_list.yaml": (b"ssh: [root]\n", "'ssh' must be a mapping"),
    "findings.yaml": (b"known_findings: {id: X}\n", "'known_findings' must be a list"),
    "destructive.yaml": (b"destructive: yes please\n", "'destructive' must be true or false"),
    "name_map.yaml": (b"name: {a: 1}\n", "'name' must be a single value"),
    "top_list.yaml": (b"- nodes\n- bmcs\n", "must be a mapping of sections"),
    "malformed.yaml": (b"name: x\nnodes: {ctl1: [1\nbmcs:\n  a: b\n", "not valid YAML"),
    "tabs.yaml": (b"nodes:\n\tctl1: {}\n", "not valid YAML"),
    "unknown.yaml": (b"name: x\nnodez: {}\n", "unknown sections: nodez"),
    "folder": (None, "is a folder"),
    "missing.yaml": (False, "does not exist"),
}


def make(tmp_path: Path, name: str) -> Path:
    content = BAD[name][0]
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif content is not False:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_target_is_one_line_naming_file_problem_and_fix(tmp_path, name):
    path = make(tmp_path, name)
    with pytest.raises(TargetError) as caught:
        targets.load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and BAD[name][1] in message
    error = caught.value  # no chained traceback behind the line
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    # the fix: every message tells what to do, not only what is wrong
    assert any(w in message for w in ("Fix", "Give", "Start the lab", "Known:")), message


def test_yaml_error_says_where():
    with pytest.raises(TargetError, match=r"at line 3, column 1"):
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"xt-yaml-{os.getpid()}.yaml"
        path.write_text("name: x\nnodes: {a: [1\n")
        try:
            targets.load(path)
        finally:
            path.unlink()


def test_a_wrong_value_is_never_echoed(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("bmcs: hunter2-secret\nname: x\n")
    with pytest.raises(TargetError) as caught:
        targets.load(path)
    assert "hunter2" not in str(caught.value)


def test_good_targets_still_load():
    root = Path(__file__).parents[2]
    for path in (root / "variables" / "example-3-controllers.yaml",
                 root / "tests" / "unit" / "data" / "suites" / "lab" / "target.yaml",
                 REPORT_DATA / "target.yaml"):
        assert targets.load(path).data


def test_no_target_at_all_is_none_but_a_named_bad_one_raises(tmp_path, monkeypatch):
    monkeypatch.delenv("EXTREME_TARGET", raising=False)
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path / "no-lab"))
    assert targets.load_if_any(None) is None
    with pytest.raises(TargetError, match="does not exist"):
        targets.load_if_any(tmp_path / "typo.yaml")
    monkeypatch.setenv("EXTREME_TARGET", str(make(tmp_path, "nodes_list.yaml")))
    with pytest.raises(TargetError, match="'nodes' must be a mapping"):
        targets.load_if_any(None)


SUITE = """\
*** Settings ***
Library    ExtremeTesting.Power    ${TARGET}
Library    ExtremeTesting.Switch    ${TARGET}
Library    ExtremeTesting.Monitor    ${TARGET}
Library    ExtremeTesting.Cloud    ${TARGET}
Library    ExtremeTesting.Load    ${TARGET}

*** Test Cases ***
Power
    Get Power State    ctl1
Switch
    Shut Down Switch Port    sw1    ctl1
Monitor
    Start Availability Monitor
Cloud
    Connect To Cloud
Load
    Get Leftover Load Resources
"""


@pytest.mark.parametrize("name", ["nodes_list.yaml", "binary.yaml", "malformed.yaml",
                                  "folder", "missing.yaml"])
def test_every_library_loads_and_reports_a_bad_target_at_its_first_keyword(tmp_path, name):
    bad = make(tmp_path, name)
    suite = tmp_path / "suite.robot"
    suite.write_text(SUITE)
    before = sorted(p.name for p in tmp_path.iterdir())
    stderr = io.StringIO()
    robot.run(str(suite), outputdir=str(tmp_path / "out"), log="NONE", report="NONE",
              variable=[f"TARGET:{bad}"], stdout=io.StringIO(), stderr=stderr)
    assert "Error in file" not in stderr.getvalue() and "failed" not in stderr.getvalue(), \
        stderr.getvalue()  # every library imported although the target is bad
    result = ExecutionResult(str(tmp_path / "out" / "output.xml"))
    tests = {t.name: t for t in result.suite.all_tests}
    assert set(tests) == {"Power", "Switch", "Monitor", "Cloud", "Load"}
    for test in tests.values():
        assert test.status == "FAIL"
        assert test.message.startswith(f"Target file {bad}"), (test.name, test.message)
        assert BAD[name][1] in test.message and "\n" not in test.message
        assert "Traceback" not in test.message
    # nothing written beside the target (no ledger, no state), nothing touched
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "out") == before


@pytest.mark.parametrize("library", ["Power", "Switch", "Monitor", "Cloud", "Load"])
def test_libdoc_works_without_a_lab(tmp_path, library):
    env = dict(os.environ, EXTREME_TARGET=str(make(tmp_path, "nodes_list.yaml")),
               EXTREME_LAB_DIR=str(tmp_path / "no-lab"))
    done = subprocess.run([sys.executable, "-m", "robot.libdoc", f"ExtremeTesting.{library}",
                           str(tmp_path / "doc.json")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "doc.json").stat().st_size > 1000


@pytest.mark.parametrize("name", ["nodes_list.yaml", "binary.yaml", "folder", "missing.yaml",
                                  "findings.yaml"])
def test_extreme_report_target_is_one_line_and_exit_2(tmp_path, name):
    bad = make(tmp_path, name)
    output = tmp_path / "output.xml"
    robot.run(str(REPORT_DATA / "suites" / "operational"), outputdir=str(tmp_path),
              log="NONE", report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
    done = subprocess.run([sys.executable, "-m", "ExtremeTesting.cli", "report", str(output),
                           "--target", str(bad), "-o", str(tmp_path / "r.html")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and BAD[name][1] in lines[0], done.stderr
    assert not (tmp_path / "r.html").exists()


def test_pabot_valuesets_bad_target_is_one_line(tmp_path):
    bad = make(tmp_path, "nodes_list.yaml")
    done = subprocess.run([sys.executable, "-m", "ExtremeTesting.load.pabot", "valuesets",
                           str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "'nodes' must be a mapping" in done.stderr

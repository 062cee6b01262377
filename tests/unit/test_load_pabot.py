"""pabot helpers: value sets from a target, and the serialisation checker — on records and
on real pabot runs of two small suites (with and without a lock)."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ExtremeTesting.load import pabot
from ExtremeTesting.load.pabot import NotSerialised, check, value_sets

TARGET = {
    "nodes": {"ctl1": {"address": "198.18.0.11", "roles": ["controller"],
                       "services": ["keystone", "nova-api"]},
              "cmp1": {"address": "198.18.0.21", "roles": ["compute"]}},
    "bmcs": {"ctl1": {"protocol": "ipmi", "address": "127.0.10.1", "port": 623,
                      "username": "admin", "password_env": "EXTREME_LAB_BMC_PASSWORD"}},
}


def test_value_sets_have_one_set_per_node_and_no_password():
    text = value_sets(TARGET)
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser.sections() == ["cmp1", "ctl1"]
    assert parser["ctl1"]["tags"] == "controller,keystone,nova-api"
    assert parser["ctl1"]["bmc_password_env"] == "EXTREME_LAB_BMC_PASSWORD"
    assert parser["cmp1"]["address"] == "198.18.0.21"
    assert "bmc_address" not in parser["cmp1"]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _suite(name, waiting, begin, end, events=True):
    marks = [{"suite": name, "mark": "waiting", "wall": waiting}]
    if events:
        marks += [{"suite": name, "mark": "event requested", "wall": begin},
                  {"suite": name, "mark": "event undone", "wall": end}]
    else:
        marks += [{"suite": name, "mark": "in effect", "wall": begin},
                  {"suite": name, "mark": "done", "wall": end}]
    return marks


def test_serialised_windows_pass(tmp_path):
    path = _write(tmp_path / "w.jsonl", _suite("A", 100.0, 100.1, 105.0)
                  + _suite("B", 100.05, 105.2, 110.0))
    windows = check(path)
    assert [w.suite for w in windows] == ["A", "B"]
    assert windows[1].begin - windows[1].waiting == pytest.approx(5.15)


def test_overlapping_windows_fail_with_the_overlap(tmp_path):
    path = _write(tmp_path / "w.jsonl", _suite("A", 100.0, 100.1, 105.0)
                  + _suite("B", 100.05, 103.0, 108.0, events=False))
    with pytest.raises(NotSerialised, match=r"overlap by 2.00 s"):
        check(path)


def test_suites_that_did_not_run_together_prove_nothing(tmp_path):
    path = _write(tmp_path / "w.jsonl", _suite("A", 100.0, 100.1, 105.0)
                  + _suite("B", 106.0, 106.1, 110.0))
    with pytest.raises(NotSerialised, match="did not run at the same time"):
        check(path)


def test_missing_or_partial_records_are_named(tmp_path):
    with pytest.raises(NotSerialised, match="windows of 0 suite"):
        check(tmp_path / "none.jsonl")
    path = _write(tmp_path / "w.jsonl", [{"suite": "A", "mark": "waiting", "wall": 1.0}])
    with pytest.raises(NotSerialised, match="Suite 'A' recorded"):
        check(path)


SUITE = """*** Settings ***
Library    pabot.PabotLib
Library    ExtremeTesting.load.pabot.Window

*** Test Cases ***
Hold
    Record Window Mark    waiting
    {acquire}
    Record Window Mark    in effect
    Sleep    1.5 s
    Record Window Mark    done
    {release}
"""


@pytest.mark.parametrize("locked", [True, False])
def test_a_real_pabot_run_is_judged_right(tmp_path, locked):
    suites = tmp_path / "suites"
    suites.mkdir()
    for name in ("one", "two"):
        (suites / f"{name}.robot").write_text(SUITE.format(
            acquire="Acquire Lock    destructive:lab" if locked else "No Operation",
            release="Release Lock    destructive:lab" if locked else "No Operation"))
    windows = tmp_path / "windows.jsonl"
    bin_dir = Path(sys.executable).parent  # pabot's workers call `robot` from PATH
    env = dict(os.environ, EXTREME_PABOT_WINDOWS=str(windows), PWD=str(tmp_path),
               PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]))
    run = subprocess.run([str(bin_dir / "pabot"), "--pabotlib", "--pabotlibport", "0",
                          "--processes", "2", "--outputdir",
                          str(tmp_path / "out"), str(suites)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    if locked:
        found = check(windows)
        assert found[1].begin >= found[0].end
        assert pabot.main(["check", str(windows)]) == 0
    else:
        with pytest.raises(NotSerialised, match="overlap"):
            check(windows)
        assert pabot.main(["check", str(windows)]) == 1

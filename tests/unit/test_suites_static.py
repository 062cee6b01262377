"""The acceptance suites, checked without a cloud.

Every suite must pass ``robot --dryrun`` with the lab's variable file reading a fixture copy
of the lab's target file (tests/unit/data/suites/lab/target.yaml, never reached), be clean
under ``robocop check`` and ``robocop format --check``, tag each case with its area and
its fault (or fault:none), carry the suite metadata the sign-off report groups by, and be
listed once in the pabot ordering file. The variable file's merging and the known-finding
tagging are run for real.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from robot.api import ExecutionResult, ResultVisitor
from robot.api import TestSuite as RobotSuite
from ExtremeTesting import findings as findings_module
from ExtremeTesting.report.model import AREAS as REPORT_AREAS
from robot.result import TestCase as RobotCase

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
RESOURCES = ROOT / "resources"
VARIABLES = ROOT / "variables"
FIXTURE = ROOT / "tests" / "unit" / "data" / "suites" / "lab" / "target.yaml"
AREAS = set(REPORT_AREAS)
FAULTS = {"power", "switch", "service", "database", "messaging", "network", "none"}

sys.path.insert(0, str(VARIABLES))
import lab  # noqa: E402  (variables/lab.py, the variable file under test)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["EXTREME_TARGET"] = str(FIXTURE)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _suite_files() -> list[Path]:
    return sorted(SUITES.rglob("*.robot"))


@pytest.fixture(scope="module")
def parsed() -> RobotSuite:
    return RobotSuite.from_file_system(str(SUITES))


def _tests(suite: RobotSuite):
    for test in suite.tests:
        yield suite, test
    for child in suite.suites:
        yield from _tests(child)


def test_every_area_has_suites():
    for area in AREAS:
        assert list((SUITES / area).glob("*.robot")), f"no suite in suites/{area}"


def test_every_suite_folder_is_a_report_area():
    folders = {path.name for path in SUITES.iterdir() if path.is_dir()}
    assert folders == AREAS, f"suites/ folders {sorted(folders)}, report areas {sorted(AREAS)}"


def test_dry_run_of_every_suite_passes_without_errors(tmp_path):
    output = tmp_path / "output.xml"
    run = subprocess.run(
        [sys.executable, "-m", "robot", "--dryrun", "--variablefile",
         str(VARIABLES / "lab.py"), "--output", str(output), "--log", "NONE",
         "--report", "NONE", "--console", "none", str(SUITES)],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    result = ExecutionResult(str(output))
    failed = []
    result.suite.visit(_FailedTests(failed))
    assert not failed, "\n".join(failed)
    errors = [m.message for m in result.errors.messages if m.level in {"ERROR", "WARN"}]
    assert not errors, "\n".join(errors)
    assert result.suite.statistics.total >= 60, run.stdout[-2000:]
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


class _FailedTests:
    def __init__(self, found: list[str]):
        self.found = found

    def start_suite(self, suite):
        pass

    def end_suite(self, suite):
        pass

    def visit_suite(self, suite):
        for test in suite.tests:
            if test.status != "PASS":
                self.found.append(f"{test.full_name}: {test.message}")
        for child in suite.suites:
            child.visit(self)


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_robocop_is_clean_on_suites_and_resources(command):
    run = subprocess.run([sys.executable, "-m", "robocop", *command, "suites", "resources"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_every_case_has_its_area_and_fault_tags(parsed):
    problems = []
    for suite, test in _tests(parsed):
        tags = [str(t) for t in test.tags]
        area = Path(str(suite.source)).parent.name
        areas = [t.split(":", 1)[1] for t in tags if t.startswith("area:")]
        faults = [t.split(":", 1)[1] for t in tags if t.startswith("fault:")]
        if areas != [area]:
            problems.append(f"{test.full_name}: area tags {areas}, expected ['{area}']")
        if not faults or not set(faults) <= FAULTS:
            problems.append(f"{test.full_name}: fault tags {faults}, expected some of "
                            f"{sorted(FAULTS)}")
        if "none" in faults and len(faults) > 1:
            problems.append(f"{test.full_name}: fault:none with other faults {faults}")
        if any(t.lower().startswith("known") for t in tags):
            problems.append(f"{test.full_name}: a known finding is hard-coded ({tags}); list "
                            f"it in the target's known_findings instead")
        if area == "destructive" and faults == ["none"]:
            problems.append(f"{test.full_name}: a destructive case without a fault tag")
    assert not problems, "\n".join(problems)


def test_every_suite_has_requirement_and_scenario_metadata(parsed):
    problems = []
    for suite in {s for s, _ in _tests(parsed)}:
        for key in ("Requirement", "Scenario"):
            if not str(suite.metadata.get(key, "")).strip():
                problems.append(f"{suite.source}: no Metadata {key}")
        if not str(suite.doc).strip():
            problems.append(f"{suite.source}: no Documentation")
    assert not problems, "\n".join(problems)


def test_destructive_cases_take_the_lock_and_restore(parsed):
    for suite, test in _tests(parsed):
        if Path(str(suite.source)).parent.name != "destructive" and \
                not any(str(t).startswith("fault:") and str(t) != "fault:none"
                        for t in test.tags):
            continue
        assert test.setup.name == "Prepare A Destructive Case", test.full_name
        assert test.teardown.name in {"Finish A Destructive Case", "Finish A Change Case",
                                      "Finish A Destructive Case And Delete Its Servers"}, \
            test.full_name


def test_every_destructive_case_that_measures_judges_the_partial_outage(tmp_path):
    # Failures that alternate with successes (one backend of two black-holed) make
    # one-sample outages: only the partial-outage verdict sees them. The dry run expands
    # every keyword a case runs (the IF branches included).
    output = tmp_path / "output.xml"
    subprocess.run(
        [sys.executable, "-m", "robot", "--dryrun", "--variablefile",
         str(VARIABLES / "lab.py"), "--output", str(output), "--log", "NONE",
         "--report", "NONE", "--console", "none", str(SUITES / "destructive")],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    measured, judged = set(), set()

    class Calls(ResultVisitor):
        def start_keyword(self, keyword):
            test = keyword
            while test is not None and not isinstance(test, RobotCase):
                test = test.parent
            if test is None:
                return
            if keyword.name == "Stop Measuring Availability":
                measured.add(test.full_name)
            elif keyword.name == "Partial Outage Should Stay Within":
                judged.add(test.full_name)

    ExecutionResult(str(output)).visit(Calls())
    assert len(measured) >= 25
    assert measured <= judged, sorted(measured - judged)


@pytest.mark.parametrize("target", ["example-3-controllers.yaml", "lab"])
def test_every_destructive_scenario_has_partial_outage_limits(target):
    found = lab.get_variables(str(FIXTURE if target == "lab" else VARIABLES / target))
    scenarios = set()
    for path in sorted((SUITES / "destructive").glob("*.robot")):
        scenarios |= set(re.findall(r"Use The Expectations Of\s{2,}(\w+)",
                                    path.read_text(encoding="utf-8")))
    assert scenarios
    for scenario in scenarios:
        limits = found["expectations"][scenario]
        for key in ("failed_share", "failing_time"):
            value = limits[key]
            cases = value.values() if isinstance(value, dict) else [value]
            assert all(isinstance(v, (int, float)) and v >= 0 for v in cases), (scenario, key)
    restart = found["expectations"]["service_restart"]
    assert set(restart["failed_share"]) == set(restart["failing_time"]) == {
        "restart", "kill", "freeze", "all_nodes"}


def test_no_password_login_and_no_credentials_in_robot_files():
    for path in [*_suite_files(), *RESOURCES.glob("*.resource")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s+(SSHLibrary\.)?Login\s{2,}", text, re.M), \
            f"{path}: SSHLibrary's Login logs the password; use Login With Public Key"
        assert not re.search(r"--variable|password\s*=", text, re.I), path


def test_target_files_name_credentials_only_by_environment_variable():
    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                if re.search(r"(^|_)(password|passwd|secret)(_|$)", str(key), re.I):
                    assert str(key).endswith("_env"), f"{where}.{key} holds a credential"
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")

    for path in [*VARIABLES.glob("*.yaml"), FIXTURE]:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


def test_ordering_file_lists_every_suite_once_in_stages(parsed):
    lines = [line.strip() for line in (SUITES / "order.txt").read_text().splitlines()
             if line.strip()]
    listed = [line[len("--suite "):] for line in lines if line.startswith("--suite ")]
    actual = sorted(s.full_name for s in {s for s, _ in _tests(parsed)})
    assert sorted(listed) == actual
    assert len(listed) == len(set(listed))
    stages = " ".join(lines).split("#WAIT")
    assert [("Operational" in s, "Destructive" in s, "Concurrent" in s) for s in stages] == [
        (True, False, False), (False, True, False), (False, False, True)]


def test_lab_variables_merge_the_lab_overlay_and_the_defaults(monkeypatch):
    monkeypatch.setenv("EXTREME_TARGET", str(FIXTURE))
    found = lab.get_variables()
    assert found["TARGET"] == str(FIXTURE.resolve())
    assert found["DESTRUCTIVE LOCK"] == "destructive:lab"
    assert found["CONTROLLERS"] == ["ctl1", "ctl2"]
    assert "keystone" in found["API SERVICES"] and "mariadb" not in found["API SERVICES"]
    rabbit = found["expectations"].rabbitmq_outage
    assert rabbit.down_for == 20 and rabbit.settle == 60  # own key, then default's
    assert "max_outage" not in found["expectations"].workloads  # not merged
    assert {k.id for k in found["known_findings"]} == {"LAB-RABBIT-1", "LAB-RABBIT-2",
                                                   "LAB-DB-1", "LAB-DB-2", "LAB-DB-3", "LAB-NET-1",
                                                   "LAB-NET-2", "LAB-NET-3"}
    assert found["nodes"].ctl1.address == "198.18.0.11"


def test_another_target_is_used_as_it_is(tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_text("name: other\ncloud: other\nexpectations:\n  default: {recovery: 7}\n"
                    "  switch_restart: {down_for: 3}\n")
    found = lab.get_variables(str(path))
    assert found["known_findings"] == []
    assert found["expectations"].switch_restart == {"recovery": 7, "down_for": 3}
    assert found["DESTRUCTIVE LOCK"] == "destructive:other"


def test_example_target_loads_and_names_every_scenario_the_suites_use():
    found = lab.get_variables(str(VARIABLES / "example-3-controllers.yaml"))
    used = set()
    for path in _suite_files():
        used |= set(re.findall(r"Use The Expectations Of\s{2,}(\w+)",
                               path.read_text(encoding="utf-8")))
    assert used and used <= set(found["expectations"])
    workloads = set(found["expectations"].workloads)
    lab_found = lab.get_variables(str(FIXTURE))
    assert used <= set(lab_found["expectations"])
    assert set(lab_found["expectations"].workloads) == workloads


KNOWN_SUITE = """\
*** Settings ***
Resource    {resources}/common.resource

*** Test Cases ***
Servers Requested During A RabbitMQ Outage Become Active Once It Is Back
    Mark Known Findings Of This Test

Something Else Entirely
    Mark Known Findings Of This Test
"""


def test_known_findings_of_the_target_become_tags(tmp_path):
    suite = tmp_path / "known.robot"
    suite.write_text(KNOWN_SUITE.format(resources=RESOURCES))
    output = tmp_path / "output.xml"
    run = subprocess.run([sys.executable, "-m", "robot", "--output", str(output), "--log",
                          "NONE", "--report", "NONE", "--console", "none", str(suite)],
                         env=_env(), cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    tests = {t.name: list(t.tags) for t in ExecutionResult(str(output)).suite.tests}
    assert tests["Servers Requested During A RabbitMQ Outage Become Active Once It Is Back"] \
        == ["known:LAB-RABBIT-1"]
    assert tests["Something Else Entirely"] == []


NO_EXPECTATIONS_SUITE = """\
*** Settings ***
Resource    {resources}/destructive.resource

*** Test Cases ***
A Case Read By A Resource Keyword
    Keep Measuring Until The Cloud Had Time To Recover

A Case Read By The Case Itself
    Log    ${{LIMITS.recovery}}

A Dictionary Read
    The Partial Outage Should Stay Within The Limits

After The Suite Chose Its Expectations
    Use The Expectations Of    service_restart
    Should Be Equal    ${{LIMITS.recovery}}    ${{expectations.service_restart.recovery}}
"""


def test_limits_read_before_use_the_expectations_of_fail_naming_it(tmp_path):
    # No suite setup: every read of ${LIMITS} (a resource keyword's, the case's own, a
    # dictionary look-up) fails at once naming the keyword the suite forgot, not Robot's
    # "variable not found"; once it ran, the limits are the target's.
    suite = tmp_path / "no_expectations.robot"
    suite.write_text(NO_EXPECTATIONS_SUITE.format(resources=RESOURCES))
    output = tmp_path / "output.xml"
    subprocess.run([sys.executable, "-m", "robot", "--output", str(output), "--log", "NONE",
                    "--report", "NONE", "--console", "none", str(suite)],
                   env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    tests = {t.name: t for t in ExecutionResult(str(output)).suite.tests}
    for name in ("A Case Read By A Resource Keyword", "A Case Read By The Case Itself",
                 "A Dictionary Read"):
        assert tests[name].status == "FAIL", name
        assert "call `Use The Expectations Of    <scenario>` in its Suite Setup" \
            in tests[name].message, (name, tests[name].message)
        assert "not found" not in tests[name].message, tests[name].message
    assert tests["After The Suite Chose Its Expectations"].status == "PASS", \
        tests["After The Suite Chose Its Expectations"].message


DELETED_TWICE_2026_12_07 = (  # the main job's message, word for word
    "Requests were not all accounted for between 03:14:50.626 (t=0.000 s) and 03:15:53.057 "
    "(t=62.431 s): write-network: {n} deleted twice: xt-mon-default-18d765-write-network-22 "
    "(our DELETE answered 404 although the resource was there just before it: an earlier "
    "attempt of that DELETE had deleted it; create req-80fd05fe-25f4-4494-8ac0-a83ea9aeea0f, "
    "delete req-3b775dee-e550-438d-bd38-545abeaf01a3)")


def _deleted_twice_now():
    """The same failure as the monitor words it today: the reason comes from `reconcile`, so
    a change of its wording that the signature no longer matches fails here."""
    from ExtremeTesting.monitor.reconcile import Write, reconcile
    write = Write(name="xt-mon-default-18d765-write-network-22", probe="write-network",
                  sent=0.0, accepted=True, resource_id="1", delete_sent=True,
                  missing_at_delete=True, seen_before_delete=True,
                  create_request_id="req-80fd05fe-25f4-4494-8ac0-a83ea9aeea0f",
                  delete_request_id="req-3b775dee-e550-438d-bd38-545abeaf01a3")
    [item] = reconcile([write], []).deleted_twice
    return ("Requests were not all accounted for between 03:14:50.626 (t=0.000 s) and "
            "03:15:53.057 (t=62.431 s): write-network: {n} deleted twice: "
            f"{item['name']} ({item['why']}; {item['request_ids']})")


DELETED_TWICE = _deleted_twice_now()


def _duplicated_now():
    """06:19 the same day: a create that timed out made two networks, as the monitor words
    it today (reason from `reconcile`, request ids and send time from the library)."""
    from ExtremeTesting.monitor import Monitor
    from ExtremeTesting.monitor.reconcile import Held, Write, reconcile
    name = "xt-mon-default-b91d46-write-network-7"
    write = Write(name=name, probe="write-network", sent=6.909, error="timeout after 5 s")
    [item] = reconcile([write], [Held(name, "1"), Held(name, "2")], origin=0.0).duplicates
    ids = Monitor._request_ids({"origin_wall": 1796624379.353}, item)
    return f"write-network: 1 duplicated: {name} ({item['why']}; {ids})"


def _lab_findings():
    """The lab's known findings, as the report reads them."""
    data = yaml.safe_load((ROOT / "variables" / "lab-expectations.yaml").read_text())
    return findings_module.parse(data["known_findings"])


def test_lab_db_3_covers_one_delete_answered_404_in_the_whole_cluster_restart_only():
    """The main job of 2026-12-07's message is explained; two such deletes, a lost write, or
    the same message in another case are not."""
    listed = _lab_findings()
    case = "The Database Comes Back After The Whole Cluster Restarts"
    suite = "Suites.Destructive.Database Cluster"
    candidates = findings_module.for_test(listed, case, f"{suite}.{case}")
    assert [f.id for f in candidates] == ["LAB-DB-3"]
    assert findings_module.explaining(candidates, [DELETED_TWICE.format(n=1)]).id == "LAB-DB-3"
    assert findings_module.explaining(
        candidates, [DELETED_TWICE_2026_12_07.format(n=1)]).id == "LAB-DB-3"
    assert findings_module.explaining(candidates, [DELETED_TWICE.format(n=2)]) is None
    # 06:19 the same day: one create made two networks, alone or with a delete answered 404
    duplicated = _duplicated_now()
    assert ", create sent at " in duplicated
    as_it_was = ("Requests were not all accounted for between 06:19:39.353 (t=0.000 s) and "
                 "06:20:41.003 (t=61.650 s): write-network: 1 duplicated: xt-mon-default-b91d46-"
                 "write-network-7 (held 2 times; no request id) | write-network: 1 deleted "
                 "twice: xt-mon-default-b91d46-write-network-22 (our DELETE answered 404 "
                 "although the resource was there just before it: an earlier attempt of that "
                 "DELETE had deleted it; create req-665bd8d3-5644-411f-8262-ad9aca3d6fed, "
                 "delete req-ddadfb8e-6806-4b7c-be44-225b7c101d29)")
    assert findings_module.explaining(candidates, [as_it_was]).id == "LAB-DB-3"
    head, tail = DELETED_TWICE.format(n=1).split(": write-network: ", 1)
    both = f"{head}: {duplicated} | write-network: {tail}"
    assert findings_module.explaining(candidates, [both]).id == "LAB-DB-3"
    assert findings_module.explaining(candidates, [f"{head}: {duplicated}"]).id == "LAB-DB-3"
    # the same retry, as the monitor words it when its delete removed one of the two
    made_two = _one_create_made_two(accepted=True, deleted=True, held=1).split(
        ": write-network: ", 1)[1]
    assert findings_module.explaining(
        candidates, [f"{head}: write-network: {made_two}"]).id == "LAB-DB-3"
    assert findings_module.explaining(
        candidates, [f"{head}: write-network: {made_two} | write-network: {tail}"]).id == "LAB-DB-3"
    for not_it in (f"{head}: {duplicated.replace('1 duplicated', '2 duplicated')}",
                   f"{head}: {duplicated.replace('held 2 times', 'held 3 times')}",
                   f"{head}: {duplicated} | write-network: 1 lost: x (accepted, never "
                   f"deleted, not held; create req-1)",
                   f"{head}: ", f"{head}: {duplicated} | "):
        assert findings_module.explaining(candidates, [not_it]) is None, not_it
    lost = DELETED_TWICE.format(n=1).replace("1 deleted twice", "1 lost")
    assert findings_module.explaining(candidates, [lost]) is None
    other = "No Request Is Lost When The Database Writer Goes"
    assert not findings_module.for_test(listed, other, f"{suite}.{other}")


def _one_create_made_two(*, accepted: bool, deleted: bool, held: int) -> str:
    """LAB-DB-2's message as the monitor words it today: reason from `reconcile`, request ids
    and send time from the library (the CI of 2026-12-07 09:14: accepted, then deleted)."""
    from ExtremeTesting.monitor import Monitor
    from ExtremeTesting.monitor.reconcile import Held, Write, reconcile
    name = "xt-mon-default-5b1c0e-write-network-9"
    write = Write(name=name, probe="write-network", sent=12.5, accepted=accepted,
                  resource_id="net-a" if accepted else "",
                  create_request_id="req-05053f89-8267-4211-95ca-4e866b337eb9" if accepted
                  else "", error="" if accepted else "timeout after 5 s",
                  delete_sent=deleted, deleted=deleted,
                  delete_request_id="req-2268e2fd-054b-4989-a952-675eb02cd84b" if deleted
                  else "")
    kept = [Held(name, f"net-{i}") for i in "bcdefg"[:held]]
    if accepted and not deleted:
        kept = [Held(name, "net-a"), *kept[:held - 1]]
    [item] = reconcile([write], kept, origin=0.0).duplicates
    ids = Monitor._request_ids({"origin_wall": 1796634837.275}, item)
    return ("Requests were not all accounted for between 09:13:57.275 (t=0.000 s) and "
            f"09:14:31.787 (t=34.512 s): write-network: 1 duplicated: {name} "
            f"({item['why']}; {ids})")


def test_lab_db_2_covers_creates_in_flight_made_twice_in_the_mariadb_outage_only():
    """One to three creates that each made two networks are explained in each of the
    monitor's three wordings; four such creates, three networks of one create, a lost
    write, or another case are not."""
    listed = _lab_findings()
    case = "MariaDB Down For A While Loses No Request"
    suite = "Suites.Destructive.Database Outage"
    candidates = findings_module.for_test(listed, case, f"{suite}.{case}")
    assert [f.id for f in candidates] == ["LAB-DB-2"]
    timed_out = _one_create_made_two(accepted=False, deleted=False, held=2)
    answered = _one_create_made_two(accepted=True, deleted=False, held=2)
    deleted = _one_create_made_two(accepted=True, deleted=True, held=1)
    assert "no request id, create sent at 09:14:09.775" in timed_out
    assert "(held 2 times; create req-05053f89" in answered
    assert "one request made 2; create req-05053f89" in deleted
    for message in (timed_out, answered, deleted):
        assert findings_module.explaining(candidates, [message]).id == "LAB-DB-2", message
    # 2026-12-07 10:48: two creates in flight when MariaDB died, 3 s apart, each made two
    head, entry = timed_out.split(": write-network: 1 duplicated: ")
    two = f"{head}: write-network: 2 duplicated: {entry}; {entry.replace('-9 (', '-12 (')}"
    assert findings_module.explaining(candidates, [two]).id == "LAB-DB-2"
    four = f"{head}: write-network: 4 duplicated: " + "; ".join([entry] * 4)
    not_it = [_one_create_made_two(accepted=False, deleted=False, held=3),
              _one_create_made_two(accepted=True, deleted=True, held=2),
              four, two.replace("; xt-", "; xt-x (held 3 times; no request id); xt-"),
              f"{timed_out} | write-network: 1 lost: x (accepted, never deleted, not held; "
              f"create req-1)"]
    for message in not_it:
        assert findings_module.explaining(candidates, [message]) is None, message
    other = "No Request Is Lost When The Database Writer Goes"
    assert not findings_module.for_test(listed, other, f"Suites.Destructive.X.{other}")


SWITCH_SECOND_OUTAGE = (  # the main job of 2026-12-07 06:00, word for word
    "Longest data-plane outage, expected below 27 s: north-south: 27.313 s (± 0.118 s) from "
    "06:00:50.880 (t=18.675 s) to 06:01:18.193 (t=45.988 s), 2 outage(s), 1709 of 5977 "
    "packets lost; errors {'no echo reply within 0.5 s': 546, 'timeout after 0.15 s': 546}.")


def test_lab_net_3_covers_a_second_outage_after_the_switch_is_back_only():
    """The router's second, late outage is explained; the switch's own outage running long
    (it starts a few seconds in), a third outage, a minute or more, both paths at once, a
    lower limit, or the same message in another case are not."""
    listed = _lab_findings()
    case = "Services Recover By Themselves After A Switch Restart"
    suite = "Suites.Destructive.Switch Restart"
    candidates = findings_module.for_test(listed, case, f"{suite}.{case}")
    assert [f.id for f in candidates] == ["LAB-NET-3"]
    assert findings_module.explaining(candidates, [SWITCH_SECOND_OUTAGE]).id == "LAB-NET-3"
    east_west = SWITCH_SECOND_OUTAGE.replace("north-south", "east-west")
    assert findings_module.explaining(candidates, [east_west]).id == "LAB-NET-3"
    not_it = [
        SWITCH_SECOND_OUTAGE.replace("(t=18.675 s)", "(t=2.875 s)"),  # the switch's own
        SWITCH_SECOND_OUTAGE.replace("2 outage(s)", "3 outage(s)"),
        SWITCH_SECOND_OUTAGE.replace("27.313 s (", "61.313 s ("),
        SWITCH_SECOND_OUTAGE.replace("expected below 27 s", "expected below 21 s"),
        SWITCH_SECOND_OUTAGE[:-1] + " | " + east_west.split(": ", 1)[1],  # both paths
    ]
    for message in not_it:
        assert findings_module.explaining(candidates, [message]) is None, message
    other = "Services Recover By Themselves After A Controller Shutdown"
    assert not findings_module.for_test(listed, other, f"Suites.Destructive.X.{other}")


def test_lab_db_1_covers_hung_requests_and_their_aftermath_once_the_database_is_back():
    """The hung load; then, once the database is back, a late recovery (under 30 s) and
    probes timing out (or 503) for a while, each still serving some requests. Another
    error, a probe failing every request or for 10 s or more, a recovery 30 s late, or a
    cloud that did not recover are not it."""
    listed = _lab_findings()
    case = "Requests Do Not Hang While The Database Is Cut Off"
    suite = "Suites.Destructive.Database Outage"
    candidates = findings_module.for_test(listed, case, f"{suite}.{case}")
    assert [f.id for f in candidates] == ["LAB-DB-1"]
    window = "(from 13:53:45.910 (t=24.923 s) to 13:53:57.676 (t=36.689 s))"
    token = (f"Partial outage after recovery {window}: token (identity: keystone): 24 of 116 "
             "requests failed (20.69 %, limit 10 %), failing 2.412 s (± 0.259 s) in 13 "
             "outage(s) (limit 2 s); errors {ERRORS}.")
    hung = ("Load xload-ff3b-1: the longest iteration took 25158 ms, expected below 5000 ms "
            "(72 iterations of 'issue token', rate, 2.0/s, 30 failed; see xload-ff3b-1.png).")
    # A lab just up, 2026-12-07 17:20 (AMD EPYC 2-core machine), as the monitor worded it.
    late = ("overall recovered 12.863 s (± 0.251 s) after the fault ended at 17:20:47.666 "
            "(t=29.801 s) (served again from 17:21:00.530 (t=42.664 s)), expected within 10 s.")
    several = ("Partial outage after recovery (from 17:21:00.530 (t=42.664 s) to 17:21:01.478 "
               "(t=43.613 s)): read-networks (network: neutron-server): 8 of 13 requests "
               "failed (61.54 %, limit 10 %), failing 4.004 s (± 0.662 s) in 4 outage(s) "
               "(limit 2 s); errors {'timeout after 2 s': 65} | read-projects (identity: "
               "keystone): 6 of 21 requests failed (28.57 %, limit 10 %), failing 3.000 s "
               "(± 0.687 s) in 4 outage(s) (limit 2 s); errors {'HTTP 503': 35, 'timeout "
               "after 1 s': 11} | token (identity: keystone): 7 of 52 requests failed "
               "(13.46 %, limit 10 %), failing 1.325 s (± 0.388 s) in 7 outage(s) (limit "
               "2 s); errors {'HTTP 503': 92, 'timeout after 1 s': 40}.")
    explained = [hung, token.replace("ERRORS", "'timeout after 1 s': 20, 'HTTP 503': 4"),
                 token.replace("ERRORS", "'timeout after 1 s': 24"), late, several]
    assert findings_module.explaining(candidates, explained).id == "LAB-DB-1"
    not_it = [token.replace("ERRORS", "'HTTP 500': 24"),
              several.replace("'HTTP 503': 35", "'HTTP 500': 35"),
              token.replace("ERRORS", "'timeout after 1 s': 24").replace("20.69 %", "100.00 %"),
              several.replace("failing 3.000 s", "failing 10.500 s"),
              late.replace("recovered 12.863 s", "recovered 31.863 s"),
              "overall had not recovered when the monitor stopped: failing since 13:53:50.000"]
    for message in not_it:
        assert findings_module.explaining(candidates, [hung, message]) is None, message

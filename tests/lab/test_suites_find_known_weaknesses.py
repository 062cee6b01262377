"""The acceptance suites detect the lab's known weaknesses, and pass where the lab holds.

Runs the database and RabbitMQ outage suites against the clustered lab, as the main job
does. LAB-DB-1 (every database member cut off: requests hang) must FAIL with the message
its finding describes, and the sign-off report must file it under known findings rather than
as a new failure. LAB-RABBIT-1 (a server requested during a whole-RabbitMQ outage ends in
ERROR) is intermittent on the clustered lab: its case either FAILS with exactly the
message its finding describes (known) or PASSES (its finding is marked intermittent: the
report says it did not show in this run and accepts the run); any other failure is new.
The other cases of these suites must PASS: the whole database or message bus down and
back loses no request. LAB-DB-2 (the whole database down: one create of the monitor done
twice) is intermittent like LAB-RABBIT-1.
"""

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from robot.api import ExecutionResult

from ExtremeTesting.report import model

ROOT = Path(__file__).resolve().parents[2]
SUITES = ["suites/destructive/database_outage.robot", "suites/destructive/rabbitmq_outage.robot"]


def test_known_weaknesses_fail_and_are_reported_as_known(running_lab, tmp_path):
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    subprocess.run([str(bindir / "robot"), "--outputdir", str(tmp_path), "--loglevel", "DEBUG",
                    *SUITES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    result = ExecutionResult(str(tmp_path / "output.xml"))
    tests = {t.name: t for t in result.suite.all_tests}
    known = {name: t for name, t in tests.items()
             if any(tag.startswith("known:") for tag in t.tags)}
    assert len(known) == 3 and len(tests) == 4, sorted(tests)
    others = {name: (t.status, t.message) for name, t in tests.items() if name not in known}
    assert all(status == "PASS" for status, _ in others.values()), others
    findings = yaml.safe_load((ROOT / "variables" / "lab-expectations.yaml").read_text(
        encoding="utf-8"))["known_findings"]
    reproduced, passed = 0, []
    for name, test in known.items():
        (finding,) = [f for f in findings if fnmatch.fnmatchcase(name, f["test"])]
        if test.status == "PASS" and finding.get("intermittent"):
            passed.append(finding["id"])
            continue
        assert test.status == "FAIL", f"{name} passed: the known weakness was not detected"
        # It says what broke: each of its failures (each failed keyword's message, as the
        # sign-off report reads them) is the failure its finding describes.
        failures = model.failures_of(test)
        assert failures and all(re.search(finding["failure"], f, re.DOTALL)
                                for f in failures), (name, failures)
        reproduced += 1
    report = subprocess.run(
        [str(bindir / "extreme"), "report", str(tmp_path / "output.xml"), "--target",
         os.environ["EXTREME_TARGET"], "-o", str(tmp_path / "signoff.html")],
        env=env, capture_output=True, text=True, timeout=300)
    # Known only when every failure of each case matches its finding's `failure` signature
    # (variables/lab-expectations.yaml); the report's exit status is the verdict's.
    assert report.returncode == 0, report.stdout + report.stderr
    assert re.search(rf"\b{reproduced} known findings\b", report.stdout), report.stdout
    for finding_id in passed:
        # An intermittent finding that did not show blocks nothing and is said as such.
        assert f"known finding {finding_id} (intermittent) did not show in this run" in \
            report.stdout, report.stdout
    assert "did not reproduce" not in report.stdout

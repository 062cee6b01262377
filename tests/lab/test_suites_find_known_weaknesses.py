"""The acceptance suites detect the lab's known weaknesses (shared/FINDINGS.md).

Runs the database and RabbitMQ outage suites against the lab, as the main job does, and
checks that each case the lab's target lists as a known finding FAILED with a message that
says what broke, and that the sign-off report files it under known findings rather than as a
new failure. A PASS here would mean the suites no longer see a weakness the lab has.
"""

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from robot.api import ExecutionResult

ROOT = Path(__file__).resolve().parents[2]
SUITES = ["suites/destructive/database_outage.robot", "suites/destructive/rabbitmq_outage.robot"]


def test_known_weaknesses_fail_and_are_reported_as_known(running_lab, tmp_path):
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    subprocess.run([str(bindir / "robot"), "--outputdir", str(tmp_path), "--loglevel", "DEBUG",
                    *SUITES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    result = ExecutionResult(str(tmp_path / "output.xml"))
    known = {t.name: t for t in result.suite.all_tests
             if any(tag.startswith("known:") for tag in t.tags)}
    assert len(known) == 2, sorted(known)
    findings = yaml.safe_load((ROOT / "variables" / "lab-expectations.yaml").read_text(
        encoding="utf-8"))["known_findings"]
    for name, test in known.items():
        assert test.status == "FAIL", f"{name} passed: the known weakness was not detected"
        # It says what broke: the message is the failure its finding describes.
        (finding,) = [f for f in findings if fnmatch.fnmatchcase(name, f["test"])]
        assert re.search(finding["failure"], test.message), (name, test.message)
    report = subprocess.run(
        [str(bindir / "extreme"), "report", str(tmp_path / "output.xml"), "--target",
         os.environ["EXTREME_TARGET"], "-o", str(tmp_path / "signoff.html")],
        env=env, capture_output=True, text=True, timeout=300)
    # Known only when every failure of each case matches its finding's `failure` signature
    # (variables/lab-expectations.yaml); the report's exit status is the verdict's.
    assert report.returncode == 0, report.stdout + report.stderr
    assert re.search(r"\b2 known findings\b", report.stdout), report.stdout
    assert "did not reproduce" not in report.stdout

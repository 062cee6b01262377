"""A service frozen on one node leads to that node's service lines in the evidence of the
failed case: in output.xml (the record), in log.html (the full excerpt), in the sign-off
report (beside the case), with no credential anywhere (the leak scan over every file).

Destructive: it freezes nova-api on ctl1 for 6 s (undone by the case's teardown, and by
`extreme recover` if the run dies). Prints the figures: evidence fetch time, size added.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from robot.api import ExecutionResult, ResultVisitor

from ExtremeTesting import results
from ExtremeTesting import target as targets
from ExtremeTesting.lab import leakscan, targetfile

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "lab" / "data" / "evidence.robot"  # not in robot/: run here only
TIMEOUTS = ROOT / "tests" / "lab" / "data" / "evidence_timeouts.robot"


def _target_with_logs(folder: Path) -> Path:
    """The lab's target, with its logs section (a lab built before it existed lacks it; a
    lab built by another branch may hold sections this one does not know: left out)."""
    path = targets.default_target_path()
    data = yaml.safe_load(path.read_text())
    if data.get("logs") and set(data) <= targets.KNOWN_KEYS:
        return path
    data = {k: v for k, v in data.items() if k in targets.KNOWN_KEYS}
    data["logs"] = data.get("logs") or targetfile.logs_section()
    copy = folder / "target.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def test_requests_that_time_out_lead_to_the_lines_that_served_them(running_lab, tmp_path):
    """Read-only: GETs with a 1 ms timeout, served anyway; their ids are in nova-api's
    lines, and the evidence (record, report) names the node and service of each."""
    target = _target_with_logs(tmp_path)
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", EXTREME_TARGET=str(target))
    out = tmp_path / "out"
    done = subprocess.run([str(bindir / "robot"), "--outputdir", str(out), str(TIMEOUTS)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    (record,) = [d for k, d in results.read_records(out / "output.xml") if k == "evidence"]
    assert record["failed_requests"] >= 3, record
    # A request whose connection itself outran 1 ms never reached a service (rare).
    assert record["named_in_logs"] >= record["failed_requests"] // 2, record["requests"]
    nodes = {f["node"] for r in record["requests"] for f in r["found"]}
    assert nodes <= {"ctl1", "ctl2"} and all(
        f["service"] == "nova-api" for r in record["requests"] for f in r["found"])
    assert record["fetch_seconds"] < 30
    secrets, key = leakscan.lab_credentials()
    assert leakscan.scan_files([out], secrets, key)[1] == []
    print(f"evidence of {record['failed_requests']} timed-out requests: fetched in "
          f"{record['fetch_seconds']} s, {record['excerpt_lines']} lines")


def test_a_frozen_service_leads_to_that_nodes_lines(running_lab, tmp_path):
    target = _target_with_logs(tmp_path)
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", EXTREME_TARGET=str(target))
    out = tmp_path / "out"
    try:
        subprocess.run([str(bindir / "robot"), "--outputdir", str(out), str(SUITE)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=900)
    finally:
        subprocess.run([str(bindir / "extreme"), "recover"], env=env, capture_output=True,
                       text=True, timeout=600)
    result = ExecutionResult(str(out / "output.xml"))
    (test,) = result.suite.all_tests
    assert test.status == "FAIL" and test.message.startswith("Planted"), test.message
    records = [data for kind, data in results.read_records(out / "output.xml")
               if kind == "evidence"]
    assert len(records) == 1, records
    record = records[0]
    assert record["failed_requests"] >= 1 and record["named_in_logs"] >= 1, record
    places = {(f["node"], f["service"]) for r in record["requests"] for f in r["found"]}
    assert ("ctl1", "nova-api") in places, record["requests"]
    assert all(r["our_id"].startswith("req-") for r in record["requests"])
    log = (out / "log.html").read_bytes()
    decoded = leakscan.robot_decoded(log)
    assert b"Evidence of failed requests" in decoded and b"<details>" in decoded
    report = subprocess.run(
        [str(bindir / "extreme"), "report", str(out / "output.xml"), "--target", str(target),
         "-o", str(out / "signoff.html")], env=env, capture_output=True, text=True,
        timeout=300)
    page = (out / "signoff.html").read_text()
    assert report.returncode == 1, report.stdout + report.stderr  # a new failure
    assert "Evidence: the failed requests and the services" in page
    assert "nova-api" in page and record["requests"][0]["our_id"] in page
    secrets, key = leakscan.lab_credentials()
    count, findings = leakscan.scan_files([out], secrets, key)
    assert findings == [] and count >= 3
    evidence_bytes = sum(len(m.message) for m in _messages(result)
                         if "Evidence of failed requests" in m.message
                         or 'data-extreme="evidence"' in m.message)
    block = re.search(r'<div class="figure-block evidence">.*?</div>\n', page, re.S)
    print(f"evidence: fetched in {record['fetch_seconds']} s, {record['excerpt_lines']} lines, "
          f"{record['failed_requests']} failed requests ({record['named_in_logs']} named in "
          f"the logs), {evidence_bytes} bytes of messages in output.xml, "
          f"{len(block.group(0)) if block else 0} bytes in the report "
          f"(of {len(page)})")


def _messages(result):
    found = []

    class Visitor(ResultVisitor):
        def visit_message(self, message):
            found.append(message)

    result.visit(Visitor())
    return found

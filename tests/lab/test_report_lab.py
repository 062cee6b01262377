"""The sign-off report from a real run against the lab, opened in headless Chromium.

A small suite runs with robot against the running lab: a healthy period measured by the
Monitor (passes), and Keystone killed on every controller for a few seconds while the
Monitor probes (a planted outage; its strict limit fails, and the case is tagged as a known
finding). The report must show the verdicts and the measured outage, carry the timeline,
keep the lab's credentials out, render in Chromium and print to PDF.

Run (as root, lab up or brought up by the fixture):
    .venv/bin/python -m pytest tests/lab/test_report_lab.py -q
The screenshot is left in the test's tmp dir (its path is printed) to look at.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ExtremeTesting.report import chromium, cli, model

SUITE = """\
*** Settings ***
Documentation     Planted faults for the sign-off report's lab test.
Metadata          Requirement    REQ-LAB-REPORT-1
Library           ExtremeTesting.Monitor    ${TARGET}
Library           ExtremeTesting.Faults    ${TARGET}


*** Variables ***
${TARGET}         %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}


*** Test Cases ***
Healthy Lab Shows No Outage
    [Documentation]    The identity API answers every probe for 5 s.
    [Tags]    area:operational    expect:no outage
    Start Availability Monitor    probes=version-identity    rate=10
    Sleep    5 s    the measurement window
    Stop Availability Monitor
    # No outage was measured here; one slow sample at 10/s would make ~0.1 s: 1 s keeps
    # well over 3x that, and the planted 4 s outage below stays far beyond it.
    Outage Should Be Shorter Than    1 s

Keystone Down On Every Controller Is Measured
    [Documentation]    Keystone is killed on all controllers for about 4 s.
    [Tags]    area:destructive    fault:service-kill    service:keystone    known:LAB-PLANTED
    Start Availability Monitor    probes=version-identity    rate=10
    Sleep    3 s    a healthy baseline before the fault
    Kill Service    keystone    on=all
    Sleep    4 s    the planted outage
    Start Service    keystone    on=all
    # Keystone serves again 2-11 s after its start on a 2-core lab (service_restart's
    # all_nodes figures; 9 s in a CI of 2026-12-07): the window must see it back.
    Sleep    30 s    time to recover after the fault
    Stop Availability Monitor
    Outage Should Be Shorter Than    0.5 s
"""


@pytest.fixture(scope="module")
def lab_run(running_lab, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report-lab")
    suite = root / "suites" / "destructive" / "planted.robot"
    suite.parent.mkdir(parents=True)
    suite.write_text(SUITE, encoding="utf-8")
    robot = Path(sys.executable).with_name("robot")
    completed = subprocess.run([str(robot), "--outputdir", str(root / "results"),
                                str(root / "suites")], capture_output=True, text=True,
                               timeout=600, check=False, cwd=root)
    output = root / "results" / "output.xml"
    assert output.is_file(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return output


def _target() -> Path:
    return Path(os.environ.get("EXTREME_TARGET", "/var/lib/extreme-lab/target.yaml"))


def _secrets() -> list[str]:
    from ExtremeTesting.lab import paths

    values = json.loads((paths.root() / "secrets.json").read_text())
    return [str(v) for v in values.values() if isinstance(v, str) and len(str(v)) >= 6]


PLANTED = [{"id": "LAB-PLANTED", "test": "Keystone Down On Every Controller*",
            "failure": r"^Longest outage of overall was \d+\.\d+ s",
            "description": "Keystone killed on every controller: a planted outage."}]


def test_report_of_a_lab_run(lab_run, tmp_path, capsys):
    # The lab's name and a known finding for the planted outage (a known: tag alone counts
    # for nothing: the target must list it, with the failure it explains).
    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({"name": "lab-report-test", "cloud": "extreme-lab",
                                      "known_findings": PLANTED}), encoding="utf-8")
    out = tmp_path / "signoff.html"
    rc = cli.main([str(lab_run), "-o", str(out), "--target", str(target), "--pdf"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    page = out.read_text(encoding="utf-8")

    run = model.read([lab_run], PLANTED)
    verdicts = {c.name: c.verdict for c in run.cases}
    assert verdicts["Healthy Lab Shows No Outage"] == "PASS", run.cases[0].message
    # The planted outage breaks the 0.5 s limit: a failure, shown as the known finding.
    assert verdicts["Keystone Down On Every Controller Is Measured"] == "KNOWN"
    planted = next(c for c in run.cases if c.verdict == "KNOWN")
    overall = planted.figures_of("monitor")[0].data["overall"]
    outage = overall["total_outage"]
    # The kill's 4 s and Keystone's start (13.2 s measured once under load): closed, since
    # Keystone served again before the monitor stopped; 3x the figure under load.
    assert overall["recovery"]["recovered"] is True, overall["recovery"]
    assert 3.0 <= outage <= 40.0, f"measured {outage} s for a ~4 s kill"
    assert "ACCEPTED WITH KNOWN FINDINGS" in page
    assert "LAB-PLANTED" in page and planted.message[:60] in page.replace("&#39;", "'")
    assert re.search(r"\d+\.\d\d s ± \d+(\.\d)? ms \(1 window", page), "outage figure"
    assert page.count('<img src="data:image/png;base64,') >= 2  # both monitor timelines
    for secret in _secrets():
        assert secret not in page, "a lab credential reached the report"

    shot = chromium.screenshot(out, tmp_path / "signoff.png", 1280, 2400)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    print(f"report: {out}\nscreenshot: {shot}\npdf: {pdf}")

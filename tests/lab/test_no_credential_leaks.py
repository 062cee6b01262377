"""No credential of the lab's target reaches anything a run writes, at DEBUG too.

Runs the operational suites the way the main job runs every suite (pabot, DEBUG log level,
then the sign-off report), and scans every file written, the fault ledger, and the lab
robot tests' results when they exist ($EXTREME_SCAN_ALSO, several paths separated by ':')
with ExtremeTesting.lab.leakscan: every lab password, Keystone tokens, the lab's SSH
private key and Basic-auth strings.
"""

import os
import subprocess
import sys
from pathlib import Path

from ExtremeTesting.lab import leakscan, paths

ROOT = Path(__file__).resolve().parents[2]


def test_main_job_outputs_hold_no_credential(running_lab, tmp_path):
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    out = tmp_path / "results"
    run = subprocess.run(
        [str(bindir / "pabot"), "--processes", "2", "--loglevel", "DEBUG", "--outputdir",
         str(out), str(ROOT / "suites" / "operational")],
        env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert (out / "output.xml").exists(), run.stdout[-3000:] + run.stderr[-2000:]
    report = subprocess.run(
        [str(bindir / "extreme"), "report", str(out / "output.xml"), "-o",
         str(out / "signoff.html"), "--target", str(paths.root() / "target.yaml")],
        env=env, capture_output=True, text=True, timeout=300)
    # The lab's target declares its volume case not applicable (no Cinder): ACCEPTED.
    assert report.returncode == 0, report.stdout + report.stderr
    # pabot's own files: its results folder (under out) and .pabotsuitenames in its cwd
    scanned = [out, ROOT / ".pabotsuitenames", *paths.root().glob("*.ledger.jsonl")]
    extra = os.environ.get("EXTREME_SCAN_ALSO")
    if extra:
        scanned += [Path(p) for p in extra.split(os.pathsep) if p]
    files = list(leakscan.files_under(scanned))
    assert any(f.name == "output.xml" for f in files) and any(
        f.name == "signoff.html" for f in files)
    secrets, key = leakscan.lab_credentials()
    assert key, "the lab's SSH private key was not read: the scan would miss it"
    count, leaks = leakscan.scan_files(scanned, secrets, key)
    assert not leaks, leaks
    print(f"scanned {count} files: no credential")

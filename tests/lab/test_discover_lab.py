"""`extreme target discover` on the lab reproduces the lab's own target, and `--check`
finds no difference in it and names a difference planted in a copy. Read-only: API reads,
and ps / ss / hostname / cat over SSH."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from ExtremeTesting import target as targets
from ExtremeTesting.lab import targetfile

EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]


@pytest.fixture(scope="module")
def lab_target(running_lab):
    return targets.load().data


def discover(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([*EXTREME, "target", "discover", *args], capture_output=True,
                          text=True, timeout=180)
    return done, time.monotonic() - started


def test_discover_reproduces_the_labs_target(lab_target, tmp_path):
    lb = lab_target["nodes"][lab_target["load_balancer"]["node"]]["address"]
    out = tmp_path / "discovered.yaml"
    done, seconds = discover("--ssh-key", targetfile.key_path(), "--lb", lb, "--name", "lab",
                             "-o", str(out))
    assert done.returncode == 0, done.stderr
    print(f"discover on the lab: {seconds:.1f} s ({done.stderr.strip()})")
    found = yaml.safe_load(out.read_text())
    assert {n: (v["address"], set(v["roles"]), set(v["services"]))
            for n, v in found["nodes"].items()} == {
        n: (v["address"], set(v["roles"]), set(v["services"]))
        for n, v in lab_target["nodes"].items()}
    assert {s: (set(v["nodes"]), v.get("port"), v.get("api"))
            for s, v in found["services"].items()} == {
        s: (set(v["nodes"]), v.get("port"), v.get("api"))
        for s, v in lab_target["services"].items()}
    for key in ("type", "node", "admin_socket", "stats_url"):
        assert found["load_balancer"][key] == lab_target["load_balancer"][key]
    assert found["logs"] == (lab_target.get("logs") or targetfile.logs_section())
    assert found["endpoints"] == lab_target["endpoints"]
    assert found["vip"] == lab_target["vip"]
    assert "password" not in out.read_text().replace("password_env", "")
    assert seconds < 60  # measured ~2 s on a busy lab machine


def test_check_finds_no_difference_in_the_labs_target(lab_target):
    done, seconds = discover("--check", str(targets.default_target_path()))
    print(f"--check on the lab: {seconds:.1f} s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no difference" in done.stdout


def test_check_names_a_service_removed_from_a_node_in_a_copy(lab_target, tmp_path):
    copy = dict(lab_target)
    copy["nodes"] = {n: dict(v) for n, v in lab_target["nodes"].items()}
    copy["services"] = {s: dict(v) for s, v in lab_target["services"].items()}
    copy["nodes"]["ctl2"]["services"] = [s for s in copy["nodes"]["ctl2"]["services"]
                                         if s != "keystone"]
    copy["services"]["keystone"]["nodes"] = ["ctl1"]
    planted = tmp_path / "target.yaml"
    planted.write_text(yaml.safe_dump(copy, sort_keys=False))
    done, _ = discover("--check", str(planted))
    assert done.returncode == 1, done.stdout + done.stderr
    differences = [line for line in done.stdout.splitlines() if line.startswith("DIFFERENCE")]
    assert differences == ["DIFFERENCE: keystone runs on ctl2, but the target does not list "
                           "it there."]

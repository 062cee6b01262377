"""The Changes library on the lab: a drain seen in HAProxy's own statistics, a
configuration change undone by ``extreme recover`` after the runner was SIGKILLed.

Run only under the lab lock:
``flock /tmp/xt-lab.lock python -m pytest tests/lab/test_changes_lab.py``.
Each test uses a copy of the lab's target (its ledger and config backups in tmp_path), so
the shared ledger of the lab is not touched.
"""

import csv
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
import yaml

from ExtremeTesting.changes import Changes
from ExtremeTesting.lifecycle import Ledger

EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]
STATS = "http://198.18.0.10:8404/;csv"
CONF = "/etc/keystone/keystone.conf"


@pytest.fixture
def target(running_lab, tmp_path):
    data = yaml.safe_load(Path(os.environ["EXTREME_TARGET"]).read_text())
    data.setdefault("changes", {"restart": "service {service} restart"})
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def stats_status(backend: str, server: str) -> str:
    rows = csv.DictReader(io.StringIO(requests.get(STATS, timeout=5).text.lstrip("# ")))
    return next(r["status"] for r in rows if r["pxname"] == backend and r["svname"] == server)


def test_drain_and_return_are_seen_in_haproxys_statistics(target):
    lib = Changes(str(target))
    try:
        lib.drain_node_from_load_balancer("ctl1", "keystone")
        assert stats_status("keystone", "ctl1") == "DRAIN"
        assert stats_status("keystone", "ctl2") == "UP"
        assert lib.wait_until_node_is_drained("ctl1", "keystone", timeout=_s(30)) < 30
        assert len(lib.changes.ledger().open_entries()) == 1
    finally:
        lib.return_node_to_load_balancer("ctl1", "keystone")
    assert stats_status("keystone", "ctl1") == "UP"
    assert lib.changes.ledger().open_entries() == []


def test_a_config_change_is_undone_by_recover_after_sigkill(target, ssh):
    before = ssh("198.18.0.11", f"sha256sum {CONF}").stdout.split()[0]
    script = textwrap.dedent(f"""
        import sys, time
        from ExtremeTesting.changes import Changes
        Changes({str(target)!r}).set_config_option(
            "ctl1", {CONF!r}, "DEFAULT", "max_param_size", "65")
        print("changed", flush=True)
        time.sleep(600)
    """)
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True, env=os.environ.copy())
    try:
        assert runner.stdout.readline().strip() == "changed"
    finally:
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
    assert "max_param_size = 65" in ssh("198.18.0.11", f"cat {CONF}").stdout
    ledger = Ledger(target.with_name("target.ledger.jsonl"))
    [entry] = ledger.open_entries()
    backup = Path(entry.undo.args["backup"])
    assert backup.stat().st_mode & 0o777 == 0o600
    recovered = subprocess.run([*EXTREME, "recover", "--target", str(target)],
                               capture_output=True, text=True, timeout=300)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert ssh("198.18.0.11", f"sha256sum {CONF}").stdout.split()[0] == before
    assert not backup.exists()
    assert ledger.open_entries() == []
    deadline = time.monotonic() + 60  # recover restarted keystone on ctl1
    while stats_status("keystone", "ctl1") != "UP":
        assert time.monotonic() < deadline, "keystone on ctl1 did not come back"
        time.sleep(0.5)


def _s(seconds):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def test_a_fernet_rotation_fails_no_validation(target):
    import threading

    import openstack

    conn = openstack.connect(cloud=os.environ["OS_CLOUD"])
    token = conn.session.get_token()
    nodes = {"ctl1": "198.18.0.11", "ctl2": "198.18.0.12"}

    def validate(address: str, subject: str) -> int:
        return requests.get(f"http://{address}:5000/v3/auth/tokens", timeout=10,
                            headers={"X-Auth-Token": token, "X-Subject-Token": subject}
                            ).status_code

    stop = threading.Event()
    seen: list[int] = []

    def workload():
        while not stop.is_set():
            for address in nodes.values():
                seen.append(validate(address, token))

    worker = threading.Thread(target=workload)
    worker.start()
    try:
        primary = Changes(str(target)).rotate_fernet_keys()
    finally:
        stop.set()
        worker.join(timeout=30)
    assert len(seen) > 4 and set(seen) == {200}, f"validations: {sorted(set(seen))}"
    assert int(primary) >= 2
    # a token signed with the new primary on one node validates on the other
    fresh = requests.post("http://198.18.0.11:5000/v3/auth/tokens", timeout=10, json={
        "auth": {"identity": {"methods": ["token"], "token": {"id": token}}}})
    assert fresh.status_code == 201
    assert validate(nodes["ctl2"], fresh.headers["X-Subject-Token"]) == 200


def test_a_package_upgraded_on_ctl1_only(target, ssh):
    lib = Changes(str(target))
    nodes = {"ctl1": "198.18.0.11", "ctl2": "198.18.0.12"}

    def changelog_version(node: str) -> str:  # the files on disk, not only dpkg's database
        out = ssh(nodes[node], "zcat /usr/share/doc/keystone/changelog.Debian.gz | head -1")
        return out.stdout.split("(")[1].split(")")[0]

    old, new = (dict(p.split("=", 1) for p in side) for side in lib.get_upgrade_of("keystone"))
    start = lib.get_package_version("ctl1", "keystone")
    # The lab runs the old release in CI (--old-release); on a newest-release lab, go down.
    wanted = new if start == old["keystone"] else old
    change = lib.upgrade_package if wanted is new else lib.downgrade_package
    host = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "keystone"],
                          capture_output=True, text=True, check=True).stdout
    try:
        change("ctl1", *[f"{n}={v}" for n, v in wanted.items()])
        assert lib.get_package_version("ctl1", "keystone") == wanted["keystone"]
        assert lib.get_package_version("ctl1", "python3-keystone") == wanted["python3-keystone"]
        assert changelog_version("ctl1") == wanted["keystone"]
        assert lib.get_package_version("ctl2", "keystone") == start
        assert changelog_version("ctl2") == start
        lib.wait_until_service_serves_on_node("ctl1", "keystone", timeout=_s(120))
        [entry] = lib.changes.ledger().open_entries()
        assert entry.undo.args["services"] == ["keystone"]
    finally:
        lib.undo_all_changes()
    assert lib.get_package_version("ctl1", "keystone") == start
    assert changelog_version("ctl1") == start
    assert lib.changes.ledger().open_entries() == []
    # the runner's own packages never changed
    assert subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "keystone"],
                          capture_output=True, text=True, check=True).stdout == host

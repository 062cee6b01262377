"""The run's private folder (issue 16): temporary files that may hold secrets live in one
0700 folder beside the ledger, removed at a normal exit, and by the next start of a library
or ``extreme recover`` once its owner process is dead — never while it runs.

The owners here are real child processes: one that exits without running its exit
handlers, one killed with SIGKILL in the middle of an Ansible play (the real
:class:`BoundedAnsibleRunner`, a stand-in ``ansible-playbook`` that holds the play), one
that stays alive until the test lets it end normally.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ExtremeTesting.faults import Faults
from ExtremeTesting.faults.cli import recover
from ExtremeTesting.lifecycle import Tracker, private
from ExtremeTesting.target import Target
from test_faults_fake import write_target

LIBRARIES = str(Path(__file__).resolve().parents[2] / "libraries")


def child(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=LIBRARIES)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            **kwargs)


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def dead_run_folder(ledger: Path) -> Path:
    """A folder left by a process that ended without its exit handlers (like a crash)."""
    proc = child("""
        import os, sys
        from ExtremeTesting.lifecycle import private
        folder = private.run_folder(sys.argv[1])
        private.write_private(folder, "inventory", "ansible_ssh_pass: pw-s3cret\\n")
        print(folder, flush=True)
        os._exit(0)
        """, str(ledger), stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=60)
    folder = Path(out.strip())
    assert folder.is_dir() and (folder / "inventory").is_file()
    return folder


def test_the_folder_is_0700_beside_the_ledger_and_its_files_0600(tmp_path):
    ledger = tmp_path / "target.ledger.jsonl"
    folder = private.run_folder(ledger)
    path = private.write_private(folder, "ansible.cfg", "[defaults]\n")
    assert folder.parent == tmp_path / "target.ledger.private"
    assert folder.name.startswith(f"run-{os.getpid()}-")
    assert mode(folder.parent) == 0o700 and mode(folder) == 0o700 and mode(path) == 0o600
    assert private.run_folder(ledger) == folder  # one folder per process
    assert private.sweep(ledger) == [] and folder.is_dir()  # our own: alive


def test_a_dead_pids_folder_is_removed_at_the_start_of_a_library(tmp_path):
    target = write_target(tmp_path / "cloud")
    ledger = tmp_path / "cloud" / "target.ledger.jsonl"
    folder = dead_run_folder(ledger)
    Faults(str(target)).engine  # the first keyword loads the target: the library's start
    assert not folder.exists()


def test_a_dead_pids_folder_is_removed_by_a_trackers_first_ledger_use(tmp_path):
    ledger = tmp_path / "target.ledger.jsonl"
    folder = dead_run_folder(ledger)
    tracker = Tracker(lambda: Target(tmp_path / "target.yaml", {}))
    assert tracker.ledger().path == ledger
    assert not folder.exists()


def test_recover_removes_a_dead_pids_folder_and_dry_run_only_names_it(tmp_path):
    ledger = tmp_path / "target.ledger.jsonl"
    folder = dead_run_folder(ledger)
    said: list[str] = []
    assert recover(None, str(ledger), dry_run=True, out=said.append) == 0
    assert folder.is_dir() and any(f"would remove the private folder of a dead run: "
                                   f"{folder}" in line for line in said)
    said.clear()
    assert recover(None, str(ledger), out=said.append) == 0
    assert not folder.exists()
    assert said[0] == f"removed the private folder of a dead run: {folder}"


def test_a_live_process_folder_is_kept_then_removed_when_it_ends_normally(tmp_path):
    ledger = tmp_path / "target.ledger.jsonl"
    proc = child("""
        import sys
        from ExtremeTesting.lifecycle import private
        print(private.run_folder(sys.argv[1]), flush=True)
        sys.stdin.read()  # until the test closes it
        """, str(ledger), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(proc.stdout.readline().strip())
        assert folder.is_dir()
        assert private.sweep(ledger) == []
        said: list[str] = []
        recover(None, str(ledger), out=said.append)
        assert folder.is_dir() and not any("private folder" in line for line in said)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert not folder.exists()  # its exit handler removed it


def test_a_reused_pid_does_not_keep_a_dead_runs_folder(tmp_path):
    ledger = tmp_path / "target.ledger.jsonl"
    alive = private.run_folder(ledger)
    start = private.start_time(os.getpid())
    impostor = alive.with_name(private.folder_name(os.getpid(), start + 1,
                                                   alive.name.split("@", 1)[1]))
    impostor.mkdir()
    assert private.sweep(ledger) == [impostor]
    assert alive.is_dir() and not impostor.exists()


def test_a_folder_of_another_host_is_kept(tmp_path):
    ledger = tmp_path / "target.ledger.jsonl"
    other = private.private_root(ledger) / private.folder_name(1, 1, "elsewhere.example")
    other.mkdir(parents=True)
    assert private.sweep(ledger) == [] and other.is_dir()


HOLDING_PLAYBOOK = """\
#!{python}
import json, os, sys, time
inventory = sys.argv[sys.argv.index("-i") + 1]
open({record!r}, "w").write(json.dumps({{"pid": os.getpid(), "inventory": inventory}}))
deadline = time.monotonic() + 60  # held until the test kills it
while time.monotonic() < deadline:
    time.sleep(0.1)
"""

KILLED_RUNNER = """
import sys
from ExtremeTesting.faults.runner import BoundedAnsibleRunner
from ExtremeTesting.lifecycle import private
from os_faults.api.node_collection import Host

runner = BoundedAnsibleRunner(ansible_playbook=sys.argv[2], timeout=60,
                              private_dir=lambda: private.run_folder(sys.argv[1]))
runner.execute([Host(ip="198.18.0.11", auth={"username": "root", "password": "pw-s3cret"})],
               {"command": "hostname"})
"""


def test_a_sigkilled_run_leaves_its_inventory_only_where_the_next_start_removes_it(tmp_path):
    ledger = tmp_path / "cloud" / "target.ledger.jsonl"
    target = write_target(tmp_path / "cloud")
    record = tmp_path / "play.json"
    playbook = tmp_path / "ansible-playbook"
    playbook.write_text(HOLDING_PLAYBOOK.format(python=sys.executable, record=str(record)))
    playbook.chmod(0o755)
    proc = child(KILLED_RUNNER, str(ledger), str(playbook))
    play = {}
    try:
        wait_for(lambda: record.is_file() and record.read_text(), what="the play to start")
        play = json.loads(record.read_text())
        inventory = Path(play["inventory"])
        folder = inventory.parent.parent
        assert folder.parent == private.private_root(ledger)
        assert "ansible_ssh_pass: pw-s3cret" in inventory.read_text()
        assert mode(inventory) == 0o600 and mode(inventory.parent) == 0o700
        assert mode(folder) == 0o700
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if play.get("pid"):
            os.kill(play["pid"], signal.SIGKILL)  # the play's own process group outlives it
    assert inventory.is_file()  # killed: nothing ran its clean-up
    Faults(str(target)).engine  # the next start
    assert not folder.exists()

"""The bounded Ansible runner: cfg, environment, timeout, clean-up, failure reasons.

A stand-in ``ansible-playbook`` records what it was given and answers like the json
callback; one test runs the real ``ansible-playbook`` against localhost.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ExtremeTesting.faults.errors import (
    ActionTimeoutError,
    RemoteActionError,
    UnreachableError,
)
from ExtremeTesting.faults.runner import BoundedAnsibleRunner
from os_faults.api.node_collection import Host

HOST = Host(ip="198.18.0.11", auth={"username": "root", "password": "pw-s3cret"})


def fake_playbook(tmp_path: Path, hosts: dict | None = None, *, sleep: float = 0,
                  stdout: str | None = None, stderr: str = "") -> Path:
    record = tmp_path / "seen.json"
    script = tmp_path / "ansible-playbook"
    body = json.dumps({"plays": [{"tasks": [{"hosts": hosts or {"198.18.0.11": {
        "changed": True, "rc": 0, "stdout": "ok"}}}]}]})
    output = stdout if stdout is not None else repr("[WARNING]: noise\n" + body)
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys, time
        inv = sys.argv[sys.argv.index("-i") + 1]
        seen = {{"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ),
                "cfg": open(os.path.join(os.getcwd(), "ansible.cfg")).read(),
                "inventory": open(inv).read(),
                "modes": {{n: oct(os.stat(os.path.join(os.getcwd(), n)).st_mode & 0o777)
                          for n in ("inventory", "playbook", "ansible.cfg", ".")}}}}
        open({str(record)!r}, "w").write(json.dumps(seen))
        time.sleep({sleep})
        sys.stderr.write({stderr!r})
        sys.stdout.write({output})
        """))
    script.chmod(0o755)
    return script


def seen(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "seen.json").read_text())


def runner(script: Path, **kwargs) -> BoundedAnsibleRunner:
    names = {"198.18.0.11": "ctl1"}
    return BoundedAnsibleRunner(ansible_playbook=str(script), port=2222,
                                host_label=lambda ip: names.get(ip, ip),
                                redact=lambda text: text.replace("pw-s3cret", "****"), **kwargs)


def test_play_runs_in_a_private_dir_with_cfg_and_port_then_it_is_removed(tmp_path):
    script = fake_playbook(tmp_path)
    result = runner(script).execute([HOST], {"command": "hostname"})
    assert [r.status for r in result] == ["OK"]
    got = seen(tmp_path)
    assert got["modes"] == {"inventory": "0o600", "playbook": "0o600", "ansible.cfg": "0o600",
                            ".": "0o700"}
    assert "remote_port = 2222" in got["cfg"] and "host_key_checking = False" in got["cfg"]
    assert "interpreter_python = /usr/bin/python3" in got["cfg"]
    assert "ansible_port: 2222" in got["inventory"]
    assert got["env"]["ANSIBLE_STDOUT_CALLBACK"] == "extreme_json"
    assert (Path(got["env"]["ANSIBLE_CALLBACK_PLUGINS"]) / "extreme_json.py").is_file()
    assert got["env"]["ANSIBLE_CONFIG"] == os.path.join(got["cwd"], "ansible.cfg")
    assert got["env"]["PATH"].split(":")[0] == str(script.parent)
    assert not Path(got["cwd"]).exists()  # inventory with the password is gone


def test_remote_failure_reason_reaches_the_message(tmp_path):
    script = fake_playbook(tmp_path, {"198.18.0.11": {
        "failed": True, "rc": 3, "msg": "non-zero return code",
        "stderr": "keystone: unrecognized service", "cmd": "service keystone start"}})
    with pytest.raises(RemoteActionError) as raised:
        runner(script).execute([HOST], {"shell": "service keystone start"})
    message = str(raised.value)
    assert message.startswith("'shell' failed on 1 node(s): ctl1 (198.18.0.11) FAILED:")
    assert "stderr: keystone: unrecognized service" in message and "rc=3" in message


def test_unreachable_names_the_node_and_the_ssh_reason(tmp_path):
    script = fake_playbook(tmp_path, {"198.18.0.11": {
        "unreachable": True, "msg": "Failed to connect to the host via ssh: Connection refused"}})
    with pytest.raises(UnreachableError, match="ctl1 .* Connection refused"):
        runner(script).execute([HOST], {"command": "hostname"})


def test_timeout_kills_the_play_and_still_removes_the_dir(tmp_path):
    script = fake_playbook(tmp_path, sleep=30)
    start = time.monotonic()
    with pytest.raises(ActionTimeoutError, match="did not finish within"):
        runner(script, timeout=1.5).execute([HOST], {"command": "hostname"})
    assert time.monotonic() - start < 8
    assert not Path(seen(tmp_path)["cwd"]).exists()


def test_deadline_spans_the_plays_of_one_action(tmp_path):
    bounded = runner(fake_playbook(tmp_path), timeout=5)
    bounded.deadline = time.monotonic() - 1
    with pytest.raises(ActionTimeoutError, match="ran out of time"):
        bounded.execute([HOST], {"command": "hostname"})


def test_non_json_output_is_explained_and_redacted(tmp_path):
    script = fake_playbook(tmp_path, stdout="'ERROR! callback json not found'",
                           stderr="password pw-s3cret rejected")
    with pytest.raises(RemoteActionError, match="json stdout callback") as raised:
        runner(script).execute([HOST], {"command": "hostname"})
    assert "pw-s3cret" not in str(raised.value)


def test_real_ansible_playbook_runs_a_task_on_localhost(tmp_path):
    """The venv's ansible-playbook, json callback and our cfg, for real (no SSH: local)."""
    bounded = BoundedAnsibleRunner(timeout=60)
    local = Host(ip="127.0.0.1")
    bounded.default_host_vars = {}
    original = bounded._run_play

    def local_play(play_source, host_vars):
        bounded.options = bounded.options._replace(connection="local")
        return original(play_source, host_vars)

    bounded._run_play = local_play
    result = bounded.execute([local], {"command": "echo extreme"})
    assert result[0].status == "OK" and result[0].payload["stdout"] == "extreme"
    with pytest.raises(RemoteActionError, match="rc=3"):
        bounded.execute([local], {"shell": "echo broken >&2; exit 3"})


def test_real_ansible_playbook_needs_no_collection(tmp_path, monkeypatch):
    """ansible-core alone is enough: with every collection out of sight (none on the
    collections path, site-packages not scanned), the runner's own stdout callback still
    reports each host's result, a failure's rc and stderr included."""
    from ExtremeTesting.faults import runner as runner_module

    bounded = BoundedAnsibleRunner(timeout=60)
    bounded.default_host_vars = {}
    original_play, original_env = bounded._run_play, bounded._environment

    def local_play(play_source, host_vars):
        bounded.options = bounded.options._replace(connection="local")
        return original_play(play_source, host_vars)

    def without_collections(workdir):
        env = original_env(workdir)
        empty = tmp_path / "no-collections"
        empty.mkdir(exist_ok=True)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(empty), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False")
        return env

    bounded._run_play = local_play
    monkeypatch.setattr(bounded, "_environment", without_collections)
    local = Host(ip="127.0.0.1")
    result = bounded.execute([local], {"command": "echo extreme"})
    assert result[0].status == "OK" and result[0].payload["stdout"] == "extreme"
    with pytest.raises(RemoteActionError, match="rc=3.*broken"):
        bounded.execute([local], {"shell": "echo broken >&2; exit 3"})
    # the json callback (ansible.posix's) is indeed out of sight: asking for it fails
    monkeypatch.setattr(runner_module.ansible_callbacks, "STDOUT_CALLBACK", "json")
    with pytest.raises(RemoteActionError, match="no JSON result"):
        bounded.execute([local], {"command": "echo extreme"})


def test_a_kill_whose_only_complaint_is_a_process_already_gone_succeeds(tmp_path):
    script = fake_playbook(tmp_path, {"198.18.0.11": {
        "failed": True, "rc": 123, "msg": "non-zero return code",
        "stderr": "kill: (6028): No such process\n",
        "cmd": "bash -c 'ps ax | grep -v grep | grep keystone-uwsgi | awk {print $1} | "
               "xargs kill -SIGKILL'"}})
    result = runner(script).execute([HOST], {"kill": {"grep": "keystone-uwsgi"}})
    assert [r.status for r in result] == ["OK"]


@pytest.mark.parametrize("stderr, rc", [
    ("kill: (6028): No such process\nkill: (6029): Operation not permitted", 123),
    ("kill: (6028): No such process", 1),
    ("", 123),
])
def test_a_kill_that_failed_otherwise_still_fails(tmp_path, stderr, rc):
    script = fake_playbook(tmp_path, {"198.18.0.11": {
        "failed": True, "rc": rc, "msg": "non-zero return code", "stderr": stderr}})
    with pytest.raises(RemoteActionError, match="'kill' failed on 1 node"):
        runner(script).execute([HOST], {"kill": {"grep": "keystone-uwsgi"}})

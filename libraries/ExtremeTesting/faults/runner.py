"""os-faults' Ansible runner, made safe to use from a test run.

os-faults 0.3.0 (``os_faults/ansible/executor.py``) writes the inventory (passwords
included) to a temporary directory it never removes, runs ``ansible-playbook`` with no
timeout and an environment reduced to ``ANSIBLE_STDOUT_CALLBACK``, in the caller's working
directory, and reports a remote failure as ``(host: X, status: FAILED)`` with the reason
only in its DEBUG log. :class:`BoundedAnsibleRunner` overrides ``_run_play`` and
``execute`` only; the rest (inventory variables, task results) stays os-faults' own:

- a private (0700) temporary directory holds inventory, playbook and a generated
  ``ansible.cfg`` (port, interpreter, timeouts, no host key prompts), and is removed
  after every play; it is made inside the run's private folder (``private_dir``, see
  :mod:`ExtremeTesting.lifecycle.private`), so a run killed mid-play leaves it only where
  the next start of a library or ``extreme recover`` removes it;
- ``ansible-playbook`` is the one next to this Python (the venv), with a minimal
  environment (PATH with the venv's bin, HOME, SSH_AUTH_SOCK, ANSIBLE_CONFIG);
- every play has a deadline; past it, the whole process group is killed;
- failures raise :class:`RemoteActionError` / :class:`UnreachableError` carrying each
  failed node's message, stderr and rc.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from os_faults.ansible import executor

from .. import ansible_callbacks
from ..lifecycle.private import write_private
from .errors import ActionTimeoutError, FaultError, RemoteActionError, UnreachableError

REASON_LIMIT = 600  # characters of remote output kept per node in a failure message


def venv_bin() -> Path:
    return Path(sys.executable).parent


def find_ansible_playbook() -> str:
    """``ansible-playbook`` next to this Python first (Robot may run without the venv on
    PATH), then on PATH."""
    candidate = venv_bin() / "ansible-playbook"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("ansible-playbook")
    if not found:
        raise FaultError("ansible-playbook is not installed: expected it next to "
                         f"{sys.executable} or on PATH. Install ansible-core into this "
                         "Python (openstack-extreme-testing's install does).")
    return found


def ensure_ansible_found() -> None:
    """os-faults' runner constructor looks ``ansible-playbook`` up with ``which`` on this
    process's PATH (``executor.find_ansible``); point that lookup at ours instead (next to
    this Python first, then PATH). The process environment is never changed: the child
    gets its own (see :meth:`BoundedAnsibleRunner._environment`)."""
    if getattr(executor.find_ansible, "extreme", False):
        return
    find_ansible_playbook()  # fails now, naming the fix, when there is none

    def find_ansible() -> str:
        return find_ansible_playbook()

    find_ansible.extreme = True  # type: ignore[attr-defined]
    executor.find_ansible = find_ansible


def ansible_cfg(*, port: int | None, connect_timeout: int, task_timeout: int,
                interpreter: str, control_persist: int) -> str:
    lines = ["[defaults]", "host_key_checking = False", f"interpreter_python = {interpreter}",
             f"timeout = {connect_timeout}", f"task_timeout = {task_timeout}",
             "retry_files_enabled = False", "deprecation_warnings = False",
             "system_warnings = False", "localhost_warning = False", "nocows = True"]
    if port:
        lines.append(f"remote_port = {port}")
    lines += ["", "[ssh_connection]", "pipelining = True"]
    if control_persist > 0:
        lines.append(f"ssh_args = -o ControlMaster=auto -o ControlPersist={control_persist}s")
    return "\n".join(lines) + "\n"


def _tail(text: Any) -> str:
    text = str(text or "").strip()
    return text if len(text) <= REASON_LIMIT else "…" + text[-REASON_LIMIT:]


GONE = re.compile(r"kill: \(\d+\): No such process")


def ended_before_the_signal(payload: dict[str, Any]) -> bool:
    """A kill (os-faults' ``kill`` module: ``ps ax | grep ... | xargs kill -SIG``) whose
    only complaint is processes that ended between ``ps`` and ``kill`` (xargs exits 123):
    what the signal was for, no such process, holds. CI of 2026-12-07: a keystone-uwsgi
    process on ctl1 ended in that gap and the kill of every other one was reported failed."""
    lines = [line.strip() for line in str(payload.get("stderr") or "").splitlines()
             if line.strip()]
    return (payload.get("rc") == 123 and bool(lines)
            and all(GONE.fullmatch(line) for line in lines))


def failure_reason(payload: dict[str, Any]) -> str:
    parts = []
    if payload.get("msg"):
        parts.append(_tail(payload["msg"]))
    if payload.get("rc") not in (None, 0):
        parts.append(f"rc={payload['rc']}")
    if payload.get("stderr"):
        parts.append(f"stderr: {_tail(payload['stderr'])}")
    elif payload.get("stdout") and payload.get("rc"):
        parts.append(f"stdout: {_tail(payload['stdout'])}")
    if payload.get("cmd") and payload.get("rc"):
        cmd = payload["cmd"]
        parts.append(f"command: {' '.join(cmd) if isinstance(cmd, list) else cmd}")
    return "; ".join(parts) or "no reason given by Ansible"


class BoundedAnsibleRunner(executor.AnsibleRunner):
    def __init__(self, *, timeout: float = 120.0, port: int | None = None,
                 connect_timeout: int = 10, interpreter: str = "/usr/bin/python3",
                 control_persist: int = 30, auth: dict | None = None,
                 host_label: Callable[[str], str] = str,
                 redact: Callable[[str], str] = str, ansible_playbook: str | None = None,
                 private_dir: Callable[[], Path] | None = None):
        ensure_ansible_found()
        super().__init__(auth=auth)
        self.ansible = ansible_playbook or find_ansible_playbook()
        self.timeout = timeout
        self.deadline: float | None = None  # monotonic; set per action by the engine
        self.port = port
        self.connect_timeout = connect_timeout
        self.interpreter = interpreter
        self.control_persist = control_persist
        self.host_label = host_label
        self.redact = redact
        self.private_dir = private_dir  # None: the system's temporary folder
        self.last_records: list[executor.AnsibleExecutionRecord] = []
        self.plays = 0

    def _remaining(self) -> float:
        if self.deadline is None:
            return self.timeout
        return self.deadline - time.monotonic()

    def _environment(self, workdir: str) -> dict[str, str]:
        path = os.pathsep.join([str(Path(self.ansible).parent), "/usr/local/bin", "/usr/bin",
                                "/bin", "/usr/sbin", "/sbin"])
        env = {"PATH": path, "ANSIBLE_STDOUT_CALLBACK": ansible_callbacks.STDOUT_CALLBACK,
               "ANSIBLE_CALLBACK_PLUGINS": str(ansible_callbacks.FOLDER),
               "ANSIBLE_CONFIG": os.path.join(workdir, "ansible.cfg"),
               "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "tmp"),
               "HOME": os.environ.get("HOME", workdir), "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        if os.environ.get("SSH_AUTH_SOCK"):
            env["SSH_AUTH_SOCK"] = os.environ["SSH_AUTH_SOCK"]
        return env

    def _run_play(self, play_source: dict, host_vars: dict) -> list:
        remaining = self._remaining()
        if remaining <= 0:
            raise ActionTimeoutError(
                f"The action ran out of time (timeout {self.timeout:g} s) before its next "
                f"Ansible play could start. Raise the library's action_timeout if the "
                f"cloud is slow.")
        inventory = {}
        for host, variables in host_vars.items():
            merged = {k: v for k, v in self.default_host_vars.items() if v}
            merged.update({k: v for k, v in variables.items() if v})
            merged["ansible_connection"] = self.options.connection
            if self.port and "ansible_port" not in merged:
                merged["ansible_port"] = self.port
            inventory[host] = merged
        play = {"hosts": "all", "gather_facts": "no", "tasks": play_source["tasks"]}
        parent = self.private_dir() if self.private_dir else None
        with tempfile.TemporaryDirectory(prefix="extreme-osf-", dir=parent) as workdir:
            os.chmod(workdir, 0o700)
            files = {
                "inventory": yaml.safe_dump({"all": {"hosts": inventory}},
                                            default_flow_style=False),
                "playbook": yaml.safe_dump([play], default_flow_style=False),
                "ansible.cfg": ansible_cfg(
                    port=self.port, connect_timeout=self.connect_timeout,
                    task_timeout=max(1, int(remaining)), interpreter=self.interpreter,
                    control_persist=self.control_persist),
            }
            for name, content in files.items():
                write_private(Path(workdir), name, content)
            cmd = [self.ansible, "--module-path", ":".join(self.options.module_path),
                   "-i", os.path.join(workdir, "inventory"), os.path.join(workdir, "playbook")]
            stdout, stderr = self._execute(cmd, workdir, remaining)
        self.plays += 1
        records = self._parse(stdout, stderr)
        self.last_records = records
        return records

    def _execute(self, cmd: list[str], workdir: str, timeout: float) -> tuple[str, str]:
        proc = subprocess.Popen(cmd, cwd=workdir, env=self._environment(workdir),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            return proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # a grandchild holds the pipes: stop waiting
                pass
            raise ActionTimeoutError(
                f"ansible-playbook did not finish within {timeout:.1f} s (action timeout "
                f"{self.timeout:g} s) and was killed. Expected the nodes to answer over SSH "
                f"within that time; check they are up and reachable, or raise "
                f"action_timeout.") from None

    def _parse(self, stdout: str, stderr: str) -> list:
        start = stdout.find("{")
        try:
            data = json.loads(stdout[start:]) if start >= 0 else None
            hosts = data["plays"][0]["tasks"][0]["hosts"] if data else None
        except (ValueError, KeyError, IndexError, TypeError):
            hosts = None
        if hosts is None:
            raise RemoteActionError(
                "ansible-playbook gave no JSON result: expected the extreme_json stdout "
                "callback (ExtremeTesting/ansible_callbacks). It said: "
                + self.redact(_tail(stderr or stdout) or "nothing"))
        records = []
        for host, payload in hosts.items():
            if payload.get("unreachable"):
                status = executor.STATUS_UNREACHABLE
            elif payload.get("failed") and not ended_before_the_signal(payload):
                status = executor.STATUS_FAILED
            else:
                status = executor.STATUS_OK
            records.append(executor.AnsibleExecutionRecord(host=host, status=status, task="",
                                                           payload=payload))
        return records

    def execute(self, hosts, task, raise_on_statuses=None):
        try:
            return super().execute(hosts, task, raise_on_statuses)
        except executor.AnsibleExecutionException as error:
            failed = [r for r in self.last_records if r.status != executor.STATUS_OK]
            reasons = "; ".join(
                f"{self.host_label(r.host)} ({r.host}) {r.status}: "
                f"{failure_reason(r.payload)}" for r in failed) or str(error)
            what = next(iter(task)) if isinstance(task, dict) else "task"
            if isinstance(error, executor.AnsibleExecutionUnreachable):
                raise UnreachableError(
                    f"Could not reach {len(failed)} node(s) over SSH for '{what}': "
                    f"{self.redact(reasons)}. Check the node is up, sshd listens on the "
                    f"configured port and the key/user in the target's ssh section.") from None
            raise RemoteActionError(
                f"'{what}' failed on {len(failed)} node(s): {self.redact(reasons)}") from None

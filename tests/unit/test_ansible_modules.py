"""The wheel asks for ansible-core, not the whole `ansible` distribution.

That holds while every Ansible module os-faults 0.3.0 puts in a task is one of
ansible-core's own (ansible.builtin) or os-faults' own (its ``ansible/modules``), but for
the container driver's ``docker_container`` (community.docker), which the ``containers``
extra brings; and while the runner reads results with our own stdout callback, not
ansible.posix's ``json``. The module names are read from os-faults' source, so a new
module in a later os-faults fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ansible
import os_faults

from ExtremeTesting import ansible_callbacks

ROOT = Path(__file__).resolve().parents[2]
OS_FAULTS = Path(os_faults.__file__).resolve().parent
BUILTIN = {p.stem for p in (Path(ansible.__file__).parent / "modules").glob("*.py")}
OWN = {p.stem for p in (OS_FAULTS / "ansible" / "modules").glob("*.py")} - {"__init__"}
EXTRA = {"docker_container": "containers"}  # module -> the extra that brings it
TASK_KEYS = {"become", "become_user", "args", "environment", "ignore_errors"}


def modules_in_tasks() -> dict[str, set[str]]:
    """Each module os-faults names as a task (the one key of a task dict, as in
    ``{'command': cmd}`` or ``task = {'kill': {...}}``), with the files naming it."""
    found: dict[str, set[str]] = {}
    for path in OS_FAULTS.rglob("*.py"):
        if "tests" in path.parts or "modules" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            task = None
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "task" for t in node.targets):
                task = node.value
            elif isinstance(node, ast.Call) and node.args and getattr(
                    node.func, "attr", "") in ("_run_task", "execute_on_cloud", "run_task",
                                               "_execute_on_master_node"):
                task = next((a for a in node.args if isinstance(a, ast.Dict)), None)
            if isinstance(task, ast.Dict):
                for key in task.keys:
                    if isinstance(key, ast.Constant) and key.value not in TASK_KEYS:
                        found.setdefault(key.value, set()).add(
                            str(path.relative_to(OS_FAULTS)))
    return found


def test_every_module_os_faults_runs_is_ansible_core_s_or_its_own():
    used = modules_in_tasks()
    assert {"command", "shell", "service", "iptables", "kill", "freeze", "stress"} <= set(used)
    elsewhere = {m: sorted(files) for m, files in used.items()
                 if m not in BUILTIN and m not in OWN and m not in EXTRA}
    assert not elsewhere, f"modules neither in ansible-core nor os-faults': {elsewhere}"


def test_the_modules_of_collections_come_with_an_extra():
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    requires = setup.split("install_requires=[", 1)[1].split("]", 1)[0]
    assert re.search(r'^\s*"ansible-core",', requires, re.M), requires
    assert not re.search(r'^\s*"ansible",', requires, re.M), "the whole ansible is back"
    for module, extra in EXTRA.items():
        assert module not in BUILTIN
        assert re.search(rf'"{extra}": \["ansible"\]', setup), (module, extra)


def test_the_runner_s_stdout_callback_is_ours():
    assert (ansible_callbacks.FOLDER / f"{ansible_callbacks.STDOUT_CALLBACK}.py").is_file()
    assert not (Path(ansible.__file__).parent / "plugins" / "callback" / "json.py").exists()

"""No keyword library changes the process environment (issue 24, "one foundation").

A library that sets ``os.environ`` changes every other library and every child of the Robot
process; it passes an environment to its child or its client instead. The lab (``lab/``)
runs as its own command and may. An AST walk finds every assignment, deletion and mutating
call on ``os.environ`` (and ``os.putenv``/``os.unsetenv``), however it is spelled.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "libraries" / "ExtremeTesting"
MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ"
            and isinstance(node.value, ast.Name) and node.value.id == "os") \
        or (isinstance(node, ast.Name) and node.id == "environ")


def changes(source: str) -> list[int]:
    """The lines of ``source`` that change the process environment."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        if any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets):
            found.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in MUTATORS and _is_environ(node.func.value):
                found.append(node.lineno)
            if node.func.attr in ("putenv", "unsetenv") and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id == "os":
                found.append(node.lineno)
    return found


def library_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "lab" not in p.relative_to(PACKAGE).parts)


def test_no_library_changes_the_process_environment():
    found = [f"{path.relative_to(ROOT)}:{line}" for path in library_files()
             for line in changes(path.read_text(encoding="utf-8"))]
    assert found == [], "pass an env to the child or the client instead: " + ", ".join(found)


def test_git_grep_finds_no_environ_assignment_outside_the_lab():
    """The issue's own check: ``git grep -n "os.environ\\[" libraries | grep -v /lab/``."""
    try:
        out = subprocess.run(["git", "grep", "-n", r"os.environ\[", "--", "libraries"],
                             cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("git is not available here")
    assigned = [line for line in out.splitlines() if "/lab/" not in line
                and "=" in line.split("os.environ[", 1)[1].split("]", 1)[1][:3]
                and "==" not in line.split("os.environ[", 1)[1].split("]", 1)[1][:4]]
    assert assigned == []


@pytest.mark.parametrize("snippet", [
    "import os\nos.environ['PATH'] = 'x'",
    "import os\nos.environ['PATH'] += ':x'",
    "import os\nos.environ.update(A='1')",
    "import os\nos.environ.setdefault('A', '1')",
    "import os\ndel os.environ['A']",
    "import os\nos.environ.pop('A', None)",
    "import os\nos.putenv('A', '1')",
    "from os import environ\nenviron['A'] = '1'",
])
def test_the_check_catches_every_way_to_change_it(snippet):
    assert changes(snippet)


@pytest.mark.parametrize("snippet", [
    "import os\nx = os.environ['PATH']",
    "import os\nx = os.environ.get('PATH')",
    "import os\nenv = dict(os.environ)\nenv['PATH'] = 'x'",
    "import os\nenv = {**os.environ, 'A': '1'}",
])
def test_reading_it_or_copying_it_is_fine(snippet):
    assert changes(snippet) == []


def test_the_faults_runner_passes_its_path_to_the_child_only(monkeypatch, tmp_path):
    """os-faults looks ansible-playbook up through our finder; PATH stays as it was."""
    from ExtremeTesting.faults import runner
    from os_faults.ansible import executor

    monkeypatch.setenv("PATH", str(tmp_path))  # no ansible-playbook on it
    monkeypatch.setattr(executor, "find_ansible", executor.find_ansible)
    before = dict(__import__("os").environ)
    runner.ensure_ansible_found()
    assert executor.find_ansible() == runner.find_ansible_playbook()
    assert dict(__import__("os").environ) == before
    env = runner.BoundedAnsibleRunner(timeout=5)._environment(str(tmp_path))
    assert env["PATH"].split(":")[0] == str(Path(runner.find_ansible_playbook()).parent)

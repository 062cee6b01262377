"""One rule decides which cloud every library connects to, and no library changes the
process environment to get there."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import yaml
from ExtremeTesting import target as target_module
from ExtremeTesting.cloud.connection import CLOUD_RULE, settings_for
from ExtremeTesting.cloud.context import CloudContext
from ExtremeTesting.load import Load
from ExtremeTesting.load.workloads import ConnectionSpec
from ExtremeTesting.monitor.config import credentials
from ExtremeTesting.policy import Policy

PACKAGE = Path(__file__).resolve().parents[2] / "libraries" / "ExtremeTesting"
# faults/ belongs to another change under way (its runner prepends to PATH); lab/ may set
# its own processes' environment. Nothing else may.
NOT_YET = {"faults/runner.py"}


@pytest.fixture
def files(tmp_path, monkeypatch):
    for name in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD", "OS_AUTH_URL",
                 "EXTREME_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXTREME_TARGET", str(tmp_path / "no-target.yaml"))
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {
        name: {"auth": {"auth_url": f"http://127.0.0.1:9/{name}/v3", "username": "u",
                        "password": "p", "project_name": "p", "user_domain_name": "Default",
                        "project_domain_name": "Default"}}
        for name in ("from-target", "from-argument", "from-env")}}))

    def write(**data):
        path = tmp_path / "target.yaml"
        path.write_text(yaml.safe_dump({"name": "t", "clouds_yaml": "clouds.yaml", **data}))
        return str(path)

    return write


def _every_library(path: str, argument: str | None) -> dict[str, str | None]:
    """The cloud each library would connect to, with target ``path`` and ``argument``."""
    target = target_module.load(path)
    context = CloudContext(target=path, cloud=argument)
    context._resolve_settings()
    load = Load(target=path, cloud=argument)
    return {
        "rule": settings_for(target, argument).cloud,
        "Cloud": context.settings.cloud,
        "Load": load._connection_spec()["cloud"] or None,
        # Monitor and Policy take no cloud argument: the target, then $OS_CLOUD
        "Monitor": credentials(target).auth_url.split("/")[3] if argument is None else None,
        "Policy": Policy(target=path)._settings(argument).cloud,
    }


def test_the_argument_wins_then_the_target_then_os_cloud(files, monkeypatch):
    monkeypatch.setenv("OS_CLOUD", "from-env")
    chosen = _every_library(files(cloud="from-target"), "from-argument")
    assert chosen.pop("Monitor") is None  # the Monitor takes no cloud argument
    assert set(chosen.values()) == {"from-argument"}, chosen
    assert set(_every_library(files(cloud="from-target"), None).values()) == {"from-target"}
    assert set(_every_library(files(), None).values()) == {"from-env"}


def test_no_cloud_anywhere_fails_naming_the_rule(files):
    path = files()
    target = target_module.load(path)
    assert settings_for(target).cloud is None
    with pytest.raises(Exception, match="names no cloud for the monitor: " + CLOUD_RULE
                       .replace("$", r"\$")):
        credentials(target)


def test_a_load_worker_connects_without_touching_the_environment(files, tmp_path):
    before = dict(os.environ)
    spec = ConnectionSpec(cloud="from-target", clouds_yaml=str(tmp_path / "clouds.yaml"),
                          timeout=3)
    conn = spec.connect()  # authenticates lazily: no request is sent
    assert conn.config.name == "from-target"
    assert conn.config.config["auth"]["auth_url"].endswith("/from-target/v3")
    assert dict(os.environ) == before


def _assigns_environ(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            if isinstance(target, ast.Subscript) and ast.unparse(target.value) in ("os.environ",
                                                                              "environ"):
                lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("update", "setdefault", "pop", "clear") \
                and ast.unparse(node.func.value) == "os.environ":
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.putenv",
                                                                     "os.unsetenv"):
            lines.append(node.lineno)
    return lines


def test_no_library_changes_the_process_environment():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("lab/"):
            continue
        lines = _assigns_environ(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[relative] = lines
    assert set(found) <= NOT_YET, found
    # the check itself sees an assignment
    assert _assigns_environ(ast.parse('import os\nos.environ["X"] = "1"\n')) == [2]

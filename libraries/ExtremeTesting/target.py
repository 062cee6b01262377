"""The target file: one description of one cloud (see shared/ARCHITECTURE.md).

A target file is YAML whose top-level keys are also Robot variables when the file is
given to ``--variablefile``. Libraries take the file's path as their import argument;
when it is omitted they use ``$EXTREME_TARGET``, then the running lab's target file.
Credentials are never in the file: sections name the environment variables that hold
them (``password_env``), and clouds.yaml/secure.yaml hold the cloud's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import TargetError

ENV_TARGET = "EXTREME_TARGET"
KNOWN_KEYS = {
    "name", "description", "destructive", "cloud", "clouds_yaml", "os_faults", "ssh",
    "nodes", "services", "vip", "endpoints", "bmcs", "switches", "probes",
    "expectations", "known_findings", "lab", "personas", "policy_matrix",
}


def lab_dir() -> Path:
    return Path(os.environ.get("EXTREME_LAB_DIR", "/var/lib/extreme-lab"))


def default_target_path() -> Path:
    env = os.environ.get(ENV_TARGET)
    return Path(env) if env else lab_dir() / "target.yaml"


@dataclass
class Target:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data.get("name", self.path.stem))

    @property
    def destructive(self) -> bool:
        return self.data.get("destructive") is True

    def require_destructive(self, action: str) -> None:
        """The safety interlock: refuse, before touching anything, a cloud not marked
        ``destructive: true``."""
        if not self.destructive:
            from .errors import SafetyError

            raise SafetyError(
                f"Refused to {action}: target '{self.name}' ({self.path}) is not marked "
                f"destructive. Set 'destructive: true' in the target file only for a cloud "
                f"you may break.")

    def section(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise TargetError(f"Target file {self.path}: '{key}' must be a mapping, "
                              f"got {type(value).__name__}.")
        return value

    def require(self, key: str) -> Any:
        if key not in self.data:
            raise TargetError(f"Target file {self.path} has no '{key}' section; add it "
                              f"(see variables/example-3-controllers.yaml).")
        return self.data[key]

    def resolve(self, value: str) -> Path:
        """A path from the file, relative to the file's folder when not absolute."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.path.parent / path)

    def node(self, name: str) -> dict[str, Any]:
        nodes = self.section("nodes")
        if name not in nodes:
            raise TargetError(f"Unknown node '{name}'. Known nodes: "
                              f"{', '.join(sorted(nodes)) or 'none'}.")
        return nodes[name] or {}


def load(path: str | os.PathLike | None = None) -> Target:
    """Read and check a target file; errors name the file and the fix."""
    target_path = Path(path) if path else default_target_path()
    if not target_path.is_file():
        hint = ("Start the lab with 'extreme lab up', or pass a target file "
                f"(library argument or ${ENV_TARGET}).")
        raise TargetError(f"Target file {target_path} does not exist. {hint}")
    try:
        data = yaml.safe_load(target_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TargetError(f"Target file {target_path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise TargetError(f"Target file {target_path} must be a mapping of sections.")
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise TargetError(f"Target file {target_path} has unknown sections: "
                          f"{', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_KEYS))}.")
    if "destructive" in data and not isinstance(data["destructive"], bool):
        raise TargetError(f"Target file {target_path}: 'destructive' must be true or false.")
    return Target(target_path, data)


def secret_from_env(variable: str, what: str) -> str:
    """A credential from the environment; never logged."""
    value = os.environ.get(variable)
    if not value:
        raise TargetError(f"{what}: environment variable {variable} is not set. Export it "
                          f"(for the lab: eval \"$(extreme lab env)\").")
    return value

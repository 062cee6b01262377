"""The target file: one description of one cloud (every key: variables/example-3-controllers.yaml).

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

from . import datafiles
from .errors import ExtremeError, TargetError

ENV_TARGET = "EXTREME_TARGET"
KNOWN_KEYS = {
    "name", "description", "destructive", "cloud", "clouds_yaml", "os_faults", "ssh",
    "nodes", "services", "vip", "endpoints", "bmcs", "switches", "probes",
    "expectations", "known_findings", "not_applicable", "lab", "load_balancer", "changes",
    "personas", "policy_matrix", "clusters", "safeguards",
    "logs",  # where each service logs, per node (the evidence of failed cases)
}
# The lab's limits, known findings and not-applicable cases: one file, read at every load
# (so an edit takes effect on the next run with the lab left up). It wins over the copy
# `extreme lab up` folded into the lab's target file.
LAB_EXPECTATIONS = "lab-expectations.yaml"
LAB_SECTIONS = ("expectations", "probes", "known_findings", "not_applicable", "safeguards")
NOT_APPLICABLE_SHAPE = "[{test: <glob>, reason: <text>}]"


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


# The shape of each section: a mapping of named entries (each itself a mapping), a plain
# mapping, a list, or a scalar. Checked once at load, so a keyword never meets a list where
# it expects a mapping.
ENTRY_SECTIONS = ("nodes", "services", "bmcs", "switches")
MAPPING_SECTIONS = ("endpoints", "ssh", "probes", "expectations", "lab", "load_balancer",
                    "changes", "clusters", "safeguards")
SCALAR_KEYS = ("name", "description", "cloud", "clouds_yaml", "vip")
EXAMPLE = "variables/example-3-controllers.yaml"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return "a text"  # the value itself is never echoed: a mistyped line may hold a secret


def _shape_problem(data: dict[str, Any]) -> str | None:
    """The first wrongly shaped section, in words with its fix; None when all are right."""
    for key in ENTRY_SECTIONS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            return (f"'{key}' must be a mapping of names to settings (e.g. '{key}:' then "
                    f"'  ctl1: {{...}}'), got {_kind(value)}")
        for name, entry in value.items():
            if entry is not None and not isinstance(entry, dict):
                return (f"'{key}.{name}' must be a mapping of settings, got {_kind(entry)}")
    for key in MAPPING_SECTIONS:
        value = data.get(key)
        if value is not None and not isinstance(value, dict):
            return f"'{key}' must be a mapping, got {_kind(value)}"
    if data.get("os_faults") is not None and not isinstance(data["os_faults"], (str, dict)):
        return ("'os_faults' must be a file name or a mapping (os-faults' config), got "
                f"{_kind(data['os_faults'])}")
    if data.get("known_findings") is not None and not isinstance(data["known_findings"], list):
        return f"'known_findings' must be a list of {{id, test}} entries, got " \
               f"{_kind(data['known_findings'])}"
    for key in SCALAR_KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            return f"'{key}' must be a single value, got {_kind(value)}"
    if "destructive" in data and not isinstance(data["destructive"], bool):
        return "'destructive' must be true or false"
    return None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line from PyYAML's multi-line message: what and where (1-based line, column)."""
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or getattr(error, "context", None) or "syntax error"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{what}{where}"


def load(path: str | os.PathLike | None = None) -> Target:
    """Read and check a target file; every problem is one line naming the file and the fix."""
    target_path = Path(path) if path else default_target_path()
    hint = ("Start the lab with 'extreme lab up', or pass a target file "
            f"(library argument or ${ENV_TARGET}).")
    if target_path.is_dir():
        raise TargetError(f"Target file {target_path} is a folder, not a file. Give the "
                          f"path of the target YAML file inside it.")
    if not target_path.is_file():
        raise TargetError(f"Target file {target_path} does not exist. {hint}")
    try:
        text = target_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TargetError(f"Target file {target_path} is not a text file (not UTF-8). Give "
                          f"the target YAML file (see {EXAMPLE}).") from None
    except OSError as error:
        raise TargetError(f"Target file {target_path} cannot be read: "
                          f"{error.strerror or error}. Check its permissions.") from None
    if "\x00" in text:
        raise TargetError(f"Target file {target_path} is a binary file, not YAML. Give the "
                          f"target YAML file (see {EXAMPLE}).")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TargetError(f"Target file {target_path} is not valid YAML: "
                          f"{_yaml_problem(error)}. Fix the file there.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TargetError(f"Target file {target_path} must be a mapping of sections "
                          f"(name:, nodes:, ...), got {_kind(data)}. Fix the file (see {EXAMPLE}).")
    unknown = sorted(str(k) for k in set(data) - KNOWN_KEYS)
    if unknown:
        raise TargetError(f"Target file {target_path} has unknown sections: "
                          f"{', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_KEYS))}.")
    problem = _shape_problem(data)
    if problem:
        raise TargetError(f"Target file {target_path}: {problem}. Fix the file "
                          f"(see {EXAMPLE}).")
    if data.get("name") == "lab" and isinstance(data.get("lab"), dict):
        data.update(lab_expectations())
    check_verdict_sections(data, f"Target file {target_path}")
    return Target(target_path, data)


def load_if_any(path: str | os.PathLike | None = None) -> Target | None:
    """The target, or None for a library that can work without one: no path given and
    neither $EXTREME_TARGET's file nor the running lab's exists. A target given as an
    argument, or a file that exists but is bad, still raises its one line."""
    if not path and not default_target_path().exists():
        return None
    return load(path)


def lab_expectations(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The sections of the lab's expectations file (variables/lab-expectations.yaml of the
    checkout, ExtremeTesting/variables/ when installed); a missing file is an error."""
    try:
        source = Path(path) if path else datafiles.data_file("variables", LAB_EXPECTATIONS)
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TargetError(f"{source} is not valid YAML ({type(error).__name__}): fix "
                          f"the file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TargetError(f"The lab's expectations cannot be read "
                          f"({type(error).__name__}): restore the file.") from None
    except ExtremeError as error:
        raise TargetError(str(error)) from None
    if not isinstance(data, dict):
        raise TargetError(f"{source} must be a mapping of sections.")
    unknown = sorted(set(data) - set(LAB_SECTIONS))
    if unknown:
        raise TargetError(f"{source} may only hold {', '.join(LAB_SECTIONS)}; it has "
                          f"{', '.join(unknown)}.")
    check_verdict_sections(data, str(source))
    return data


def check_verdict_sections(data: dict[str, Any], where: str) -> None:
    """``known_findings`` and ``not_applicable`` have the shapes the report needs."""
    from . import findings

    findings.parse(data.get("known_findings"), where)
    entries = data.get("not_applicable")
    if entries in (None, ""):
        return
    if not isinstance(entries, list):
        raise TargetError(f"{where}: 'not_applicable' must be a list "
                          f"{NOT_APPLICABLE_SHAPE}.")
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"test", "reason"} or not all(
                isinstance(entry[k], str) and entry[k].strip() for k in ("test", "reason")):
            raise TargetError(f"{where}: not_applicable entry #{index} must be "
                              f"{{test: <glob>, reason: <text>}} (both non-empty text).")


def secret_from_env(variable: str, what: str) -> str:
    """A credential from the environment; never logged."""
    value = os.environ.get(variable)
    if not value:
        raise TargetError(f"{what}: environment variable {variable} is not set. Export it "
                          f"(for the lab: eval \"$(extreme lab env)\").")
    return value

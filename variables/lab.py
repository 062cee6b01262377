"""Robot variable file: the target file's sections as variables, for every suite.

Loads the target file named by ``$EXTREME_TARGET`` (default: the running lab's
``/var/lib/extreme-lab/target.yaml``) and returns each of its sections as a variable
(``${nodes}``, ``${services}``, ``${endpoints}``, ``${expectations}``...), dictionaries
usable with dots (``${expectations.switch_restart.max_outage}``), plus:

``${TARGET}``
    the target file's path, the import argument of every ExtremeTesting library;
``${DESTRUCTIVE LOCK}``
    the pabot lock every destructive case holds (``destructive:<target name>``, the one
    the Faults library takes);
``${API SERVICES}`` / ``${CONTROLLERS}``
    the services with an API behind the load balancer, the nodes with the
    ``controller`` role.

``expectations`` are merged: every scenario section (but ``workloads``) gets the
``default`` section's keys it does not set itself, so a suite reads
``${expectations.database_outage.recovery}`` whether the target says it there or in
``default``.

The lab's target file (``name: lab``) does not carry ``expectations``, ``probes`` or
``known_findings`` yet: they come from ``variables/lab-expectations.yaml`` next to this file,
for each of those sections the target file lacks. A target file of another cloud is used
as it is.

Use: ``robot --variablefile variables/lab.py suites`` (the suites' resources import it
themselves, so pabot and robot need no option). Credentials are never in a target file:
it names the environment variables that hold them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from robot.utils import DotDict

from ExtremeTesting import target as targets

HERE = Path(__file__).resolve().parent
LAB_OVERLAY = HERE / "lab-expectations.yaml"
OVERLAID = ("expectations", "probes", "known_findings")
NOT_MERGED = ("default", "workloads")  # workloads: one SLA per workload, no outage limits


def merged_expectations(expectations: dict[str, Any]) -> dict[str, Any]:
    """Every scenario section completed with the ``default`` section's keys."""
    default = dict(expectations.get("default") or {})
    merged: dict[str, Any] = {"default": default}
    for scenario, limits in expectations.items():
        if scenario == "default":
            continue
        if scenario in NOT_MERGED:
            merged[scenario] = limits
            continue
        if isinstance(limits, dict):
            merged[scenario] = {**default, **limits}
        else:
            merged[scenario] = limits
    return merged


def load_overlay(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise targets.TargetError(f"{path} must be a mapping of sections.")
    unknown = sorted(set(data) - set(OVERLAID))
    if unknown:
        raise targets.TargetError(f"{path} may only hold {', '.join(OVERLAID)}; it has "
                                  f"{', '.join(unknown)}.")
    return data


def target_variables(path: str | os.PathLike | None = None,
                     overlay: str | os.PathLike | None = None) -> dict[str, Any]:
    target = targets.load(path)
    data = dict(target.data)
    overlay_path = Path(overlay) if overlay else (LAB_OVERLAY if target.name == "lab" else None)
    if overlay_path is not None:
        for key, value in load_overlay(overlay_path).items():
            data.setdefault(key, value)
    data.setdefault("expectations", {})
    data.setdefault("probes", {})
    data.setdefault("known_findings", [])
    data["expectations"] = merged_expectations(data["expectations"] or {})
    variables: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = DotDict(value)
        elif isinstance(value, list):
            value = [DotDict(v) if isinstance(v, dict) else v for v in value]
        variables[key] = value
    services = data.get("services") or {}
    nodes = data.get("nodes") or {}
    variables["TARGET"] = str(target.path.resolve())
    variables["DESTRUCTIVE LOCK"] = f"destructive:{target.name}"
    variables["API SERVICES"] = [name for name, s in services.items() if (s or {}).get("api")]
    variables["CONTROLLERS"] = [name for name, n in nodes.items()
                                if "controller" in ((n or {}).get("roles") or [])]
    return variables


def get_variables(path: str | None = None, overlay: str | None = None) -> dict[str, Any]:
    """Robot's entry point: ``--variablefile variables/lab.py[:path[:overlay]]``."""
    return target_variables(path or None, overlay or None)

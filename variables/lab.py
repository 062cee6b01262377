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

For the lab's target file (``name: lab``) the ``expectations``, ``probes``,
``known_findings`` and ``not_applicable`` sections come from
``variables/lab-expectations.yaml``, read again at every run: it wins over the copy
``extreme lab up`` folded into the target file, so an edit takes effect on the next run
with the lab left up (see ExtremeTesting.target). A target file of another cloud is used
as it is; an explicit ``overlay`` file wins over either.

Use: ``robot --variablefile variables/lab.py suites`` (the suites' resources import it
themselves, so pabot and robot need no option). Credentials are never in a target file:
it names the environment variables that hold them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from robot.utils import DotDict

from ExtremeTesting import target as targets

HERE = Path(__file__).resolve().parent
LAB_OVERLAY = HERE / "lab-expectations.yaml"
OVERLAID = targets.LAB_SECTIONS
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
    if not path.is_file():
        raise targets.TargetError(f"Overlay {path} does not exist: give the path of a file "
                                  f"shaped like variables/lab-expectations.yaml.")
    return targets.lab_expectations(path)


def target_variables(path: str | os.PathLike | None = None,
                     overlay: str | os.PathLike | None = None) -> dict[str, Any]:
    target = targets.load(path)
    data = dict(target.data)
    if overlay:
        data.update(load_overlay(Path(overlay)))
    data.setdefault("expectations", {})
    data.setdefault("probes", {})
    data.setdefault("known_findings", [])
    data.setdefault("not_applicable", [])
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

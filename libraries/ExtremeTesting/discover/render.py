"""The discovered target as YAML with comments, written from a template (PyYAML drops
comments). Never a secret: passwords are the names of environment variables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from .build import Discovery

HEADER = """\
# Target file written by `extreme target discover` from cloud '{cloud}' on {when}
# ({seconds:.1f} s). It is what the cloud showed at that moment: read it through before a
# destructive run, and check it again later with `extreme target discover --check FILE`.
# Lines starting with "# FILL IN" say what discovery could not find.
# The sections are documented in variables/example-3-controllers.yaml.
"""

COMMENTS = {
    "name": "# Names the pabot lock (destructive:<name>) and the report.",
    "destructive": "# The safety interlock: set true only for a cloud you may break.",
    "cloud": "# The clouds.yaml entry openstacksdk uses (credentials stay in clouds.yaml /\n"
             "# secure.yaml or the environment, never here).",
    "clouds_yaml": "# Where that clouds.yaml is (else $OS_CLIENT_CONFIG_FILE or the usual places).",
    "vip": "# The virtual address in front of the APIs (the catalog's endpoints' host).",
    "endpoints": "# The catalog's public endpoints, per service type.",
    "ssh": "# How the libraries reach the nodes (key login only).",
    "nodes": "# Every node discovery reached or was told of: its address, roles and the\n"
             "# services found running on it (by their processes).",
    "services": "# Each service: its nodes, the process pattern that finds it (pgrep -f, as\n"
                "# os-faults' process driver), the port it serves on each node (HAProxy's\n"
                "# backend servers, else its usual port when the node listens on it), the\n"
                "# catalog type of an API. expected_downtime is a starting value: measure.",
    "load_balancer": "# HAProxy as found on its node: its stats socket and stats page\n"
                     "# (from its configuration).",
    "os_faults": "# The Faults library's os-faults configuration: the nodes (key login) and,\n"
                 "# for each service whose systemd unit was found, its system_service driver.",
    "logs": "# Where each service logs on its nodes (the evidence of a failed case: the lines\n"
            "# naming its failed requests and the fault window's warnings).",
    "bmcs": "# BMCs as given with --bmc; the password comes from the environment variable\n"
            "# named by password_env.",
}

MISSING = """\
# FILL IN: bmcs (node -> {protocol: ipmi|redfish, address, port, username, password_env}):
#   a BMC is not visible from the cloud; give --bmc NODE=ADDRESS (or redfish://ADDRESS).
# FILL IN: switches, if switch cases run (see variables/example-3-controllers.yaml).
# FILL IN: probes, expectations and known_findings: start from
#   variables/example-3-controllers.yaml and `extreme expectations` on a known-good cloud.
"""


def render(found: Discovery, cloud_name: str = "") -> str:
    parts = [HEADER.format(cloud=cloud_name or found.data.get("cloud", "?"),
                           when=datetime.now().isoformat(timespec="seconds"),
                           seconds=found.seconds)]
    if found.notes:
        parts.append("#\n# What discovery could not find or read:")
        parts += [_comment(f"FILL IN: {note}") for note in found.notes]
    parts.append("")
    for key, value in found.data.items():
        if key in COMMENTS:
            parts.append(COMMENTS[key])
        parts.append(_section(key, value))
    if "bmcs" in found.data:
        parts.append(MISSING.split("\n", 2)[2])
    else:
        parts.append(MISSING)
    if found.data.get("bmcs") and any(not b.get("username") for b in found.data["bmcs"].values()):
        parts.append("# FILL IN: bmcs.<node>.username (give --bmc-user).")
    return "\n".join(parts).rstrip() + "\n"


def _section(key: str, value: Any) -> str:
    if key in ("nodes", "services", "bmcs", "logs") and isinstance(value, dict):
        lines = [f"{key}:"]
        for name, entry in value.items():
            flow = yaml.safe_dump(entry, default_flow_style=True, sort_keys=False,
                                  width=10_000).strip()
            lines.append(f"  {_scalar(name)}: {flow}")
        return "\n".join(lines) + "\n"
    return yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False)


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")


def _comment(text: str, width: int = 92) -> str:
    words, lines, line = text.split(), [], "#"
    for word in words:
        if len(line) + len(word) + 1 > width and line != "#":
            lines.append(line)
            line = "#  "
        line += " " + word
    lines.append(line)
    return "\n".join(lines)

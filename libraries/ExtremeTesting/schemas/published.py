"""Responses checked against the published response schemas of each API, at the
microversion used: a cloud that answers with a missing field or a changed shape after an
upgrade breaks clients while every status code stays green.

The schemas are tempest's (``tempest.lib.api_schema``, from the ``tempest`` package: the
optional extra ``pip install 'openstack-extreme-testing[schemas]'``); none is copied here.
Tempest publishes them for Compute (every microversion that changed a response) and Block
Storage; it has none for Identity, Networking, Image or Placement (:data:`NOT_COVERED`).
For a microversion, the schema is the one of the highest ``v2_N`` package at or below it
that defines the response (as tempest's own clients choose). Validation is jsonschema's
Draft 4 with tempest's format checker when it imports (its date-time and base64 formats).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXTRA = "pip install 'openstack-extreme-testing[schemas]'"
PACKAGE = "tempest.lib.api_schema.response"
# (service type, method, path under the versioned endpoint) -> (module, schema name).
OPERATIONS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("compute", "GET", "/servers"): ("servers", "list_servers"),
    ("compute", "GET", "/servers/detail"): ("servers", "list_servers_detail"),
    ("compute", "GET", "/servers/{id}"): ("servers", "get_server"),
    ("compute", "GET", "/flavors"): ("flavors", "list_flavors"),
    ("compute", "GET", "/flavors/detail"): ("flavors", "list_flavors_details"),
    ("compute", "GET", "/os-hypervisors/detail"): ("hypervisors", "list_hypervisors_detail"),
    ("compute", "GET", "/os-services"): ("services", "list_services"),
    ("compute", "GET", "/os-keypairs"): ("keypairs", "list_keypairs"),
    ("compute", "GET", "/limits"): ("limits", "get_limit"),
    ("volumev3", "GET", "/volumes/detail"): ("volumes", "list_volumes_detail"),
    ("volumev3", "GET", "/types"): ("volume_types", "list_volume_types"),
}
PACKAGES = {"compute": ("compute", "v2_"), "volumev3": ("volume", "v3_")}
NOT_COVERED = ("identity", "network", "image", "placement")
MAX_MISMATCHES = 20


class SchemasUnavailable(Exception):
    """tempest is not installed: say how to install the extra."""


@dataclass
class Check:
    """One response checked: which schema, and every field that did not match."""

    service: str
    method: str
    path: str
    microversion: str
    schema: str = ""  # e.g. tempest.lib.api_schema.response.compute.v2_47.servers.get_server
    mismatches: list[str] = field(default_factory=list)
    covered: bool = True

    @property
    def matches(self) -> bool:
        return self.covered and not self.mismatches


def available() -> bool:
    return importlib.util.find_spec("tempest") is not None and \
        importlib.util.find_spec(PACKAGE) is not None


def operation_of(service: str, method: str, path: str) -> tuple[str, str] | None:
    """The (module, schema name) for a request, path ids replaced by ``{id}``."""
    clean = path.split("?", 1)[0].rstrip("/") or "/"
    for (kind, verb, template), found in OPERATIONS.items():
        if kind != service or verb != method.upper():
            continue
        pattern = "^" + re.escape(template).replace(re.escape("{id}"), "[^/]+") + "$"
        if re.match(pattern, clean) and not (template.endswith("{id}") and
                                             clean.rsplit("/", 1)[-1] == "detail"):
            return found
    return None


def _version(text: str) -> tuple[int, int]:
    major, _, minor = (text or "").partition(".")
    return int(major or 0), int(minor or 0)


def schema_for(service: str, module: str, name: str, microversion: str = "") -> tuple[str, dict]:
    """(dotted name, schema) at ``microversion``: the highest versioned package at or below
    it whose ``module`` defines ``name``; raises :class:`SchemasUnavailable`."""
    if not available():
        raise SchemasUnavailable(f"tempest is not installed: the response schemas come from "
                                 f"it ({EXTRA}).")
    area, prefix = PACKAGES[service]
    root = importlib.import_module(f"{PACKAGE}.{area}")
    versions = [int(m.group(1)) for path in getattr(root, "__path__", [])
                for child in Path(path).iterdir()
                if child.is_dir() and (m := re.match(rf"^{prefix}(\d+)$", child.name))]
    minor = _version(microversion)[1] if microversion else (1 if prefix == "v2_" else 0)
    candidates = sorted((v for v in versions if v <= minor), reverse=True)
    if area == "volume":  # the base Block Storage schemas sit in the package itself
        candidates.append(-1)
    for minor in candidates:
        dotted = (f"{PACKAGE}.{area}.{module}" if minor < 0 else
                  f"{PACKAGE}.{area}.{prefix}{minor}.{module}")
        if importlib.util.find_spec(dotted) is None:
            continue
        loaded = importlib.import_module(dotted)
        if hasattr(loaded, name):
            return f"{dotted}.{name}", getattr(loaded, name)
    raise SchemasUnavailable(f"tempest has no {module}.{name} schema for {service} "
                             f"{microversion or 'base version'}.")


def _validator(schema: dict) -> Any:
    import jsonschema

    try:  # tempest's format checker knows its own formats (iso8601-date-time, base64)
        from tempest.lib.common.jsonschema_validator import FORMAT_CHECKER
    except Exception:  # noqa: BLE001 - without oslo, jsonschema's own formats
        FORMAT_CHECKER = jsonschema.Draft4Validator.FORMAT_CHECKER  # noqa: N806
    return jsonschema.Draft4Validator(schema, format_checker=FORMAT_CHECKER)


def field_of(path: Any) -> str:
    """``servers[0].status`` from a jsonschema error's path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the body)"


def check(service: str, method: str, path: str, status: int, body: Any,
          microversion: str = "") -> Check:
    """The response checked against its published schema; an operation without one (or an
    API tempest does not cover) is ``covered=False``."""
    found = Check(service, method.upper(), path, microversion)
    operation = operation_of(service, method, path)
    if operation is None or not 200 <= status < 400:
        # As tempest does: only a success is checked (an error is a failure of its own).
        found.covered = False
        return found
    found.schema, schema = schema_for(service, *operation, microversion=microversion)
    codes = schema.get("status_code") or []
    if codes and status not in codes:  # a 2xx the API does not document
        found.mismatches.append(f"status: {status}, the schema expects "
                                f"{', '.join(map(str, codes))}")
    body_schema = schema.get("response_body")
    if body_schema:
        errors = sorted(_validator(body_schema).iter_errors(body),
                        key=lambda e: list(map(str, e.absolute_path)))
        for error in errors[:MAX_MISMATCHES]:
            found.mismatches.append(f"{field_of(error.absolute_path)}: {error.message[:200]}")
        if len(errors) > MAX_MISMATCHES:
            found.mismatches.append(f"... {len(errors) - MAX_MISMATCHES} more")
    return found

"""One response checked against the response schema published for its request, at the
microversion the API answered with.

The schemas are tempest's (``tempest.lib.api_schema``, from the ``tempest`` package: the
optional extra ``pip install 'openstack-extreme-testing[schemas]'``); none is copied here.
Tempest publishes them for Compute (every microversion that changed a response) and Block
Storage; it has none for Identity, Networking, Image or Placement (:data:`NOT_COVERED`).
For a microversion, the schema is the one of the highest ``v2_N`` (``v3_N``) package at or
below it that defines the response, as tempest's own clients choose. Validation is as
tempest's ``RestClient.validate_response``: a successful answer only, its status among the
schema's, its body (jsonschema Draft 4 with tempest's format checker when it imports) and
headers against the schema, no body where the schema has none.

A mismatch names the field and the rule broken, never the value found there: an answer can
carry a secret (a server's ``adminPass``, a key pair's ``private_key``).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EXTRA = "pip install 'openstack-extreme-testing[schemas]'"
NOT_CHECKED = ("not checked: install 'openstack-extreme-testing[schemas]' (the response "
               "schemas are tempest's)")
PACKAGE = "tempest.lib.api_schema.response"
# (service type, method, path under the versioned endpoint) -> (module, schema name).
# "{id}" stands for one path segment (never "detail"); "/" is the unversioned root (the
# list of versions), "/{version}" a versioned root (one version document).
OPERATIONS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("compute", "GET", "/"): ("versions", "list_versions"),
    ("compute", "GET", "/{version}"): ("versions", "get_one_version"),
    ("compute", "GET", "/servers"): ("servers", "list_servers"),
    ("compute", "GET", "/servers/detail"): ("servers", "list_servers_detail"),
    ("compute", "GET", "/servers/{id}"): ("servers", "get_server"),
    ("compute", "POST", "/servers"): ("servers", "create_server"),
    ("compute", "DELETE", "/servers/{id}"): ("servers", "delete_server"),
    ("compute", "GET", "/flavors"): ("flavors", "list_flavors"),
    ("compute", "GET", "/flavors/detail"): ("flavors", "list_flavors_details"),
    ("compute", "GET", "/flavors/{id}"): ("flavors", "create_update_get_flavor_details"),
    ("compute", "POST", "/flavors"): ("flavors", "create_update_get_flavor_details"),
    ("compute", "DELETE", "/flavors/{id}"): ("flavors", "delete_flavor"),
    ("compute", "GET", "/os-keypairs"): ("keypairs", "list_keypairs"),
    ("compute", "GET", "/os-keypairs/{id}"): ("keypairs", "get_keypair"),
    ("compute", "POST", "/os-keypairs"): ("keypairs", "create_keypair"),
    ("compute", "DELETE", "/os-keypairs/{id}"): ("keypairs", "delete_keypair"),
    ("compute", "GET", "/os-hypervisors/detail"): ("hypervisors", "list_hypervisors_detail"),
    ("compute", "GET", "/os-services"): ("services", "list_services"),
    ("compute", "GET", "/limits"): ("limits", "get_limit"),
    ("volumev3", "GET", "/volumes"): ("volumes", "list_volumes_no_detail"),
    ("volumev3", "GET", "/volumes/detail"): ("volumes", "list_volumes_with_detail"),
    ("volumev3", "GET", "/volumes/{id}"): ("volumes", "show_volume"),
    ("volumev3", "POST", "/volumes"): ("volumes", "create_volume"),
    ("volumev3", "DELETE", "/volumes/{id}"): ("volumes", "delete_volume"),
    ("volumev3", "GET", "/types"): ("volume_types", "list_volume_types"),
}
# Tempest checks a server create against the variant with ``adminPass`` when the cloud
# returns passwords (its enable_instance_password): the answer tells which one applies.
VARIANTS = {("servers", "create_server"): ("server", "adminPass",
                                           "create_server_with_admin_pass")}
PACKAGES = {"compute": ("compute", "v2_"), "volumev3": ("volume", "v3_")}
BASE_VERSIONS = {"compute": "2.1", "volumev3": "3.0"}
# Service types and the names APIs give themselves in OpenStack-API-Version.
ALIASES = {"compute": "compute", "volumev3": "volumev3", "volume": "volumev3",
           "block-storage": "volumev3", "block_storage": "volumev3"}
NOT_COVERED = ("identity", "network", "image", "placement")
MAX_MISMATCHES = 20

_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)?$")
# An old-style endpoint's project id (.../v2.1/<project id>/servers): 32 hex digits.
_PROJECT_SEGMENT = re.compile(r"^[0-9a-f]{32}$")
_ID_SEGMENT = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
                         r"[0-9a-f]{32}|\d+)$", re.IGNORECASE)


class SchemasUnavailable(Exception):
    """tempest is not installed: say how to install the extra."""


class NoSchema(SchemasUnavailable):
    """tempest is installed but publishes no schema for this response."""


@dataclass
class Check:
    """One response checked: which schema, and every field that did not match."""

    service: str
    method: str
    path: str
    microversion: str
    schema: str = ""  # e.g. tempest.lib.api_schema.response.compute.v2_47.servers.get_server
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, what is wrong)
    covered: bool = True

    @property
    def mismatches(self) -> list[str]:
        return [f"{where}: {what}" for where, what in self.problems]

    @property
    def matches(self) -> bool:
        return self.covered and not self.problems


def available() -> bool:
    return importlib.util.find_spec("tempest") is not None and \
        importlib.util.find_spec(PACKAGE) is not None


def tempest_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tempest")
    except PackageNotFoundError:
        return ""


def canonical(service: str) -> str:
    """The service type this module knows an API by (``volume`` -> ``volumev3``)."""
    return ALIASES.get((service or "").lower(), (service or "").lower())


def request_path(url: str) -> str:
    """The path of a request under its API's versioned endpoint, without the query:
    ``http://vip:8774/v2.1/servers/detail?limit=1`` -> ``/servers/detail``,
    ``http://vip:8776/v3/<project id>/volumes`` -> ``/volumes``; ``/`` for the
    unversioned root, ``/{version}`` for a versioned root (``/v2.1/``)."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    parts = [p for p in path.split("/") if p]
    for index, part in enumerate(parts):
        if _VERSION_SEGMENT.match(part):
            parts = parts[index + 1:]
            if parts and _PROJECT_SEGMENT.match(parts[0]):
                parts = parts[1:]
            return "/" + "/".join(parts) if parts else "/{version}"
    return "/" + "/".join(parts)


def generic(path: str) -> str:
    """A request path with its ids as ``{id}``: how a request without a schema is named."""
    return "/".join("{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/")) or "/"


def _compiled() -> list[tuple[str, str, str, re.Pattern, tuple[str, str]]]:
    found = []
    for (service, method, template), target in OPERATIONS.items():
        pattern = "^" + re.escape(template).replace(re.escape("{id}"), "(?!detail$)[^/]+") + "$"
        found.append((service, method, template, re.compile(pattern), target))
    return found


_PATTERNS = _compiled()


def operation_match(service: str, method: str, path: str) -> tuple[str, str, str] | None:
    """(template, module, schema name) for a request's path (ids in it matched)."""
    clean = path.split("?", 1)[0]
    clean = clean.rstrip("/") or "/"
    service, method = canonical(service), method.upper()
    for kind, verb, template, pattern, (module, name) in _PATTERNS:
        if kind == service and verb == method and pattern.match(clean):
            return template, module, name
    return None


def operation_of(service: str, method: str, path: str) -> tuple[str, str] | None:
    """The (module, schema name) for a request, path ids replaced by ``{id}``."""
    found = operation_match(service, method, path)
    return None if found is None else found[1:]


def _version(text: str) -> tuple[int, int]:
    major, _, minor = (text or "").partition(".")
    return int(major or 0), int(minor or 0)


def microversion_of(headers: Mapping[str, Any] | None, service: str) -> str:
    """The microversion an answer says it was given at (``OpenStack-API-Version:
    compute 2.93``; Nova's older ``X-OpenStack-Nova-API-Version``), "" when it says none."""
    wanted = canonical(service)
    value = _header(headers, "openstack-api-version")
    for part in value.split(","):
        words = part.split()
        if len(words) == 2 and canonical(words[0]) == wanted:
            return words[1]
    if wanted == "compute":
        return _header(headers, "x-openstack-nova-api-version").strip()
    return ""


def service_of(headers: Mapping[str, Any] | None) -> str:
    """The API an answer names in its microversion header ("" when none does)."""
    value = _header(headers, "openstack-api-version")
    words = value.split(",")[0].split()
    if len(words) == 2:
        return canonical(words[0])
    return "compute" if _header(headers, "x-openstack-nova-api-version") else ""


def _header(headers: Mapping[str, Any] | None, name: str) -> str:
    if not headers:
        return ""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return "" if value is None else str(value)


def schema_for(service: str, module: str, name: str, microversion: str = "") -> tuple[str, dict]:
    """(dotted name, schema) at ``microversion``: the highest versioned package at or below
    it whose ``module`` defines ``name``; raises :class:`SchemasUnavailable` without tempest
    and :class:`NoSchema` when tempest has none."""
    if not available():
        raise SchemasUnavailable(f"tempest is not installed: the response schemas come from "
                                 f"it ({EXTRA}).")
    area, prefix = PACKAGES[canonical(service)]
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
        if isinstance(getattr(loaded, name, None), dict):
            return f"{dotted}.{name}", getattr(loaded, name)
    raise NoSchema(f"tempest has no {module}.{name} schema for {service} "
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


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
               (list, "array"), (dict, "object"), (type(None), "null"))


def _json_type(value: Any) -> str:
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "other")


def _problem(error: Any) -> tuple[str, str]:
    """(field, what is wrong) of one jsonschema error, without the value found."""
    where = list(error.absolute_path)
    rule, expected = error.validator, error.validator_value
    if rule == "required":
        missing = re.match(r"^'(.+)' is a required property$", str(error.message))
        if missing:
            return field_of([*where, missing.group(1)]), "missing"
    if rule == "type":
        return field_of(where), f"not of type {expected!r} (got {_json_type(error.instance)})"
    if rule == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema or {}).get("properties") or {})
        patterns = list((error.schema or {}).get("patternProperties") or {})
        extra = sorted(k for k in error.instance if k not in allowed
                       and not any(re.search(p, str(k)) for p in patterns))
        return field_of(where), f"unexpected field(s) {', '.join(map(repr, extra))[:200]}"
    if rule == "enum":
        return field_of(where), f"not one of {list(expected)[:10]!r}"[:200]
    if rule == "format":
        return field_of(where), f"not in the format {expected!r}"
    return field_of(where), f"breaks the schema's {rule!r} rule"


def _body(body: Any) -> tuple[Any, str]:
    """(the decoded body, "" or why it is not JSON)."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, str):
        if not body.strip():
            return None, ""
        try:
            return json.loads(body), ""
        except ValueError:
            return None, "not JSON"
    return body, ""


def check(service: str, method: str, path: str, status: int, body: Any,
          microversion: str = "", headers: Mapping[str, Any] | None = None,
          resolve: Callable[[str, str, str, str], tuple[str, dict]] | None = None) -> Check:
    """The response checked against its published schema; an operation without one (or an
    API tempest does not cover) is ``covered=False``. ``body`` is the decoded JSON, or the
    raw bytes/text; ``resolve`` is :func:`schema_for` (or a cache of it)."""
    service = canonical(service)
    found = Check(service, method.upper(), path, microversion)
    operation = operation_of(service, method, path)
    if operation is None or not 200 <= status < 300:
        # As tempest does: only an answer to what was asked is checked (an error is a failure
        # of its own; a redirect is the transport's).
        found.covered = False
        return found
    decoded, not_json = _body(body)
    module, name = operation
    variant = VARIANTS.get(operation)
    if variant and isinstance(decoded, dict) and variant[1] in (decoded.get(variant[0]) or {}):
        name = variant[2]
    found.schema, schema = (resolve or schema_for)(service, module, name, microversion)
    codes = schema.get("status_code") or []
    if codes and status not in codes:  # a 2xx the API does not document
        found.problems.append(("status", f"{status}, the schema expects "
                                         f"{', '.join(map(str, codes))}"))
    body_schema = schema.get("response_body")
    if not_json:
        found.problems.append(("(the body)", not_json))
    elif body_schema:
        errors = sorted(_validator(body_schema).iter_errors(decoded),
                        key=lambda e: list(map(str, e.absolute_path)))
        found.problems += [_problem(e) for e in errors[:MAX_MISMATCHES]]
        if len(errors) > MAX_MISMATCHES:
            found.problems.append(("...", f"{len(errors) - MAX_MISMATCHES} more"))
    elif decoded not in (None, "", {}, []):
        found.problems.append(("(the body)", "present, the schema expects none"))
    header_schema = schema.get("response_header")
    if header_schema:
        lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
        errors = list(_validator(header_schema).iter_errors(lowered))
        found.problems += [(f"header {f}", p) for f, p in map(_problem, errors[:5])]
    return found

"""Read the state of a cloud's services: catalog, endpoints, service and agent states.

Plain functions over an openstacksdk connection (or anything shaped like one), each
returning what it saw and the problems it found, so the keywords only decide how to fail.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

VOLUME_TYPES = ("block-storage", "volumev3", "volumev2", "volume")


@dataclass
class EndpointAnswer:
    service: str
    interface: str
    url: str
    status: int | None = None
    seconds: float | None = None
    error: str = ""
    request_id: str = ""
    version: dict[str, Any] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.status is not None and self.status < 500

    def __str__(self) -> str:
        if self.status is None:
            return f"{self.service} {self.url}: no answer ({self.error})"
        rid = f", request id {self.request_id}" if self.request_id else ""
        return f"{self.service} {self.url}: HTTP {self.status} in {self.seconds:.3f} s{rid}"


def catalog(conn: Any) -> list[dict[str, Any]]:
    """The service catalog of the token: [{type, name, endpoints: [{interface, url...}]}]."""
    return [dict(entry) for entry in (conn.service_catalog or [])]


def service_types(entries: list[dict[str, Any]]) -> list[str]:
    return sorted({e.get("type", "") for e in entries if e.get("endpoints")})


def has_volume_service(entries: list[dict[str, Any]]) -> bool:
    return any(t in VOLUME_TYPES for t in service_types(entries))


def endpoints(entries: list[dict[str, Any]], interface: str = "public"
              ) -> list[tuple[str, str]]:
    """(service type, url) for every endpoint of *interface* in the catalog."""
    found = set()
    for entry in entries:
        for endpoint in entry.get("endpoints") or []:
            if endpoint.get("interface", "public") == interface and endpoint.get("url"):
                found.add((entry.get("type", "?"), endpoint["url"]))
    return sorted(found)


_PROJECT_ID = re.compile(r"/(?:AUTH_)?[0-9a-f]{32}(?:/.*)?$")


def version_url(url: str) -> str:
    """The URL of the version document: the endpoint without its project id part."""
    parts = urlsplit(url)
    path = _PROJECT_ID.sub("", parts.path.rstrip("/"))
    return urlunsplit((parts.scheme, parts.netloc, path or "/", "", ""))


def _version_key(entry: dict[str, Any]) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", str(entry.get("id", "")))
    return tuple(int(n) for n in numbers)


def parse_version_document(document: Any) -> dict[str, Any]:
    """Current API version and microversion range from a version document.

    Accepts the single form (``{"version": {...}}``, Nova at /v2.1, Keystone at /v3)
    and the list forms (``{"versions": [...]}`` or Keystone's
    ``{"versions": {"values": [...]}}``), choosing the current or stable version.
    """
    if not isinstance(document, dict):
        return {}
    if isinstance(document.get("version"), dict):
        chosen = document["version"]
    else:
        versions = document.get("versions")
        if isinstance(versions, dict):
            versions = versions.get("values")
        if not isinstance(versions, list) or not versions:
            return {}
        candidates = [v for v in versions if isinstance(v, dict)]
        current = [v for v in candidates
                   if str(v.get("status", "")).upper() in ("CURRENT", "STABLE")]
        chosen = max(current or candidates, key=_version_key)
    result = {"api": chosen.get("id"), "status": chosen.get("status")}
    maximum = chosen.get("version") or chosen.get("max_version")
    minimum = chosen.get("min_version")
    if maximum:
        result["max_microversion"] = maximum
    if minimum:
        result["min_microversion"] = minimum
    return {k: v for k, v in result.items() if v}


def probe_endpoint(conn: Any, service: str, url: str, interface: str, timeout: float
                   ) -> EndpointAnswer:
    """GET the endpoint's version document without a token, with a timeout."""
    answer = EndpointAnswer(service, interface, url)
    target = version_url(url)
    start = time.monotonic()
    try:
        response = conn.session.get(target, authenticated=False, raise_exc=False,
                                    timeout=timeout, headers={"Accept": "application/json"})
    except Exception as error:  # noqa: BLE001 - any failure to answer is the finding
        answer.seconds = time.monotonic() - start
        answer.error = f"{type(error).__name__}: {error}"
        return answer
    answer.seconds = time.monotonic() - start
    answer.status = response.status_code
    answer.request_id = (response.headers.get("x-openstack-request-id")
                         or response.headers.get("x-compute-request-id") or "")
    try:
        answer.version = parse_version_document(response.json())
    except ValueError:
        answer.version = {}
    return answer


# --- service and agent states ---------------------------------------------------------

def _describe_service(service: Any) -> str:
    reason = getattr(service, "disabled_reason", None)
    extra = [f"state {getattr(service, 'state', '?')}", f"status {service.status}"]
    if getattr(service, "updated_at", None):
        extra.append(f"last report {service.updated_at}")
    if reason:
        extra.append(f"disabled because {reason!r}")
    if getattr(service, "is_forced_down", False):
        extra.append("forced down")
    return f"{service.binary} on {service.host} ({', '.join(extra)})"


def service_problems(services: list[Any], disabled_ok: bool = False) -> list[str]:
    """Compute or volume services that are not up (and enabled, unless *disabled_ok*)."""
    problems = []
    for service in services:
        down = str(getattr(service, "state", "")).lower() != "up"
        disabled = str(getattr(service, "status", "")).lower() == "disabled"
        if down or (disabled and not disabled_ok):
            problems.append(_describe_service(service))
    return problems


def agent_problems(agents: list[Any]) -> list[str]:
    problems = []
    for agent in agents:
        alive = getattr(agent, "is_alive", None)
        admin_up = getattr(agent, "is_admin_state_up", True)
        if alive is not True or admin_up is False:
            problems.append(
                f"{agent.binary} on {agent.host} (alive {alive}, admin state "
                f"{'up' if admin_up else 'down'}, last heartbeat "
                f"{getattr(agent, 'last_heartbeat_at', '?')})")
    return problems


def hypervisor_problems(hypervisors: list[Any]) -> list[str]:
    problems = []
    for hypervisor in hypervisors:
        state = str(getattr(hypervisor, "state", "") or "").lower()
        status = str(getattr(hypervisor, "status", "") or "").lower()
        if state != "up" or status != "enabled":
            problems.append(f"hypervisor {hypervisor.name} (state {state or '?'}, "
                            f"status {status or '?'})")
    return problems


def summarize(services: list[Any]) -> str:
    up = sum(1 for s in services if str(getattr(s, "state", "")).lower() == "up")
    return f"{up} of {len(services)} up"

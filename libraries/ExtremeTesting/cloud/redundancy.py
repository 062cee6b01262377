"""Full redundancy: every instance of every API serves on its own node, every load
balancer backend is up.

The VIP hides a lost instance (that is its job), so the steady state asks each instance
directly: the node's own address and the service's port, from the target's ``services``
(``nodes``, ``port``, ``api``) and ``nodes`` (``address``). The path is the VIP
endpoint's version document (``endpoints.<api>``), the scheme the service's ``scheme``
(default ``http``: TLS usually ends at the load balancer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import TargetError
from .health import EndpointAnswer, version_url


@dataclass(frozen=True)
class Instance:
    service: str
    node: str
    url: str

    def __str__(self) -> str:
        return f"{self.service} on {self.node}"


def api_instances(data: dict[str, Any], service: str | None = None,
                  node: str | None = None) -> list[Instance]:
    """Every (API service, node) pair the target places, optionally only ``service``
    and/or ``node``; a bad name fails naming what the target has."""
    services = data.get("services") or {}
    nodes = data.get("nodes") or {}
    endpoints = data.get("endpoints") or {}
    apis = {name: spec for name, spec in services.items()
            if (spec or {}).get("api") and (spec or {}).get("port")}
    if service is not None and service not in apis:
        raise TargetError(f"'{service}' is not an API service of the target (one with 'api' "
                          f"and 'port'); API services: {', '.join(sorted(apis)) or 'none'}.")
    if node is not None and node not in nodes:
        raise TargetError(f"Unknown node '{node}'. Known nodes: "
                          f"{', '.join(sorted(nodes)) or 'none'}.")
    found = []
    for name, spec in apis.items():
        if service is not None and name != service:
            continue
        endpoint = endpoints.get(spec["api"])
        path = urlsplit(version_url(endpoint)).path if endpoint else "/"
        for where in spec.get("nodes") or []:
            if node is not None and where != node:
                continue
            address = str((nodes.get(where) or {}).get("address") or "")
            if not address:
                raise TargetError(f"Node '{where}' (which runs {name}) has no address in "
                                  "the target's nodes section.")
            host = f"[{address}]" if ":" in address else address
            found.append(Instance(name, where, f"{spec.get('scheme', 'http')}://{host}:"
                                               f"{spec['port']}{path}"))
    if service is not None and node is not None and not found:
        raise TargetError(f"The target does not place {service} on {node}; it runs on "
                          f"{', '.join(services[service].get('nodes') or []) or 'no node'}.")
    return found


Getter = Callable[[str, float], int]  # (url, timeout) -> HTTP status; raises when silent


def http_status(url: str, timeout: float) -> int:
    import requests

    return requests.get(url, timeout=timeout, headers={"Accept": "application/json"},
                        allow_redirects=False).status_code


def ask(instance: Instance, timeout: float, get: Getter = http_status) -> EndpointAnswer:
    """GET the instance's version document (no token), like the VIP check does."""
    answer = EndpointAnswer(str(instance), "node", instance.url)
    start = time.monotonic()
    try:
        answer.status = get(instance.url, timeout)
    except Exception as error:  # noqa: BLE001 - any failure to answer is the finding
        answer.error = f"{type(error).__name__}: {error}"
    answer.seconds = time.monotonic() - start
    return answer


def silent(instances: list[Instance], timeout: float, get: Getter = http_status
           ) -> tuple[list[EndpointAnswer], list[EndpointAnswer]]:
    """(every answer, the ones that did not serve: no answer or a 5xx)."""
    answers = [ask(instance, timeout, get) for instance in instances]
    return answers, [a for a in answers if not a.answered]

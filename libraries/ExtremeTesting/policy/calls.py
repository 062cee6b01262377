"""One API call, as a persona or as admin, reduced to what a policy verdict needs.

Every call goes through an openstacksdk service proxy (a keystoneauth Adapter) with
``raise_exc=False``: the status code and the request id are the verdict's evidence.
The connection's ``api_timeout`` bounds every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..evidence import ids
from .errors import PolicyError

ALLOW, DENY, ERROR = "allow", "deny", "error"


@dataclass
class Outcome:
    """What the API answered to one call."""

    status: int | None
    request_id: str = ""
    message: str = ""
    sent_id: str = ""  # our X-OpenStack-Request-ID (cloud.connection stamps every request)

    @property
    def got(self) -> str:
        if self.status is None:
            return ERROR
        if 200 <= self.status < 300:
            return ALLOW
        if self.status in (403, 404):
            return DENY
        return ERROR


def request_id(response: Any) -> str:
    headers = getattr(response, "headers", None) or {}
    return headers.get("x-openstack-request-id") or headers.get("x-compute-request-id") or ""


def call(conn: Any, service: str, method: str, path: str, json: Any = None,
         microversion: str | None = None, headers: dict | None = None) -> Any:
    """The raw response of ``method path`` on ``service`` (identity, compute, network,
    image, placement); never raises for an HTTP status."""
    proxy = getattr(conn, service)
    kwargs: dict[str, Any] = {"raise_exc": False}
    if json is not None:
        kwargs["json"] = json
    if microversion:
        kwargs["microversion"] = microversion
    if headers:
        kwargs["headers"] = headers
    return proxy.request(path, method, **kwargs)


def outcome(response: Any) -> Outcome:
    status = getattr(response, "status_code", None)
    message = ""
    if status is not None and status >= 400:
        message = " ".join((getattr(response, "text", "") or "").split())[:200]
    return Outcome(status, request_id(response), message, ids.sent_by(response))


def must(response: Any, what: str) -> Any:
    """The JSON body of an admin call that prepares or cleans up; fails clearly."""
    status = getattr(response, "status_code", None)
    if status is None or status >= 400:
        text = " ".join((getattr(response, "text", "") or "").split())[:200]
        raise PolicyError(f"Preparing as admin failed: {what} answered HTTP {status} "
                          f"(request id {request_id(response) or 'none'}): {text}. Check that "
                          "the admin persona really is an admin of this cloud.")
    if status == 204 or not getattr(response, "content", b""):
        return {}
    return response.json()

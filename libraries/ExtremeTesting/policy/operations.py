"""The operation catalogue: API calls named like the policy rules they exercise.

Each operation is one small function decorated with :func:`operation`. It prepares what
it needs as admin (``ctx.admin_create`` registers the clean-up), performs ONE call as the
persona (``ctx.as_persona``) and returns that call's response; the clean-ups run after
it whatever happened. The decorator says how the API denies the call:

- ``deny=403``: the API answers Forbidden;
- ``deny=404``: the API hides that the resource exists (Neutron and Glance do this for
  another project's resources), so a denial is Not Found;
- ``hidden=404``: the code when an ``own`` operation is done by a persona without a
  project (system scope), for whom the resource lies in a project it cannot see.

``target`` says whose resource the call touches, for the effective-policy check:
``own`` (the persona's project), ``other`` (a project the persona has no role in) or
``none``. ``rule`` is the deployed policy rule the call is enforced by.

A suite adds its own with `Register Operation` (a Python function of the same shape).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import calls
from .errors import PolicyError

OWN, OTHER, NONE = "own", "other", "none"


@dataclass
class Operation:
    name: str
    service: str
    function: Callable[[OperationContext], Any]
    deny: int = 403
    rule: str = ""
    target: str = NONE
    hidden: int = 403

    def deny_code(self, has_project: bool) -> int:
        """The denial code for a persona: an ``own`` operation done by a persona without
        a project (system scope) touches a project it cannot see."""
        return self.hidden if self.target == OWN and not has_project else self.deny

    @property
    def doc(self) -> str:
        return " ".join((self.function.__doc__ or "").split())


CATALOGUE: dict[str, Operation] = {}
SERVICES = {"identity": "identity", "compute": "compute", "network": "network",
            "image": "image", "placement": "placement"}


def operation(name: str, deny: int = 403, rule: str | None = None, target: str = NONE,
              catalogue: dict[str, Operation] | None = None, hidden: int | None = None):
    """Register the decorated function as operation ``name`` (``service:rule``).

    ``hidden`` is the denial code when the resource lies in a project the persona cannot
    see at all (default: ``deny``); Glance and Neutron answer 404 then."""
    if deny not in (403, 404):
        raise PolicyError(f"Operation {name}: deny must be 403 or 404, got {deny}.")
    if target not in (OWN, OTHER, NONE):
        raise PolicyError(f"Operation {name}: target must be own, other or none.")
    service = name.split(":", 1)[0]
    if service not in SERVICES:
        raise PolicyError(f"Operation {name}: its name must start with one of "
                          f"{', '.join(SERVICES)} and a colon.")

    def register(function: Callable[[OperationContext], Any]) -> Callable:
        (CATALOGUE if catalogue is None else catalogue)[name] = Operation(
            name, service, function, deny, rule or default_rule(name), target,
            hidden or deny)
        return function
    return register


def default_rule(name: str) -> str:
    """Keystone and Placement name their rules ``identity:...``/``placement:...``;
    Glance and Neutron use the bare name (``delete_image``, ``create_network``)."""
    service, rest = name.split(":", 1)
    return name if service in ("identity", "placement") else rest


@dataclass
class OperationContext:
    """What an operation needs: both connections, the projects and the clean-ups."""

    admin: Any
    persona: Any
    project_id: str          # the persona's project (a subject project for system personas)
    other_project_id: str    # a project the persona has no role in
    prefix: str = "xt-policy-"
    fixtures: dict[str, str] = field(default_factory=dict)
    cleanups: list[Callable[[], Any]] = field(default_factory=list)
    _count: Any = field(default_factory=lambda: itertools.count(1))

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}-{next(self._count)}"

    def as_persona(self, service: str, method: str, path: str, json: Any = None,
                   microversion: str | None = None, headers: dict | None = None,
                   created: tuple[str, str] | None = None) -> Any:
        """The persona's call. ``created`` = (response key, delete path with {id}): an
        allowed create is deleted again as admin."""
        response = calls.call(self.persona, service, method, path, json, microversion,
                              headers)
        if created and 200 <= response.status_code < 300:
            body = response.json()
            key, delete_path = created
            resource = body.get(key, body) if key else body
            resource_id = resource.get("id") or resource.get("uuid")
            if resource_id:
                self.later(service, delete_path.format(id=resource_id))
        return response

    def admin_call(self, service: str, method: str, path: str, json: Any = None,
                   microversion: str | None = None) -> dict:
        return calls.must(calls.call(self.admin, service, method, path, json, microversion),
                          f"{method} {path}")

    def admin_create(self, service: str, path: str, json: dict, key: str | None,
                     delete_path: str, microversion: str | None = None) -> dict:
        """Create as admin; deleted again (as admin) when the operation ends."""
        body = self.admin_call(service, "POST", path, json, microversion)
        resource = body.get(key, body) if key else body
        self.later(service, delete_path.format(id=resource.get("id") or resource["uuid"]),
                   microversion)
        return resource

    def later(self, service: str, delete_path: str, microversion: str | None = None) -> None:
        self.cleanups.append(lambda: calls.call(self.admin, service, "DELETE", delete_path,
                                                microversion=microversion))

    def clean_up(self) -> list[str]:
        """Run the clean-ups, newest first; what failed, in words."""
        problems = []
        while self.cleanups:
            action = self.cleanups.pop()
            try:
                response = action()
                status = getattr(response, "status_code", 204)
                if status >= 400 and status != 404:
                    problems.append(f"HTTP {status} (request id {calls.request_id(response)})")
            except Exception as error:  # noqa: BLE001 - a clean-up never hides the verdict
                problems.append(f"{type(error).__name__}: {error}")
        return problems

    def fixture(self, what: str) -> str:
        """A flavor id or a public image id of the cloud, looked up once as admin."""
        if what not in self.fixtures:
            if what == "flavor":
                flavors = self.admin_call("compute", "GET", "/flavors").get("flavors") or []
                found = flavors[0]["id"] if flavors else ""
            else:
                images = self.admin_call("image", "GET",
                                         "/images?status=active&visibility=public")
                found = (images.get("images") or [{}])[0].get("id", "")
            if not found:
                raise PolicyError(f"The cloud has no {what} to create a server with; create "
                                  "one (the lab seeds both).")
            self.fixtures[what] = found
        return self.fixtures[what]


def get(name: str, catalogue: dict[str, Operation] | None = None) -> Operation:
    known = CATALOGUE if catalogue is None else catalogue
    if name not in known:
        service = name.split(":", 1)[0]
        close = ", ".join(sorted(n for n in known if n.split(":", 1)[0] == service))
        raise PolicyError(f"Unknown operation '{name}'. Known {service} operations: "
                          f"{close or 'none'}"
                          " (see the library documentation, or `Register Operation`).")
    return known[name]


# Importing the catalogue modules fills CATALOGUE.
from . import catalogue as _catalogue  # noqa: E402,F401

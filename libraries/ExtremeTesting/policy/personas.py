"""Personas: who performs an operation.

From the target file's ``personas:`` section, each persona is either

- ``{cloud: <clouds.yaml entry>}``: credentials the operator provides, or
- ``{roles: [member], project: <name>|new, scope: project|system}``: a temporary user
  the library creates for the run with a generated password that lives only in this
  process's memory (and is registered with the log scrubber); ``project: new`` (the
  default for project scope) creates a project too. Both are deleted when the suite that
  created them ends, whatever happens (the library's listener), or when the run ends.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from ..cloud import logsafety
from . import calls
from .errors import PolicyError

PROJECT, SYSTEM = "project", "system"


@dataclass
class PersonaSpec:
    name: str
    cloud: str | None = None
    roles: list[str] = field(default_factory=list)
    project: str | None = None
    scope: str = PROJECT

    @property
    def created(self) -> bool:
        return self.cloud is None


def parse(section: object) -> dict[str, PersonaSpec]:
    """The target's ``personas:`` section, checked; one clear line per problem."""
    if not isinstance(section, dict) or not section:
        raise PolicyError("The target file has no 'personas' section: add one "
                          "(persona: {cloud: <clouds.yaml entry>} or {roles: [...]}).")
    specs = {}
    for name, entry in section.items():
        if not isinstance(entry, dict):
            raise PolicyError(f"Persona '{name}': expected a mapping with 'cloud' or 'roles'.")
        unknown = sorted(set(entry) - {"cloud", "roles", "project", "scope", "description"})
        if unknown:
            raise PolicyError(f"Persona '{name}': unknown key(s) {', '.join(unknown)}; known: "
                              "cloud, roles, project, scope, description.")
        if bool(entry.get("cloud")) == bool(entry.get("roles")):
            raise PolicyError(f"Persona '{name}': give either 'cloud' (a clouds.yaml entry) "
                              "or 'roles' (a user the library creates), not both or neither.")
        scope = str(entry.get("scope", PROJECT))
        if scope not in (PROJECT, SYSTEM):
            raise PolicyError(f"Persona '{name}': scope must be project or system, not {scope}.")
        roles = entry.get("roles") or []
        if not isinstance(roles, list):
            raise PolicyError(f"Persona '{name}': 'roles' must be a list of role names.")
        project = entry.get("project")
        if scope == SYSTEM and project:
            raise PolicyError(f"Persona '{name}': a system-scoped persona has no project; "
                              "remove 'project' or use scope: project.")
        if entry.get("roles") and scope == PROJECT and not project:
            project = "new"
        specs[str(name)] = PersonaSpec(str(name), entry.get("cloud"), [str(r) for r in roles],
                                       project, scope)
    return specs


@dataclass
class Created:
    """What the library made for a persona, to delete again."""

    user_id: str
    project_id: str | None
    project_created: bool
    scope_owner: str


def create(admin: Any, spec: PersonaSpec, prefix: str, auth_url: str, api_timeout: float,
           connect: Any, scope_owner: str) -> tuple[Any, Created]:
    """Create the user (and project) of a role-set persona and log it in."""
    def admin_call(method: str, path: str, json: Any = None) -> dict:
        return calls.must(calls.call(admin, "identity", method, path, json), f"{method} {path}")

    password = secrets.token_urlsafe(24)
    logsafety.register_secret(password)
    project_id, project_created = None, False
    if spec.scope == PROJECT:
        if spec.project == "new":
            project_id = admin_call("POST", "/projects", {"project": {
                "name": f"{prefix}{spec.name}", "domain_id": "default"}})["project"]["id"]
            project_created = True
        else:
            found = admin_call("GET", f"/projects?name={spec.project}")["projects"]
            if not found:
                raise PolicyError(f"Persona '{spec.name}': project '{spec.project}' does not "
                                  "exist; create it or use project: new.")
            project_id = found[0]["id"]
    user_id = admin_call("POST", "/users", {"user": {
        "name": f"{prefix}{spec.name}", "domain_id": "default",
        "password": password}})["user"]["id"]
    made = Created(user_id, project_id, project_created, scope_owner)
    try:
        for role in spec.roles:
            found = admin_call("GET", f"/roles?name={role}")["roles"]
            if not found:
                raise PolicyError(f"Persona '{spec.name}': role '{role}' does not exist in "
                                  "Keystone; create it or fix the name.")
            where = f"/projects/{project_id}" if project_id else "/system"
            admin_call("PUT", f"{where}/users/{user_id}/roles/{found[0]['id']}")
        scope = {"project_id": project_id} if project_id else {"system_scope": "all"}
        conn = connect(auth_url=auth_url, username=f"{prefix}{spec.name}", password=password,
                       user_domain_id="default", api_timeout=api_timeout, **scope)
    except BaseException:
        delete(admin, made)
        raise
    return conn, made


def delete(admin: Any, made: Created) -> list[str]:
    """Delete a created persona's user and project; what failed, in words."""
    problems = []
    paths = [f"/users/{made.user_id}"]
    if made.project_created and made.project_id:
        paths.append(f"/projects/{made.project_id}")
    for path in paths:
        try:
            response = calls.call(admin, "identity", "DELETE", path)
            if response.status_code >= 400 and response.status_code != 404:
                problems.append(f"DELETE {path}: HTTP {response.status_code}")
        except Exception as error:  # noqa: BLE001 - keep deleting the rest
            problems.append(f"DELETE {path}: {type(error).__name__}: {error}")
    return problems

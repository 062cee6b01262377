"""The personas of the lab's policy matrix, created by `extreme lab up`.

Two projects (``policy-a``, ``policy-b``) and four users besides the admin: a member and
a reader of ``policy-a``, a member of ``policy-b`` and a system reader. Their generated
passwords go to secure.yaml (mode 600) beside the admin's; clouds.yaml and the target
file name only the entries.
"""

from __future__ import annotations

import secrets

from . import config

# persona -> (user, project or None for system scope, role)
PERSONAS = {
    "member": ("policy-member", "policy-a", "member"),
    "reader": ("policy-reader", "policy-a", "reader"),
    "other-member": ("policy-other-member", "policy-b", "member"),
    "system-reader": ("policy-system-reader", None, "reader"),
}


def cloud_name(persona: str) -> str:
    return f"extreme-lab-{persona}"


def create(api) -> dict[str, str]:
    """Create (or reset) the personas; {persona: password}."""
    passwords = {}
    for persona, (user, project, role) in PERSONAS.items():
        password = secrets.token_urlsafe(18)
        user_id = api.find_or_create("users", "user", {"name": user, "domain_id": "default",
                                                       "password": password})
        # A lab that came up before keeps the user: set the password we store now.
        api.call("PATCH", config.vip_url(5000, f"/v3/users/{user_id}"),
                 json={"user": {"password": password}})
        role_id = api.find_or_create("roles", "role", {"name": role})
        if project:
            project_id = api.find_or_create("projects", "project",
                                            {"name": project, "domain_id": "default"})
            where = f"/v3/projects/{project_id}"
        else:
            where = "/v3/system"
        api.call("PUT", config.vip_url(5000, f"{where}/users/{user_id}/roles/{role_id}"))
        passwords[persona] = password
    return passwords


def clouds(auth_url: str) -> dict:
    """clouds.yaml entries without passwords."""
    entries = {}
    for persona, (user, project, _) in PERSONAS.items():
        auth = {"auth_url": auth_url, "username": user, "user_domain_name": "Default"}
        if project:
            auth.update(project_name=project, project_domain_name="Default")
        else:
            auth["system_scope"] = "all"
        entries[cloud_name(persona)] = {"auth": auth, "region_name": config.REGION,
                                        "identity_api_version": 3, "interface": "public",
                                        "api_timeout": 30}
    return entries


def target_section(admin_cloud: str) -> dict:
    return {"admin": {"cloud": admin_cloud},
            **{p: {"cloud": cloud_name(p)} for p in PERSONAS}}

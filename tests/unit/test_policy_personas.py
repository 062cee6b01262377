"""Policy's temporary personas on an operator's cloud: created, used, deleted, also after a
failure, and at the end of the suite that first used them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ExtremeTesting.policy import Policy, personas
from ExtremeTesting.policy.errors import PolicyError


class Answer:
    def __init__(self, status, body=None):
        self.status_code, self._body = status, body or {}
        self.headers = {"x-openstack-request-id": f"req-{status}"}
        self.text, self.content = "", b"x" if body else b""

    def json(self):
        return self._body


class Keystone:
    """An admin connection to a fake Keystone that records every call."""

    def __init__(self, roles=("reader",)):
        self.log: list[tuple[str, str]] = []
        self.roles = set(roles)
        self.identity = self

    def request(self, path, method, **kwargs):
        self.log.append((method, path))
        if (method, path) == ("POST", "/projects"):
            return Answer(201, {"project": {"id": "proj-1"}})
        if (method, path) == ("POST", "/users"):
            assert kwargs["json"]["user"]["password"]  # a generated one
            return Answer(201, {"user": {"id": "user-1"}})
        if method == "GET" and path.startswith("/roles?name="):
            name = path.split("=", 1)[1]
            return Answer(200, {"roles": [{"id": f"role-{name}"}] if name in self.roles
                                else []})
        return Answer(204)


SPEC = personas.PersonaSpec(name="auditor", roles=["reader"], project="new", scope="project")


def test_a_persona_is_created_logged_in_and_deleted():
    admin, logins = Keystone(), []
    conn, made = personas.create(admin, SPEC, "xt-run-", "http://keystone/v3", 5.0,
                                 lambda **kw: logins.append(kw) or "persona-conn", "Suite")
    assert conn == "persona-conn"
    assert admin.log == [("POST", "/projects"), ("POST", "/users"),
                         ("GET", "/roles?name=reader"),
                         ("PUT", "/projects/proj-1/users/user-1/roles/role-reader")]
    (login,) = logins  # used: the persona logs in as the user just made, in its project
    assert login["username"] == "xt-run-auditor" and login["project_id"] == "proj-1"
    assert login["password"] and login["auth_url"] == "http://keystone/v3"
    assert (made.user_id, made.project_id, made.project_created, made.scope_owner) == (
        "user-1", "proj-1", True, "Suite")
    admin.log.clear()
    assert personas.delete(admin, made) == []
    assert admin.log == [("DELETE", "/users/user-1"), ("DELETE", "/projects/proj-1")]


@pytest.mark.parametrize("fails", ["role", "login"])
def test_a_persona_that_fails_half_way_is_deleted_before_the_error(fails):
    admin = Keystone(roles=() if fails == "role" else ("reader",))

    def login(**kw):
        raise PolicyError("401 at login")

    with pytest.raises(PolicyError, match="role 'reader' does not exist" if fails == "role"
                       else "401 at login"):
        personas.create(admin, SPEC, "xt-run-", "http://keystone/v3", 5.0,
                        login if fails == "login" else (lambda **kw: "conn"), "Suite")
    assert admin.log[-2:] == [("DELETE", "/users/user-1"), ("DELETE", "/projects/proj-1")]


def test_a_delete_that_fails_is_said_and_the_rest_still_deleted():
    class Refusing(Keystone):
        def request(self, path, method, **kwargs):
            self.log.append((method, path))
            return Answer(500) if path.startswith("/users") else Answer(204)

    admin = Refusing()
    made = personas.Created("user-1", "proj-1", True, "Suite")
    assert personas.delete(admin, made) == ["DELETE /users/user-1: HTTP 500"]
    assert ("DELETE", "/projects/proj-1") in admin.log


def test_the_library_deletes_a_suites_personas_when_that_suite_ends(monkeypatch):
    library = Policy(target="unused.yaml")
    admin = Keystone()
    admin.config = SimpleNamespace(get_auth_args=lambda: {"auth_url": "http://keystone/v3"})
    library._admin = admin
    monkeypatch.setattr(personas, "create", lambda admin_, spec, prefix, *args: (
        "conn", personas.Created(f"user-{spec.name}", None, False, args[-1])))
    library._target = SimpleNamespace(data={"personas": {
        "auditor": {"roles": ["reader"], "project": "new"},
        "outer": {"roles": ["reader"], "project": "new"}}})
    monkeypatch.setattr("ExtremeTesting.cloud.logsafety.protect", lambda *a: None)
    library.ROBOT_LIBRARY_LISTENER.start_suite(None, SimpleNamespace(full_name="Top"))
    library._persona("outer")
    library.ROBOT_LIBRARY_LISTENER.start_suite(None, SimpleNamespace(full_name="Top.Child"))
    library._persona("auditor")
    library.ROBOT_LIBRARY_LISTENER.end_suite(None, SimpleNamespace(full_name="Top.Child"))
    assert admin.log == [("DELETE", "/users/user-auditor")]  # only the child's persona
    assert [name for name, _ in library._created] == ["outer"]
    library.ROBOT_LIBRARY_LISTENER.close()  # the run ends: whatever is left goes too
    assert admin.log[-1] == ("DELETE", "/users/user-outer") and library._created == []

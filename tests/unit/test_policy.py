"""Policy library offline: matrix loading, personas, verdicts, operations with a fake API."""

from __future__ import annotations

import pytest

from ExtremeTesting.policy import calls, matrix, operations, personas, verdict
from ExtremeTesting.policy.errors import MatrixError, PolicyError

KNOWN = set(operations.CATALOGUE)


def test_catalogue_covers_five_services_with_forty_operations():
    services = {op.service for op in operations.CATALOGUE.values()}
    assert services == {"identity", "compute", "network", "image", "placement"}
    assert len(operations.CATALOGUE) >= 40
    assert all(op.doc for op in operations.CATALOGUE.values())
    hidden = {n for n, op in operations.CATALOGUE.items() if op.deny == 404}
    assert "network:get_network:other" in hidden and "identity:list_users" not in hidden


def test_matrix_mapping_and_list_rows():
    loaded = matrix.from_data({
        "personas": ["admin", "reader"],
        "operations": {"identity:list_users": {"admin": "allow", "reader": "deny"},
                       "network:create_network": ["allow", "deny"]}}, "m", KNOWN)
    assert loaded.select() == [("admin", "identity:list_users", "allow"),
                               ("reader", "identity:list_users", "deny"),
                               ("admin", "network:create_network", "allow"),
                               ("reader", "network:create_network", "deny")]
    assert [c[:2] for c in loaded.select("deny")] == [
        ("reader", "identity:list_users"), ("reader", "network:create_network")]


def test_suite_table_wins_over_file_and_says_so():
    loaded = matrix.from_data({"personas": ["reader"], "operations": {
        "network:create_network": {"reader": "deny"}}}, "m", KNOWN)
    loaded.add("reader", "network:create_network", "allow", matrix.TABLE)
    loaded.add("reader", "identity:list_users", "deny", matrix.TABLE)
    assert loaded.cells[("reader", "network:create_network")] == "allow"
    assert loaded.overridden() == [("reader", "network:create_network")]


@pytest.mark.parametrize("data, words", [
    ({"operations": {"nope:thing": {"a": "allow"}}}, "unknown operation 'nope:thing'"),
    ({"personas": ["a"], "operations": {"identity:list_users": {"a": "maybe"}}},
     "'maybe' is neither allow nor deny"),
    ({"personas": ["a", "b"], "operations": {"identity:list_users": ["allow"]}},
     "1 values for 2 personas"),
    ({"personas": ["a"], "operations": {"identity:list_users": {"b": "allow"}}},
     "persona 'b' is not in 'personas'"),
    ({"operation": {}}, "'operations' mapping"),
    ({"operations": {}, "colour": 1}, "unknown key(s) colour"),
])
def test_bad_matrix_gets_one_clear_line(data, words):
    with pytest.raises(MatrixError) as error:
        matrix.from_data(data, "m.yaml", KNOWN)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_matrix_file_errors(tmp_path):
    with pytest.raises(MatrixError, match="does not exist"):
        matrix.load(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("operations: {a: [\n")
    with pytest.raises(MatrixError, match="not valid YAML at line"):
        matrix.load(bad)


def test_personas_parse_and_refuse_bad_entries():
    specs = personas.parse({"admin": {"cloud": "lab"},
                            "tmp": {"roles": ["reader"]},
                            "sys": {"roles": ["reader"], "scope": "system"}})
    assert specs["admin"].cloud == "lab" and not specs["admin"].created
    assert specs["tmp"].project == "new" and specs["tmp"].created
    assert specs["sys"].project is None
    for bad, words in [({"x": {"cloud": "a", "roles": ["b"]}}, "not both"),
                       ({"x": {"roles": ["b"], "scope": "domain"}}, "scope must be"),
                       ({"x": {"roles": ["b"], "scope": "system", "project": "p"}},
                        "no project"), (None, "no 'personas' section")]:
        with pytest.raises(PolicyError, match=words):
            personas.parse(bad)


def cell(expected, got, status, deny=403, persona="reader"):
    return verdict.Cell(persona, "network:create_network", expected, got, status, "req-1",
                        deny)


def test_verdict_lists_every_mismatch_once_with_its_evidence():
    cells = [cell("deny", "deny", 403), cell("deny", "allow", 201),
             cell("allow", "error", 500), cell("deny", "deny", 404)]
    message = verdict.failure_message(cells, "matrix m")
    assert message.startswith("2 of 4 cell(s) of matrix m do not match")
    assert "expected deny, got allow (HTTP 201, request id req-1)" in message
    assert "expected allow, got error (HTTP 500" in message
    assert "1 denial(s) with an unexpected code" in message and "HTTP 404, expected 403" in message
    assert verdict.failure_message(cells[3:], "m", check_codes=False) == ""
    assert verdict.failure_message(cells[:1], "m") == ""


def test_outcome_classifies_statuses():
    assert calls.Outcome(204).got == "allow"
    assert calls.Outcome(403).got == calls.Outcome(404).got == "deny"
    assert calls.Outcome(409).got == calls.Outcome(None).got == "error"


def test_summary_and_table():
    cells = [cell("deny", "allow", 201), cell("deny", "deny", 404, persona="other")]
    record = verdict.summary("m", cells, 1.23, 1, {"glance": "why"})
    assert (record["cells"], record["mismatches"], record["code_findings"]) == (2, 1, 1)
    table = verdict.html_table("m", cells, {"glance": "why"},
                               [("reader", "network:create_network")])
    assert "allow (expected deny)" in table and "wins over the matrix file" in table
    assert "glance: why" in table


class FakeResponse:
    def __init__(self, status, body=None):
        self.status_code, self._body = status, body or {}
        self.headers = {"x-openstack-request-id": f"req-{status}"}
        self.text = "" if status < 400 else "Forbidden"
        self.content = b"x"

    def json(self):
        return self._body


class FakeProxy:
    def __init__(self, log, answers):
        self.log, self.answers = log, answers

    def request(self, path, method, **kwargs):
        self.log.append((method, path))
        return self.answers.get((method, path.split("/")[1]), FakeResponse(200, {}))


class FakeConn:
    def __init__(self, answers):
        self.log = []
        proxy = FakeProxy(self.log, answers)
        self.identity = self.compute = self.network = self.image = self.placement = proxy


def test_operation_prepares_as_admin_acts_as_persona_and_cleans_up():
    admin = FakeConn({("POST", "networks"): FakeResponse(201, {"network": {"id": "n1"}})})
    persona = FakeConn({("DELETE", "networks"): FakeResponse(404)})
    ctx = operations.OperationContext(admin, persona, "p1", "p2")
    op = operations.get("network:delete_network:other")
    response = op.function(ctx)
    assert calls.outcome(response).got == "deny" and op.deny == 404
    assert ctx.clean_up() == []
    assert admin.log == [("POST", "/networks"), ("DELETE", "/networks/n1")]
    assert persona.log == [("DELETE", "/networks/n1")]


def test_allowed_create_is_deleted_again_and_failed_preparation_is_clear():
    persona = FakeConn({("POST", "networks"): FakeResponse(201, {"network": {"id": "mine"}})})
    admin = FakeConn({})
    ctx = operations.OperationContext(admin, persona, "p1", "p2")
    operations.get("network:create_network").function(ctx)
    ctx.clean_up()
    assert admin.log == [("DELETE", "/networks/mine")]
    broken = FakeConn({("POST", "networks"): FakeResponse(403)})
    ctx = operations.OperationContext(broken, persona, "p1", "p2")
    with pytest.raises(PolicyError, match="Preparing as admin failed: POST /networks"):
        operations.get("network:get_network").function(ctx)


def test_unknown_operation_names_its_neighbours():
    with pytest.raises(PolicyError, match="Known placement operations: placement:r"):
        operations.get("placement:nope")


def test_run_cell_turns_preparation_failure_into_error_cell():
    def perform(op):
        raise PolicyError("Preparing as admin failed")
    result = verdict.run_cell("admin", operations.get("identity:list_users"), "allow", perform)
    assert result.got == "error" and result.mismatch and "Preparing" in result.message


def test_check_policy_matrix_runs_every_cell_fails_once_and_publishes(tmp_path, monkeypatch):
    from ExtremeTesting.policy import Policy

    file = tmp_path / "m.yaml"
    file.write_text("personas: [admin, reader]\noperations:\n"
                    "  network:create_network: [allow, deny]\n"
                    "  identity:list_users: [allow, deny]\n")
    published = []
    monkeypatch.setattr("ExtremeTesting.results.publish",
                        lambda kind, data, html="": published.append((kind, data)))
    admin = FakeConn({("POST", "networks"): FakeResponse(201, {"network": {"id": "a"}})})
    # The reader is allowed to create networks (a drift) and denied users with a 404.
    reader = FakeConn({("POST", "networks"): FakeResponse(201, {"network": {"id": "r"}}),
                       ("GET", "users"): FakeResponse(404)})
    for conn, project in ((admin, "pa"), (reader, "pr")):
        conn.current_project_id, conn.current_user_id = project, "u"
    library = Policy(target=str(tmp_path / "none.yaml"))
    library._admin = admin
    library._connections = {"admin": admin, "reader": reader}
    library._other_project = ("elsewhere", "")
    with pytest.raises(PolicyError) as error:
        library.check_policy_matrix(str(file))
    message = str(error.value)
    assert message.count("do not match") == 1
    assert "reader / network:create_network: expected deny, got allow (HTTP 201" in message
    assert "reader / identity:list_users: HTTP 404, expected 403" in message
    kinds = [(k, d.get("record")) for k, d in published]
    assert kinds.count(("policy", "matrix")) == 1 and kinds.count(("policy", "mismatch")) == 1
    assert [d for k, d in published if k == "expectation"][0]["measured"] == 2
    assert ("DELETE", "/networks/r") in admin.log  # the reader's network was deleted again
    only_deny = library.check_policy_matrix(str(file), expected="deny", check_codes=False,
                                            operations=["identity:list_users"])
    assert only_deny["cells"] == 1 and only_deny["mismatches"] == 0


def test_drift_answers():
    from ExtremeTesting.policy import drift

    assert drift.verdict_of("passed: create_network") == "allow"
    assert drift.verdict_of("failed: x (scope system, the rule allows ['project'])") == "deny"
    assert drift.verdict_of("missing: x").startswith("unknown")
    assert drift.access("u", ["reader"], None)["token"]["system"] == {"all": True}

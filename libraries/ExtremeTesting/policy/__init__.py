"""ExtremeTesting.Policy: who may do what, checked on the operator's own cloud."""

from __future__ import annotations

import importlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from robot.api import logger
from robot.api.deco import keyword, library

from .. import __version__, results
from ..lifecycle import ScopedResources, ScopeListener
from .. import target as target_module
from ..cloud import logsafety
from ..cloud.connection import (CLOUD_RULE, ConnectionSettings, authenticate, connect,
                                settings_for, stamp_request_ids)
from ..cloud.tracking import BASE_PREFIX, new_run_id
from . import calls, drift, operations, personas
from . import matrix as matrix_module
from .calls import ALLOW, DENY, Outcome
from .errors import MatrixError, PolicyError
from .verdict import Cell, failure_message, html_table, mismatch_record, run_cell, summary

__all__ = ["MatrixError", "Policy", "PolicyError"]
KIND = "policy"


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Policy(ScopedResources):
    """Authorisation acceptance: personas, an operation catalogue and matrix verdicts.

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Policy    ${TARGET}

    ``target`` is the target file (default ``$EXTREME_TARGET``, then the running lab's);
    ``api_timeout`` bounds every API call; ``prefix`` names what the library creates.

    = Personas =

    The target file's ``personas:`` section names who acts. A persona is a clouds.yaml
    entry (``{cloud: extreme-lab-reader}``) or a role set the library creates for the run
    (``{roles: [reader], project: new, scope: project}``, or ``scope: system``): a
    temporary user whose generated password exists only in this process's memory, in a
    new project or one the target names. Created personas are deleted when the suite
    that first used them ends, whatever happens, and at the latest when the run ends.
    The target's ``cloud`` is the admin that prepares and cleans up.

    = Operations =

    A catalogue of API calls named like the policy rules they exercise
    (``identity:list_users``, ``compute:servers:create``, ``network:create_network``,
    ``image:delete_image``, ``placement:resource_providers:list``...; see
    `Get Operations`). Each prepares as admin, performs ONE call as the persona and
    cleans up. Each says how its API denies: 403, or 404 where the API hides that another
    project's resource exists (Neutron, Glance). `Register Operation` adds a suite's own.

    = The matrix =

    The operator's YAML file (the target's ``policy_matrix``, or a path given to the
    keyword): persona x operation -> allow / deny. A suite may add or replace cells with
    `Expect Policy` in its setup; where both name a cell, the suite's cells win (the log
    says which cells).

    | *** Test Cases ***
    | Readers Cannot Create Networks
    |     `Persona Should Be Denied`    reader    network:create_network
    | Whole Matrix
    |     `Check Policy Matrix`

    = Verdicts and records =

    `Check Policy Matrix` runs every cell and fails ONCE listing every mismatch (persona,
    operation, expected, got, status code, request id) and every denial with another
    code than the catalogue's. The matrix is drawn as a table in log.html and published
    for the sign-off report (kind ``policy``: one summary per matrix, one record per
    mismatch; tag the tests ``area:policy``). `Deployed Policy Should Match Matrix` reads
    the effective policy on each API node with oslo.policy's own tools and reports where
    it disagrees with the matrix, naming the node.

    = What it never does =
    - It never keeps a persona it created: each is deleted when the suite that first used
      it ends, whatever happens, and at the latest when the run ends.
    - It never writes a created persona's password anywhere: it is generated and kept in
      this process's memory only.
    - It never changes the deployed policy: `Deployed Policy Should Match Matrix` only
      reads it; each operation cleans up what it prepared.
    """

    def __init__(self, target: str | None = None, api_timeout: timedelta = timedelta(seconds=30),
                 prefix: str | None = None):
        """``target`` is the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``api_timeout`` bounds every HTTP call; ``prefix`` names what the library creates
        (default ``xt-<run id>-policy-``)."""
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)  # the one scope listener
        self.target_path = target
        self.api_timeout = api_timeout
        run_id = new_run_id()
        self.prefix = prefix or f"{BASE_PREFIX}{run_id}-policy-"
        self.catalogue = operations.CATALOGUE
        self._target: target_module.Target | None = None
        self._admin: Any = None
        self._connections: dict[str, Any] = {}
        self._created: list[tuple[str, personas.Created]] = []
        self._other_project: tuple[str, str] | None = None  # (id, owning suite)
        self._table: list[tuple[str, str, str]] = []
        self._suites: list[str] = []

    # ------------------------------------ scope hooks (the lifecycle's ScopeListener)
    def scope_started(self, kind: str, name: str, result: Any) -> None:
        if kind == "suite":
            self._suites.append(name)

    def scope_ended(self, kind: str, name: str, result: Any) -> list[str]:
        if kind == "suite":
            suite = self._suites.pop() if self._suites else ""
            self._release(lambda owner: owner == suite)
            self._table = [] if not self._suites else self._table
        return []

    def run_ended(self) -> None:
        self._release(lambda owner: True)

    def _release(self, mine) -> None:
        problems = []
        for name, made in [(n, m) for n, m in self._created if mine(m.scope_owner)]:
            problems += personas.delete(self._admin, made)
            self._created.remove((name, made))
            self._connections.pop(name, None)
        if self._other_project and mine(self._other_project[1]):
            response = calls.call(self._admin, "identity", "DELETE",
                                  f"/projects/{self._other_project[0]}")
            if response.status_code >= 400 and response.status_code != 404:
                problems.append(f"DELETE project {self._other_project[0]}: HTTP "
                                f"{response.status_code}")
            self._other_project = None
        if problems:
            logger.warn("Policy clean-up left: " + "; ".join(problems) +
                        f". Delete users/projects named {self.prefix}* as admin.")

    # ---------------------------------------------------------------- plumbing
    @property
    def target(self) -> target_module.Target:
        if self._target is None:
            self._target = target_module.load(self.target_path)
        return self._target

    def _settings(self, cloud: str | None) -> ConnectionSettings:
        return settings_for(self.target, cloud, api_timeout=self.api_timeout)

    def _cloud(self, cloud: str) -> Any:
        conn = connect(self._settings(cloud))
        authenticate(conn, cloud)
        return conn

    @property
    def admin(self) -> Any:
        if self._admin is None:
            cloud = self._settings(None).cloud
            if not cloud:
                raise PolicyError(f"Target file {self.target.path} names no cloud for the "
                                  f"admin that prepares and cleans up ({CLOUD_RULE}); add "
                                  "'cloud: NAME' to it.")
            self._admin = self._cloud(cloud)
        return self._admin

    def _specs(self) -> dict[str, personas.PersonaSpec]:
        return personas.parse(self.target.data.get("personas"))

    def _persona(self, name: str) -> Any:
        if name in self._connections:
            return self._connections[name]
        specs = self._specs()
        if name not in specs:
            raise PolicyError(f"Unknown persona '{name}'. The target's personas: "
                              f"{', '.join(specs)}.")
        spec = specs[name]
        if spec.cloud:
            conn = self._cloud(spec.cloud)
        else:
            import openstack

            def make(**kwargs: Any) -> Any:
                auth = {k: kwargs.pop(k) for k in ("auth_url", "username", "password",
                                                   "user_domain_id", "project_id",
                                                   "system_scope") if k in kwargs}
                conn = openstack.connection.Connection(
                    auth=auth, auth_type="password", identity_api_version="3",
                    region_name=self.admin.config.get_region_name(), interface="public",
                    api_timeout=kwargs["api_timeout"])
                stamp_request_ids(conn)  # our request id on a persona's calls too
                authenticate(conn, name)
                return conn

            conn, made = personas.create(
                self.admin, spec, self.prefix, self.admin.config.get_auth_args()["auth_url"],
                self.api_timeout.total_seconds(), make,
                self._suites[-1] if self._suites else "")
            self._created.append((name, made))
        logsafety.protect()
        self._connections[name] = conn
        return conn

    def _other(self) -> str:
        if self._other_project is None:
            body = calls.must(calls.call(self.admin, "identity", "POST", "/projects", {
                "project": {"name": f"{self.prefix}elsewhere", "domain_id": "default"}}),
                "creating the other project")
            self._other_project = (body["project"]["id"], self._suites[-1] if self._suites
                                   else "")
        return self._other_project[0]

    def _perform(self, persona: str, operation: operations.Operation) -> Outcome:
        conn = self._persona(persona)
        other = self._other()
        ctx = operations.OperationContext(self.admin, conn, conn.current_project_id or other,
                                          other, prefix=self.prefix)
        try:
            outcome = calls.outcome(operation.function(ctx))
        except PolicyError:
            raise
        except Exception as error:  # noqa: BLE001 - a broken call is an ERROR cell
            outcome = Outcome(None, "", f"{type(error).__name__}: {logsafety.redact(str(error))}")
        finally:
            problems = ctx.clean_up()
        if problems:
            logger.warn(f"Clean-up after {operation.name} as {persona}: " + "; ".join(problems))
        return outcome

    def _cell(self, persona: str, name: str, expected: str) -> Cell:
        operation = operations.get(name, self.catalogue)
        has_project = bool(self._persona(persona).current_project_id)
        return run_cell(persona, operation, expected,
                        lambda op: self._perform(persona, op), has_project)

    def _matrix(self, path: str | None) -> matrix_module.Matrix:
        if path:
            file = Path(path)
        elif self.target.data.get("policy_matrix"):
            file = self.target.resolve(str(self.target.data["policy_matrix"]))
        elif self._table:
            file = None
        else:
            raise MatrixError(f"No policy matrix: give one to the keyword or set "
                              f"'policy_matrix' in {self.target.path}.")
        matrix = (matrix_module.load(file, set(self.catalogue)) if file
                  else matrix_module.Matrix("the suite's table", []))
        for persona, operation, expected in self._table:
            matrix.add(persona, operation, expected, matrix_module.TABLE)
        return matrix

    # ---------------------------------------------------------------- keywords
    @results.verdict
    def persona_should_be_allowed_to(self, persona: str, operation: str) -> None:
        """Performs ``operation`` as ``persona`` and fails unless the API allowed it.

        | `Persona Should Be Allowed To`    member    network:create_network
        """
        self._single(persona, operation, ALLOW)

    @results.verdict
    def persona_should_be_denied(self, persona: str, operation: str) -> None:
        """Performs ``operation`` as ``persona`` and fails unless the API denied it with
        the code the catalogue names (403, or 404 where the API hides existence)."""
        self._single(persona, operation, DENY)

    def _single(self, persona: str, operation: str, expected: str) -> None:
        cell = self._cell(persona, operation, expected)
        message = failure_message([cell], f"{persona} / {operation}")
        self._publish_expectation("Persona Should Be Allowed To" if expected == ALLOW
                                  else "Persona Should Be Denied", f"{persona} {operation}",
                                  int(bool(message)))
        if cell.mismatch:
            results.publish(KIND, mismatch_record("single", cell))
        logger.info(cell.line())
        if message:
            raise PolicyError(message)

    @keyword
    def expect_policy(self, persona: str, operation: str, expected: Literal["allow", "deny"]
                      ) -> None:
        """Adds or replaces a cell of the matrix for this suite (the suite's cell wins over
        the file's where both name it): ``persona`` may (``expected`` ``allow``) or may not
        (``deny``) perform ``operation``. Use it in the suite's setup: it checks nothing
        itself, `Check Policy Matrix` does. Fails when the catalogue has no such
        operation.

        | *** Settings ***
        | Suite Setup    `Expect Policy`    reader    network:create_network    deny
        """
        operations.get(operation, self.catalogue)
        self._table.append((persona, operation, expected))

    @results.verdict
    def check_policy_matrix(self, matrix: str | None = None,
                            expected: Literal["all", "allow", "deny"] = "all",
                            personas: list[str] | None = None,
                            operations: list[str] | None = None,
                            check_codes: bool = True) -> dict:
        """Runs every cell of the matrix (or the ``expected`` half of it, the chosen
        ``personas`` / ``operations``) and fails ONCE listing every mismatch and, with
        ``check_codes``, every denial with another code than the catalogue's. Draws the
        matrix in the log and publishes it (kind ``policy``). Returns the summary.

        | `Check Policy Matrix`
        | `Check Policy Matrix`    expected=deny    # the deny half, e.g. during a fault
        """
        loaded = self._matrix(matrix)
        chosen = loaded.select(None if expected == "all" else expected, personas, operations)
        if not chosen:
            raise MatrixError(f"Policy matrix {loaded.name} has no cell to check with "
                              f"expected={expected}, personas={personas}, "
                              f"operations={operations}.")
        overridden = loaded.overridden()
        if overridden:
            logger.info(f"{len(overridden)} cell(s) of the suite's table win over "
                        f"{loaded.name}: " + ", ".join(f"{p}/{o}" for p, o in overridden))
        started = time.monotonic()
        cells = [self._cell(p, o, e) for p, o, e in chosen]
        seconds = time.monotonic() - started
        name = Path(loaded.name).name + ("" if expected == "all" else f" ({expected} half)")
        record = summary(name, cells, seconds, len(overridden), loaded.notes)
        results.publish(KIND, record, html_table(name, cells, loaded.notes, overridden))
        for cell in cells:
            if cell.mismatch:
                results.publish(KIND, mismatch_record(name, cell))
        message = failure_message(cells, f"matrix {name}", check_codes)
        self._publish_expectation("Check Policy Matrix", name, record["mismatches"] + (
            record["code_findings"] if check_codes else 0))
        logger.info(f"{len(cells)} cells in {seconds:.1f} s: {record['mismatches']} "
                    f"mismatch(es), {record['code_findings']} denial code finding(s).")
        if message:
            raise PolicyError(message)
        return record

    @results.verdict
    def deployed_policy_should_match_matrix(self, matrix: str | None = None,
                                            nodes: list[str] | None = None,
                                            timeout: timedelta = timedelta(minutes=5)) -> list:
        """Reads the effective policy on every node that serves each API (or ``nodes``)
        with oslo.policy's tools and fails listing every cell where the deployed policy
        disagrees with the matrix, naming the node. Needs SSH keys (the target's ``ssh``);
        ``timeout`` bounds the reading on each node. ``matrix`` as in `Check Policy
        Matrix`.

        The check evaluates each operation's rule for each persona's roles and scope; it
        does not run the API, so a drift shows even where a load balancer hides it.
        """
        loaded = self._matrix(matrix)
        cells = loaded.select()
        ssh = self.target.section("ssh")
        key = ssh.get("private_key_file")
        key_file = str(self.target.resolve(key)) if key else None
        services = self.target.section("services")
        node_addresses = {n: (v or {}).get("address", n)
                          for n, v in self.target.section("nodes").items()}
        other = self._other()
        who: dict[str, tuple[dict, str, str]] = {}
        for persona in {p for p, _, _ in cells}:
            conn = self._persona(persona)
            roles = conn.session.auth.get_access(conn.session).role_names
            project = conn.current_project_id
            who[persona] = (drift.access(conn.current_user_id, roles, project),
                            project or other, conn.current_user_id)
        per_node: dict[str, dict] = {}
        for index, (persona, name, _) in enumerate(cells):
            op = operations.get(name, self.catalogue)
            service_name, namespace = drift.SOURCES[op.service]
            hosts = (services.get(service_name) or {}).get("nodes") or []
            access, own, user = who[persona]
            project = {operations.OTHER: other, operations.OWN: own}.get(
                op.target, own if access["token"].get("project") else None)
            for node in hosts:
                if nodes and node not in nodes:
                    continue
                ask = per_node.setdefault(node, {"namespaces": set(), "cases": []})
                ask["namespaces"].add(namespace)
                ask["cases"].append({"id": index, "namespace": namespace, "rule": op.rule,
                                     "access": access, "target": drift.target(project, user)})
        if not per_node:
            raise PolicyError("No node to read the deployed policy from: the target's "
                              "'services' name none of keystone, nova-api, glance-api, "
                              "neutron-server, placement (or `nodes` excluded them).")
        problems, errors, checked = [], [], 0
        for node, ask in sorted(per_node.items()):
            answer = drift.ask_node(node_addresses[node], ssh, key_file,
                                    sorted(ask["namespaces"]), ask["cases"],
                                    timeout.total_seconds())
            errors += [f"{node}: {ns}: {text}" for ns, text in answer["errors"].items()]
            for result in answer["results"]:
                persona, name, expected = cells[result["id"]]
                deployed = drift.verdict_of(result["said"])
                checked += 1
                if deployed != expected:
                    problems.append(f"{node}: {persona} / {name}: matrix says {expected}, "
                                    f"deployed policy says {deployed}")
        record = {"schema": 1, "record": "drift", "matrix": Path(loaded.name).name,
                  "checked": checked, "drift": problems, "errors": errors,
                  "nodes": sorted(per_node)}
        results.publish(KIND, record, f"<b>Deployed policy</b>: {checked} rule evaluations "
                        f"on {', '.join(sorted(per_node))}, {len(problems)} disagreement(s)")
        self._publish_expectation("Deployed Policy Should Match Matrix", "deployed policy",
                                  len(problems) + len(errors))
        if problems or errors:
            raise PolicyError(f"The deployed policy disagrees with {loaded.name} in "
                              f"{len(problems)} cell(s)" + (f" and could not be read in "
                                                            f"{len(errors)} case(s)" if errors
                                                            else "") + ":\n"
                              + "\n".join(f"- {p}" for p in problems + errors))
        return problems

    @keyword
    def register_operation(self, name: str, function: str,
                           deny: Literal[403, 404] = 403, rule: str | None = None,
                           target: Literal["own", "other", "none"] = "none") -> None:
        """Adds a suite's own operation to the catalogue under ``name``.

        ``function`` is ``module.function`` taking an operation context (see
        ExtremeTesting.policy.catalogue for examples); ``deny`` is the code its API denies
        with (403, or 404 where the API hides existence); ``rule`` the policy rule it
        exercises (default: from ``name``, as the API names its rules); ``target`` whose
        resource it acts on (``own`` project's, ``other`` project's or ``none``). Fails
        when ``function`` cannot be imported, and when ``name`` does not start with a
        service of the catalogue and a colon.
        """
        module_name, _, attr = function.rpartition(".")
        try:
            func = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError):
            raise PolicyError(f"Cannot import '{function}': give module.function on the "
                              "Python path (e.g. --pythonpath).") from None
        operations.operation(name, int(deny), rule, target, self.catalogue)(func)

    @keyword
    def get_operations(self, service: str | None = None) -> list[str]:
        """Returns the catalogue's operation names (of one ``service``: identity, compute,
        image, network, placement). Never fails: an unknown service has none."""
        return sorted(n for n, op in self.catalogue.items()
                      if service is None or op.service == service)

    @staticmethod
    def _publish_expectation(keyword_name: str, subject: str, measured: int) -> None:
        results.publish_expectation(keyword_name, "policy mismatches", 0, "<=", measured,
                                    unit="count", subject=subject)

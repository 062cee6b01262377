"""The Robot-facing Changes library: keywords over :mod:`.haproxy`, :mod:`.ini`,
:mod:`.packages` and :mod:`.remote`; undo actions in :mod:`.undo`."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn

from .. import events
from .. import target as target_module
from ..errors import TargetError
from ..faults.external import robot_scope
from ..faults.ledger import Ledger, Step, default_ledger_path
from ..faults.locking import take_destructive_lock
from ..target import Target
from . import fernet, ini, packages, undo
from .errors import ChangeError
from .haproxy import HAProxy, backend_of
from .remote import Nodes
from .verdict import zero_impact_keyword

SOURCE = "changes"


@dataclass
class _Open:
    """A change this library made and has not undone yet."""

    entry_id: str
    undo: Step
    test: str
    suite: str
    what: str  # "drain keystone on ctl1", as the timeline shows it


@library(scope="GLOBAL", auto_keywords=False)
class Changes:
    """Rolling changes: drain a node, change its configuration, packages or keys, and put
    it back, one node at a time, with the monitor measuring the cloud meanwhile.

    = Where things are =
    The target file says where the load balancer is (``load_balancer: {type: haproxy,
    node, admin_socket}``; until a target has it, the lab's ``lab.haproxy_socket``),
    how to reach the nodes (``ssh``: key login only), which packages each service uses
    (``services.<name>.packages``, default its own name) and, in ``changes``: the
    ``package_manager`` (``apt``, ``dnf`` or ``dpkg`` with ``deb_dir``), the ``restart``
    command (default ``systemctl restart {service}``) and the Fernet key repository
    (``fernet_keys``, default ``/etc/keystone/fernet-keys``).

    = Safety and undo =
    Every keyword that changes the cloud needs ``destructive: true`` in the target file
    and, under pabot, takes the Faults library's lock ``destructive:<target name>``.
    Each change is written to the fault ledger (next to the target file) before it is
    made, with its undo: a drained server is made ready again, a changed file gets its
    original back (kept 0600 in the ledger's folder, removed once restored), changed
    packages go back to their recorded versions (and the services using them restart).
    What a test (or suite) changed is undone when it ends, whatever its status; after a
    crash, ``extreme recover`` undoes it. A Fernet key rotation is not undone: it is a
    forward change operators make every day, and no token in use becomes invalid.

    = On the timeline =
    Each step is published on the fault timeline (source ``changes``), so the Monitor
    draws drains, changes, restarts and returns next to its samples; `Roll Out Change`
    spans the monitor's "during" phase.

    = Examples =
    | ***** Settings *****
    | Library    ExtremeTesting.Changes    ${TARGET}
    |
    | ***** Test Cases *****
    | Keystone restarts node by node without a failed request
    |     `Roll Out Change`    keystone    Restart Service On Node    keystone
    |
    | Keystone upgrade
    |     `Roll Out Change`    keystone    Upgrade Package    keystone=2:22.0.2-0+deb12u6
    |     ...    python3-keystone=2:22.0.2-0+deb12u6
    """

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, target: str | None = None, ledger: str | None = None,
                 ssh_timeout: timedelta = timedelta(seconds=60)):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``ledger``: the fault ledger (default: next to the target, as Faults uses)."""
        self.ROBOT_LIBRARY_LISTENER = self
        self._target_path = target
        self._target: Target | None = None
        self._ledger_path = ledger
        self.ssh_timeout = ssh_timeout.total_seconds()
        self._nodes: Nodes | None = None  # tests give a fake
        self._lock = None
        self.lock_timeout = 15 * 60.0
        self._open: list[_Open] = []
        self._restarted: dict[tuple[str, str], float] = {}
        self._survivors = None

    # --- plumbing ---------------------------------------------------------------------
    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = target_module.load(self._target_path)
        return self._target

    @property
    def nodes(self) -> Nodes:
        if self._nodes is None:
            self._nodes = undo.connect(self.target, self.ssh_timeout)
        return self._nodes

    def haproxy(self) -> HAProxy:
        return HAProxy(self.target, self.nodes)

    def ledger(self) -> Ledger:
        return Ledger(self._ledger_path or default_ledger_path(self.target.path))

    def backup_dir(self) -> Path:
        """Where changed files' originals wait for their undo: 0700, beside the ledger."""
        path = self.ledger().path
        folder = path.with_name(f"{path.stem}.backups")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        return folder

    def _require_destructive(self, what: str) -> None:
        self.target.require_destructive(what)
        self._lock = take_destructive_lock(self._lock, self.target.name, self.lock_timeout)

    def _release_lock_if_clean(self) -> None:
        if self._lock is not None and not self._open:
            self._lock.release()

    def _record(self, step: Step, undo_step: Step) -> _Open:
        test, suite = robot_scope()
        entry = self.ledger().open_fault(step, undo_step, test=test, suite=suite,
                                         scope="test" if test else "suite",
                                         target_file=str(self.target.path))
        opened = _Open(entry.id, undo_step, test, suite, step.describe())
        self._open.append(opened)
        return opened

    def _undo(self, opened: _Open, how: str = "undone") -> None:
        try:
            undo.HANDLERS[opened.undo.action](opened.undo, self.target, self.nodes)
        except Exception as error:
            self.ledger().undo_failed(opened.entry_id, str(error))
            events.publish(SOURCE, "failed", opened.undo.action, opened.what, opened.entry_id,
                           str(error))
            raise ChangeError(f"Could not undo {opened.what}: {error} Fix it by hand, then "
                              f"run 'extreme recover'.") from None
        self._closed(opened, how)

    def _closed(self, opened: _Open, how: str) -> None:
        self.ledger().close(opened.entry_id, how)
        if opened in self._open:
            self._open.remove(opened)
        events.publish(SOURCE, "undone", opened.undo.action, opened.what, opened.entry_id)

    # --- load balancer ----------------------------------------------------------------
    def _lb_services(self, node: str, service: str | None) -> list[str]:
        self.target.node(node)
        services = self.target.section("services")
        if service:
            if service not in services:
                raise TargetError(f"Unknown service '{service}'. Known: "
                                  f"{', '.join(sorted(services))}.")
            return [service]
        return [name for name, spec in services.items()
                if (spec or {}).get("api") and node in ((spec or {}).get("nodes") or [])]

    @keyword
    def drain_node_from_load_balancer(self, node: str, service: str | None = None) -> None:
        """Sets ``node``'s server of ``service``'s backend (every API service of the node
        when no service is given) to DRAIN: the load balancer sends it no new
        connection, running ones finish. Undone (READY) when the test or suite ends.

        | `Drain Node From Load Balancer`    ctl1    keystone
        """
        services = self._lb_services(node, service)
        self._require_destructive(f"drain {node} from the load balancer")
        lb = self.haproxy()
        for name in services:
            backend = backend_of(self.target, name)
            if any(o.undo.action == undo.LB_READY and o.undo.args.get("backend") == backend
                   and o.undo.nodes == [node] for o in self._open):
                continue
            args = {"backend": backend, "server": node}
            opened = self._record(Step("drain", name, [node], args),
                                  Step(undo.LB_READY, name, [node], args))
            events.publish(SOURCE, "requested", "drain", f"{name} on {node}", opened.entry_id)
            try:
                lb.set_state(backend, node, "drain")
            except ChangeError:
                self._closed(opened, "failed")
                raise
            events.publish(SOURCE, "in effect", "drain", f"{name} on {node}", opened.entry_id)
            logger.info(f"Drained {backend}/{node}.")

    @keyword
    def return_node_to_load_balancer(self, node: str, service: str | None = None) -> None:
        """Sets ``node``'s server(s) back to READY (see `Drain Node From Load Balancer`)."""
        services = self._lb_services(node, service)
        lb = self.haproxy()
        for name in services:
            backend = backend_of(self.target, name)
            lb.set_state(backend, node, "ready")
            for opened in [o for o in self._open if o.undo.action == undo.LB_READY
                           and o.undo.args.get("backend") == backend and o.undo.nodes == [node]]:
                self._closed(opened, "undone")
            logger.info(f"Returned {backend}/{node} to the load balancer.")

    def _wait_servers(self, node: str, service: str | None, timeout: timedelta,
                      done, what: str) -> float:
        backends = [backend_of(self.target, s) for s in self._lb_services(node, service)]
        lb = self.haproxy()
        started = time.monotonic()
        deadline = started + timeout.total_seconds()
        while True:
            seen = {s.backend: s for s in lb.servers()
                    if s.server == node and s.backend in backends}
            missing = [b for b in backends if b not in seen]
            if missing:
                raise ChangeError(f"HAProxy has no server {node} in backend(s) "
                                  f"{', '.join(missing)}.")
            pending = [s for s in seen.values() if not done(s)]
            if not pending:
                return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise ChangeError(
                    f"{node} was not {what} within {timeout.total_seconds():g} s: "
                    + ", ".join(f"{s.backend} {s.status} with {s.sessions} session(s)"
                                for s in pending) + ".")
            time.sleep(0.2)

    @keyword
    def wait_until_node_is_drained(self, node: str, service: str | None = None,
                                   timeout: timedelta = timedelta(seconds=60)) -> float:
        """Waits until ``node``'s server(s) have no active session left; returns seconds.

        Fails after ``timeout`` naming the sessions left."""
        return self._wait_servers(node, service, timeout, lambda s: s.sessions == 0, "drained")

    @keyword
    def wait_until_node_is_up_in_load_balancer(self, node: str, service: str | None = None,
                                               timeout: timedelta = timedelta(seconds=60)
                                               ) -> float:
        """Waits until the load balancer's checks see ``node``'s server(s) UP (its rise)."""
        return self._wait_servers(node, service, timeout, lambda s: s.status == "UP", "up")

    @keyword
    def get_load_balancer_servers(self) -> list[dict]:
        """Every server as HAProxy's ``show stat`` reports it (backend, server, status,
        sessions)."""
        return [s.__dict__.copy() for s in self.haproxy().servers()]

    # --- configuration ----------------------------------------------------------------
    def _change_file(self, node: str, path: str, edit, what: str, services) -> None:
        self.target.node(node)
        self._require_destructive(f"change {path} on {node}")
        original = self.nodes.read_file(node, path)
        text = "" if original is None else original.decode()
        changed = edit(text)
        if changed == text:
            logger.info(f"{path} on {node} already {what}; nothing to change.")
            return
        backup = ""
        if original is not None:
            handle = self.backup_dir() / f"{uuid.uuid4().hex[:12]}-{node}-{Path(path).name}"
            fd = os.open(handle, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(original)
            backup = str(handle)
        if isinstance(services, str):
            services = [s.strip() for s in services.split(",") if s.strip()]
        args = {"file": path, "backup": backup, "services": list(services or [])}
        opened = self._record(Step("config", None, [node], {"file": path, "change": what}),
                              Step(undo.RESTORE_FILE, None, [node], args))
        events.publish(SOURCE, "in effect", "config", f"{path} on {node}", opened.entry_id, what)
        self.nodes.write_file(node, path, changed.encode())
        logger.info(f"{path} on {node}: {what}.")

    @keyword
    def set_config_option(self, node: str, path: str, section: str, option: str, value: str,
                          services: list[str] | str | None = None) -> None:
        """Sets ``option = value`` in ``section`` of the INI file ``path`` on ``node``,
        keeping every comment and other line. The original is kept (0600) and put back
        when the test or suite ends (then ``services``, those that read the file, restart
        on that node). The change takes effect when the service restarts.

        | `Set Config Option`    ctl1    /etc/keystone/keystone.conf    token    expiration
        | ...    7200    services=keystone
        """
        ini.set_option("", section, option, value)  # bad names fail before anything
        self._change_file(node, path, lambda t: ini.set_option(t, section, option, value),
                          f"[{section}] {option} = {value}", services)

    @keyword
    def remove_config_option(self, node: str, path: str, section: str, option: str,
                             services: list[str] | str | None = None) -> None:
        """Removes ``option`` from ``section`` of ``path`` on ``node`` (as
        `Set Config Option`, undone at scope end)."""
        ini.remove_option("", section, option)
        self._change_file(node, path, lambda t: ini.remove_option(t, section, option)[0],
                          f"[{section}] {option} removed", services)

    @keyword
    def get_config_option(self, node: str, path: str, section: str, option: str) -> str | None:
        """The value of ``option`` in ``section`` of ``path`` on ``node`` (None: unset)."""
        found = self.nodes.read_file(node, path)
        return None if found is None else ini.get_option(found.decode(), section, option)

    # --- services ---------------------------------------------------------------------
    @keyword
    def restart_service_on_node(self, node: str, service: str) -> None:
        """Restarts ``service`` on ``node`` with the target's restart command."""
        self._require_destructive(f"restart {service} on {node}")
        events.publish(SOURCE, "mark", "restart", f"{service} on {node}")
        undo.restart(self.target, self.nodes, node, [service])
        self._restarted[(node, service)] = time.monotonic()

    @keyword
    def wait_until_service_serves_on_node(self, node: str, service: str,
                                          timeout: timedelta = timedelta(minutes=2)) -> float:
        """Waits until ``service`` answers HTTP on ``node``'s own address and port (any
        answer below 500), not through the load balancer; returns the seconds waited."""
        import requests

        address = self.target.node(node).get("address")
        port = (self.target.section("services").get(service) or {}).get("port")
        if not address or not port:
            raise TargetError(f"Target file {self.target.path}: need the address of {node} "
                              f"and the port of {service}.")
        started = time.monotonic()
        deadline = started + timeout.total_seconds()
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://{address}:{port}/", timeout=2)
                if answer.status_code < 500:
                    return time.monotonic() - started
                last = f"HTTP {answer.status_code}"
            except requests.RequestException as error:
                last = type(error).__name__
            time.sleep(0.2)
        raise ChangeError(f"{service} did not serve on {node} ({address}:{port}) within "
                          f"{timeout.total_seconds():g} s; last: {last}.")

    # --- packages ---------------------------------------------------------------------
    @keyword
    def get_package_version(self, node: str, name: str) -> str:
        """The installed version of package ``name`` on ``node``."""
        found = self.nodes.run(node, packages.version_command(self.target, name), check=False)
        if found.rc != 0 or not found.out.strip():
            raise ChangeError(f"Package {name} is not installed on {node}.")
        return found.out.strip()

    def _change_packages(self, node: str, pairs, downgrade: bool) -> None:
        wanted = packages.parse_pairs(pairs)
        self.target.node(node)
        verb = "downgrade" if downgrade else "upgrade"
        self._require_destructive(f"{verb} packages on {node}")
        before = {name: self.get_package_version(node, name) for name in wanted}
        todo = {n: v for n, v in wanted.items() if before[n] != v}
        if not todo:
            logger.info(f"{node} already has {', '.join(f'{n}={v}' for n, v in wanted.items())}.")
            return
        services = packages.services_using(self.target, node, list(todo))
        text = ", ".join(f"{n} {before[n]} -> {v}" for n, v in todo.items())
        opened = self._record(
            Step(verb, None, [node], {"packages": todo}),
            Step(undo.INSTALL_PACKAGES, None, [node],
                 {"packages": {n: before[n] for n in todo}, "services": services,
                  "downgrade": not downgrade}))
        events.publish(SOURCE, "in effect", verb, node, opened.entry_id, text)
        self.nodes.run(node, packages.install_command(self.target, todo, downgrade), timeout=900)
        undo.restart(self.target, self.nodes, node, services)
        for service in services:
            self._restarted[(node, service)] = time.monotonic()
        logger.info(f"{node}: {text}; restarted {', '.join(services) or 'no service'}.")

    @keyword
    def upgrade_package(self, node: str, *pairs: str) -> None:
        """Installs ``name=version`` packages on ``node`` and restarts every service of
        the node that uses them. The versions before are recorded and installed again
        when the test or suite ends.

        | `Upgrade Package`    ctl1    keystone=2:22.0.2-0+deb12u6
        | ...    python3-keystone=2:22.0.2-0+deb12u6
        """
        self._change_packages(node, pairs, downgrade=False)

    @keyword
    def downgrade_package(self, node: str, *pairs: str) -> None:
        """As `Upgrade Package`, to older versions."""
        self._change_packages(node, pairs, downgrade=True)

    # --- keys -------------------------------------------------------------------------
    @keyword
    def rotate_fernet_keys(self, *nodes: str) -> str:
        """Rotates Keystone's Fernet keys the operators' way, on ``nodes`` (default: every
        node of the ``keystone`` service): first every node gets the same key repository
        (so the staged key is everywhere), then the first node rotates (its staged key
        becomes primary) and the repository goes to the others. A token in use stays
        valid: its key is kept as a secondary key. Returns the new primary key's number.
        """
        chosen = list(nodes) or list((self.target.section("services").get("keystone") or {})
                                     .get("nodes") or [])
        if not chosen:
            raise TargetError(f"Target file {self.target.path}: no node runs keystone.")
        for node in chosen:
            self.target.node(node)
        self._require_destructive("rotate the Fernet keys")
        rotation = fernet.Rotation(self.target, self.nodes, chosen)
        events.publish(SOURCE, "mark", "fernet stage", ", ".join(chosen))
        rotation.stage()
        events.publish(SOURCE, "mark", "fernet rotate", chosen[0])
        primary = rotation.rotate()
        events.publish(SOURCE, "mark", "fernet distributed", ", ".join(chosen))
        logger.info(f"Fernet keys rotated on {chosen[0]} and distributed to "
                    f"{', '.join(chosen[1:]) or 'no other node'}; primary key {primary}.")
        return primary

    # --- the roll-out -----------------------------------------------------------------
    @keyword
    def roll_out_change(self, service: str, name: str, *args, **kwargs) -> None:
        """For each node that runs ``service``, one at a time: drain it from the load
        balancer, wait until drained, run keyword ``name`` with the node first and
        ``args`` after, restart ``service`` there (unless the keyword did), wait until it
        serves on that node, return it to the load balancer, wait for the load balancer's
        rise; then the next node. Every step is on the monitor's timeline.

        | `Roll Out Change`    keystone    Set Config Option    /etc/keystone/keystone.conf
        | ...    DEFAULT    max_param_size    80    services=keystone
        """
        spec = self.target.section("services").get(service)
        if not spec or not spec.get("nodes"):
            raise TargetError(f"Unknown service '{service}' or it runs on no node; known: "
                              f"{', '.join(sorted(self.target.section('services')))}.")
        self._require_destructive(f"roll out a change of {service}")
        rollout = uuid.uuid4().hex[:12]
        events.publish(SOURCE, "requested", "roll out", service, rollout, name)
        builtin = BuiltIn()
        try:
            for node in spec["nodes"]:
                mark = f"{service} on {node}"
                self.drain_node_from_load_balancer(node, service)
                self.wait_until_node_is_drained(node, service)
                started = time.monotonic()
                events.publish(SOURCE, "mark", f"apply {name}", mark, rollout)
                builtin.run_keyword(name, node, *args, *[f"{k}={v}" for k, v in kwargs.items()])
                if self._restarted.get((node, service), 0) < started:
                    self.restart_service_on_node(node, service)
                self.wait_until_service_serves_on_node(node, service)
                events.publish(SOURCE, "mark", "serves", mark, rollout)
                self.return_node_to_load_balancer(node, service)
                self.wait_until_node_is_up_in_load_balancer(node, service)
                events.publish(SOURCE, "mark", "up in load balancer", mark, rollout)
        finally:
            events.publish(SOURCE, "undone", "roll out", service, rollout, name)

    # --- survivors --------------------------------------------------------------------
    @keyword
    def create_survivors(self, prefix: str = "survivor") -> dict:
        """Creates, with the ExtremeTesting.Cloud library (which must be imported), a
        server, a network with a subnet and a port, an image (its checksum recorded), a
        key pair, a project and a user with a password kept in memory only; returns what
        `Survivors Should Be Intact` checks. The Cloud library cleans them up."""
        from . import survivors

        self._survivors = survivors.create(self._cloud(), prefix)
        logger.info(f"Survivors: {self._survivors.as_dict()}")
        return self._survivors.as_dict()

    @keyword
    def survivors_should_be_intact(self) -> None:
        """Fails unless each survivor of `Create Survivors` exists, unchanged and
        usable: the server ACTIVE, the port on its network with its MAC, the image
        downloading with the same checksum, the key pair's fingerprint, the user
        getting a token."""
        from . import survivors

        if self._survivors is None:
            raise ChangeError("No survivors: call `Create Survivors` before the change.")
        wrong = survivors.problems(self._cloud(), self._survivors)
        if wrong:
            raise ChangeError("Survivors damaged by the change: " + "; ".join(wrong) + ".")
        logger.info("Every survivor is intact.")

    @staticmethod
    def _cloud():
        try:
            return BuiltIn().get_library_instance("ExtremeTesting.Cloud")
        except RuntimeError:
            raise ChangeError("Survivors need the ExtremeTesting.Cloud library: import it "
                              "in the suite.") from None

    # --- verdict ----------------------------------------------------------------------
    @keyword
    def change_should_have_zero_impact(self, factor: float | None = None,
                                       probe: str = "overall", name: str = "default") -> None:
        """Judges the monitor ``name`` (stopped or running) over the change: no failed
        sample of ``probe`` during it, and its p95 latency during the change at most
        ``factor`` times the p95 before it (default: the target's
        ``expectations.rolling_changes.latency_factor``). Publishes one expectation record
        per comparison for the sign-off report.

        | `Change Should Have Zero Impact`    factor=1.5
        """
        zero_impact_keyword(self.target, factor, probe, name)

    # --- undo at scope end ------------------------------------------------------------
    def _undo_many(self, items: list[_Open]) -> None:
        failures = []
        for opened in reversed(items):
            if opened not in self._open:
                continue
            try:
                self._undo(opened)
                logger.info(f"Undid {opened.what}.")
            except ChangeError as error:
                failures.append(str(error))
                logger.error(str(error))
        if failures:
            raise ChangeError(" ".join(failures))

    def end_test(self, data, result) -> None:
        try:
            self._undo_many([o for o in self._open if o.test == data.name])
        except ChangeError:
            result.status = "FAIL"
        self._release_lock_if_clean()

    def end_suite(self, data, result) -> None:
        name = getattr(data, "full_name", data.name)
        items = list(self._open) if data.parent is None else [
            o for o in self._open if o.suite == name or o.suite.startswith(name + ".")]
        try:
            self._undo_many(items)
        except ChangeError:
            pass  # logged; the ledger keeps them open for 'extreme recover'
        self._release_lock_if_clean()
        if data.parent is None and self._nodes is not None:
            self._nodes.close()

"""The Robot-facing Changes library: keywords over :mod:`.haproxy`, :mod:`.ini`,
:mod:`.packages` and :mod:`.remote`; undo actions in :mod:`.undo`."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn
from robot.utils import timestr_to_secs

from ..results import verdict
from .. import __version__, events
from .. import target as target_module
from ..errors import TargetError
from ..lifecycle import Entry, ScopeListener, Step, Tracker, undo_entries
from ..target import Target
from . import fernet, gate, haproxy, ini, packages, settle, undo
from .errors import ChangeError
from .remote import Nodes
from .verdict import zero_impact_keyword

SOURCE = "changes"


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Changes:
    """Rolling changes: drain a node, change its configuration, packages or keys, and put
    it back, one node at a time, with the monitor measuring the cloud meanwhile.

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Changes    ${TARGET}
    | Library    ExtremeTesting.Changes    ${TARGET}    ssh_timeout=2 min

    The arguments are described under `Importing` below the introduction.

    = Where things are =
    The target file says where the load balancer is (``load_balancer: {type: haproxy,
    node, admin_socket}``, optional ``backends: {<service>: <backend>}`` when a backend
    is not named after its service; servers are named after their nodes), how to reach
    the nodes (``ssh``: key login only), which packages each service uses
    (``services.<name>.packages``, default its own name) and, in ``changes``: the
    ``package_manager`` (``apt``, ``dnf`` or ``dpkg`` with ``deb_dir``), the ``restart``
    command (default: the os-faults configuration's ``restart_cmd`` of the service, then
    ``systemctl restart {service}``) and the Fernet key repository (``fernet_keys``,
    default ``/etc/keystone/fernet-keys``).

    = Safety and undo =
    Every keyword that changes the cloud needs ``destructive: true`` in the target file
    and, under pabot, takes the lock ``destructive:<target name>`` (the one Faults, Power
    and Switch take). Each change is written to the fault ledger (next to the target file)
    and on disk before it is made, with its undo: a drained server is made ready again, a
    changed file gets its original back, changed packages go back to their recorded
    versions (and the services using them restart). What a test (or suite) changed is
    undone when it ends, whatever its status; an undo that fails fails the test with
    "could not undo ...", and ``extreme recover`` undoes after a crash. A Fernet key
    rotation is not undone: it is a forward change operators make every day, and no token
    in use becomes invalid.

    = Kept files =
    A changed file's original is kept, mode 0600, in a 0700 folder beside the ledger
    (``<ledger name>.backups``, e.g. ``target.ledger.backups/``): it may hold passwords.
    It is removed once it was put back.

    = On the timeline =
    Each step is published on the fault timeline (source ``changes``), so the Monitor
    draws drains, changes, restarts and returns next to its samples; `Roll Out Change`
    spans the monitor's "during" phase.

    = What it never does =
    - It never changes a target not marked ``destructive: true``.
    - It never leaves a change behind on purpose: drains, files and packages come back
      when the test or suite ends, and ``extreme recover`` finishes the job after a crash.
    - It never logs a file's content or a command's output that may hold a secret, and
      never keeps a changed file's original after it was put back.
    - It never logs in with a password: SSH uses the target's key only.

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

    def __init__(self, target: str | None = None, ledger: str | None = None,
                 ssh_timeout: timedelta = timedelta(seconds=60)):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``ledger``: the fault ledger (default: next to the target, as Faults uses);
        ``ssh_timeout``: the longest wait for a node's SSH answer."""
        # What this library changed, undone when its test or suite ends (the lifecycle's
        # one listener); at the end of the run the SSH connections close.
        self.changes = Tracker(lambda: self.target, ledger, undo=self._undo_entry)
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.changes, at_run_end=self._close_nodes)
        self._target_path = target
        self._target: Target | None = None
        self.ssh_timeout = ssh_timeout.total_seconds()
        self._nodes: Nodes | None = None  # tests give a fake
        self._restarted: dict[tuple[str, str], float] = {}
        self._survivors = None
        self.gate = gate.prepare  # (target, node, service) -> gate.Gate | None

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

    def haproxy(self) -> haproxy.HAProxy:
        return haproxy.of(self.target, self.nodes)

    def backup_dir(self) -> Path:
        """Where changed files' originals wait for their undo: 0700, beside the ledger."""
        path = self.changes.ledger().path
        folder = path.with_name(f"{path.stem}.backups")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        return folder

    def _require_destructive(self, what: str) -> None:
        # the interlock, then under pabot the cloud's lock: one destructive test at once
        self.changes.require_destructive(what)

    def _pending(self, action: str, node: str, **args) -> list[Entry]:
        """Open entries of this library whose undo is ``action`` on ``node`` with ``args``."""
        return [e for e in self.changes.pending if e.undo is not None
                and e.undo.action == action and e.undo.nodes == [node]
                and all(e.undo.args.get(k) == v for k, v in args.items())]

    def _undo_entry(self, entry: Entry) -> None:
        """Undo one change with the connections this library holds (the same handler
        ``extreme recover`` calls); raises when it could not, and the lifecycle's listener
        then fails the test with "could not undo ..."."""
        what = entry.step.describe()
        try:
            undo.HANDLERS[entry.undo.action](entry.undo, self.target, self.nodes)
        except Exception as error:
            events.publish(SOURCE, "failed", entry.undo.action, what, entry.id, str(error))
            raise
        events.publish(SOURCE, "undone", entry.step.action, what, entry.id)
        logger.info(f"Undid {what}.")

    def _transient(self, step: Step, do) -> None:
        """A change that is over once made (a restart, a key rotation): written to the
        ledger before, closed after (``failed`` with the error when it failed)."""
        entry = self.changes.record(step)
        try:
            do()
        except Exception as error:
            self.changes.close(entry, "failed", str(error))
            raise
        self.changes.close(entry, "completed")

    def _close_nodes(self) -> None:
        if self._nodes is not None:
            self._nodes.close()

    @keyword
    def undo_all_changes(self) -> None:
        """Undoes, newest first, every change this library made and has not undone yet:
        drained nodes return, changed files get their originals back, changed packages
        their recorded versions (the services that use them restart).

        Use it in test teardowns, before checking that the cloud is whole again (without
        it, changes are undone when the test ends, after its teardown). Tries every undo,
        then fails listing those that failed; ``extreme recover`` finishes the rest.

        | ***** Settings *****
        | Test Teardown    `Undo All Changes`
        """
        failures = undo_entries(self.changes, list(self.changes.pending), logger.error)
        self.changes.release_lock_if_clean()
        if failures:
            raise ChangeError("\n".join(failures))

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
        """Drains ``node`` from the load balancer: no new connection, running ones finish.

        Sets the node's server in the backend of ``service`` (every API service of the
        node when no service is given) to DRAIN. Written to the ledger before, and made
        READY again when the test or suite ends (or by `Return Node To Load Balancer`).

        Fails, before touching anything, on a target not marked ``destructive: true``, an
        unknown node or service, or a target without a load balancer; fails with HAProxy's
        answer when it refuses.

        | `Drain Node From Load Balancer`    ctl1    keystone
        """
        services = self._lb_services(node, service)
        self._require_destructive(f"drain {node} from the load balancer")
        lb = self.haproxy()
        for name in services:
            backend = lb.spec.backend(name)
            if self._pending(undo.LB_READY, node, backend=backend):
                continue
            args = {"backend": backend, "server": node}
            entry = self.changes.record(Step("drain", name, [node], args),
                                        Step(undo.LB_READY, name, [node], args))
            events.publish(SOURCE, "requested", "drain", f"{name} on {node}", entry.id)
            try:
                lb.set_state(backend, node, "drain")
            except Exception as error:
                self.changes.close(entry, "failed", str(error))
                events.publish(SOURCE, "failed", "drain", f"{name} on {node}", entry.id,
                               str(error))
                raise
            events.publish(SOURCE, "in effect", "drain", f"{name} on {node}", entry.id)
            logger.info(f"Drained {backend}/{node}.")

    @keyword
    def return_node_to_load_balancer(self, node: str, service: str | None = None,
                                     gate: bool = True) -> None:
        """Returns ``node`` to the load balancer: its server(s) of ``service`` READY again,
        then checks that it serves real requests (the gate).

        Every API service of the node when no ``service`` is given; closes the drains of
        `Drain Node From Load Balancer`. The gate: for the target's ``gate_window``
        (``expectations.rolling_changes``, default 5 s) the requests the availability
        monitor sends for the service (version document, token validation, authenticated
        reads, the target's writes), with its credentials, go straight to the node's own
        address and the service's port, and none may fail. When one does, the node is
        taken out of rotation again, every change this library made on it is undone, and
        the keyword fails naming the node, the requests that failed and their statuses.
        ``gate=False`` only returns the node. Fails with HAProxy's answer when it refuses,
        or on an unknown node or service.

        | `Return Node To Load Balancer`    ctl1    keystone
        """
        services = self._lb_services(node, service)
        lb = self.haproxy()
        # The gates log in first, while the node is still out of rotation.
        gates = {name: self._prepare_gate(node, name) for name in services} if gate else {}
        for name in services:
            backend = lb.spec.backend(name)
            lb.set_state(backend, node, "ready")
            for entry in self._pending(undo.LB_READY, node, backend=backend):
                self.changes.close(entry, "restored", "by Return Node To Load Balancer")
                events.publish(SOURCE, "undone", "drain", f"{name} on {node}", entry.id)
            logger.info(f"Returned {backend}/{node} to the load balancer.")
        for name, prepared in gates.items():
            if prepared is not None:
                self._gate(node, name, prepared)

    def _prepare_gate(self, node: str, service: str) -> gate.Gate | None:
        if not self.target.data.get("cloud"):
            logger.warn(f"No 'cloud' in target file {self.target.path}: the gate cannot "
                        f"send real requests to {service} on {node} (not checked).")
            return None
        return self.gate(self.target, node, service)

    def _gate(self, node: str, service: str, prepared: gate.Gate) -> None:
        """The gate of `Return Node To Load Balancer`: real requests to the node, or the
        node out of rotation again, its changes undone and a `GateError`."""
        found = prepared.run()
        mark = f"{service} on {node}"
        if found.ok:
            events.publish(SOURCE, "mark", "serves real requests", mark, "",
                           f"{found.requests} requests in {found.window:g} s")
            warmup = (f" after a warm-up in which {len(found.warmup)} failed"
                      f" ({', '.join(sorted({f['error'] or 'failed' for f in found.warmup}))})"
                      if found.warmup else "")
            logger.info(f"{mark} served {found.requests} real requests, the last "
                        f"{found.window:g} s without a failure{warmup} ({found.url}).")
            return
        what = found.describe()
        events.publish(SOURCE, "failed", "gate", mark, "", what)
        self.drain_node_from_load_balancer(node, service)
        changed = [e for e in self.changes.pending if e.undo is not None
                   and e.undo.nodes == [node] and e.undo.action != undo.LB_READY]
        undone = ", ".join(e.step.describe() for e in changed) or "nothing to undo"
        failures = undo_entries(self.changes, changed, logger.error)
        if failures:
            undone += f" (could not undo: {'; '.join(failures)})"
        raise gate.GateError(f"{what}. {node} is out of rotation again; its change undone: "
                             f"{undone}.")

    def _wait_servers(self, node: str, service: str | None, timeout: timedelta,
                      done, what: str) -> float:
        services = self._lb_services(node, service)
        lb = self.haproxy()
        return lb.wait_until(node, [lb.spec.backend(s) for s in services], done, what,
                             timeout.total_seconds())

    @keyword
    def wait_until_node_is_drained(self, node: str, service: str | None = None,
                                   timeout: timedelta = timedelta(seconds=60)) -> float:
        """Waits until ``node``'s load-balancer server(s) have no active session left.

        Of ``service`` (every API service of the node when none is given). Returns the
        seconds waited. Fails after ``timeout`` naming the sessions left, or when HAProxy
        has no such server.

        | `Wait Until Node Is Drained`    ctl1    keystone    timeout=30 s
        """
        return self._wait_servers(node, service, timeout, lambda s: s.sessions == 0, "drained")

    @keyword
    def wait_until_node_is_up_in_load_balancer(self, node: str, service: str | None = None,
                                               timeout: timedelta = timedelta(seconds=60)
                                               ) -> float:
        """Waits until the load balancer's checks see ``node`` UP again (its rise).

        Of ``service`` (every API service of the node when none is given). Returns the
        seconds waited. Fails after ``timeout`` with the status HAProxy shows, or when it
        has no such server.

        | `Wait Until Node Is Up In Load Balancer`    ctl1    keystone
        """
        return self._wait_servers(node, service, timeout, lambda s: s.status == "UP", "up")

    def load_balancer_servers(self) -> list[dict]:
        """Every load-balancer server as HAProxy's ``show stat`` reports it (plain Python,
        not a keyword: suites use the Cloud library's `Get Load Balancer Servers`, one
        name for one act)."""
        return [asdict(s) for s in self.haproxy().servers()]

    # --- configuration ----------------------------------------------------------------
    def _keep_original(self, node: str, path: str, original: bytes) -> str:
        handle = self.backup_dir() / f"{uuid.uuid4().hex[:12]}-{node}-{Path(path).name}"
        fd = os.open(handle, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(original)
            out.flush()
            os.fsync(out.fileno())
        return str(handle)

    def _change_file(self, node: str, path: str, edit, what: str, services) -> None:
        self.target.node(node)
        self._require_destructive(f"change {path} on {node}")
        original = self.nodes.read_file(node, path)
        text = "" if original is None else original.decode()
        changed = edit(text)
        if changed == text:
            logger.info(f"{path} on {node} already {what}; nothing to change.")
            return
        backup = "" if original is None else self._keep_original(node, path, original)
        if isinstance(services, str):
            services = [s.strip() for s in services.split(",") if s.strip()]
        args = {"file": path, "backup": backup, "services": list(services or [])}
        try:
            entry = self.changes.record(Step("config", None, [node],
                                             {"file": path, "change": what}),
                                        Step(undo.RESTORE_FILE, None, [node], args))
        except Exception:
            if backup:  # nothing was changed: the copy has nothing to restore
                os.unlink(backup)
            raise
        events.publish(SOURCE, "in effect", "config", f"{path} on {node}", entry.id, what)
        self.nodes.write_file(node, path, changed.encode())
        logger.info(f"{path} on {node}: {what}.")

    @keyword
    def set_config_option(self, node: str, path: str, section: str, option: str, value: str,
                          services: list[str] | str | None = None) -> None:
        """Sets ``option`` to ``value`` in ``section`` of the INI file ``path`` on ``node``.

        Every comment and other line is kept. The original is kept (see `Kept files`) and
        put back when the test or suite ends; then ``services`` (those that read the file,
        a list or comma-separated) restart on that node. The change takes effect when the
        service restarts.

        Fails, before touching anything, on a target not marked ``destructive: true``, an
        unknown node, or a section or option name that is not valid INI; fails when the
        node cannot be reached or the file cannot be written.

        | `Set Config Option`    ctl1    /etc/keystone/keystone.conf    token    expiration
        | ...    7200    services=keystone
        """
        ini.set_option("", section, option, value)  # bad names fail before anything
        self._change_file(node, path, lambda t: ini.set_option(t, section, option, value),
                          f"[{section}] {option} = {value}", services)

    @keyword
    def remove_config_option(self, node: str, path: str, section: str, option: str,
                             services: list[str] | str | None = None) -> None:
        """Removes ``option`` from ``section`` of the INI file ``path`` on ``node``.

        As `Set Config Option`: the original is kept and put back when the test or suite
        ends, then ``services`` restart on that node. Fails as `Set Config Option` does.

        | `Remove Config Option`    ctl1    /etc/nova/nova.conf    api    max_limit
        """
        ini.remove_option("", section, option)
        self._change_file(node, path, lambda t: ini.remove_option(t, section, option)[0],
                          f"[{section}] {option} removed", services)

    @keyword
    def get_config_option(self, node: str, path: str, section: str, option: str) -> str | None:
        """Returns the value of ``option`` in ``section`` of ``path`` on ``node``.

        None when the option (or the file) is not there; changes nothing. Fails when the
        node cannot be reached.

        | ${value} =    `Get Config Option`    ctl1    /etc/keystone/keystone.conf    token
        | ...    expiration
        """
        found = self.nodes.read_file(node, path)
        return None if found is None else ini.get_option(found.decode(), section, option)

    # --- services ---------------------------------------------------------------------
    @keyword
    def restart_service_on_node(self, node: str, service: str) -> None:
        """Restarts ``service`` on ``node`` with the target's restart command.

        Written to the ledger before (a restart is over once made: nothing to undo).
        Fails, before touching anything, on a target not marked ``destructive: true``;
        fails with the command's error output when the restart fails.

        | `Restart Service On Node`    ctl1    keystone
        """
        self.target.node(node)
        self._require_destructive(f"restart {service} on {node}")
        events.publish(SOURCE, "mark", "restart", f"{service} on {node}")
        self._transient(Step("restart", service, [node]),
                        lambda: undo.restart(self.target, self.nodes, node, [service]))
        self._restarted[(node, service)] = time.monotonic()

    def wait_until_service_serves_on_node(self, node: str, service: str,
                                          timeout: timedelta = timedelta(minutes=2)) -> float:
        """Waits until ``service`` answers HTTP on ``node``'s own address and port.

        Any answer below 500 counts; asked directly, not through the load balancer.
        Returns the seconds waited. Fails after ``timeout`` with the last answer, or when
        the target has no address for the node or no port for the service.

        Not a keyword (`Roll Out Change` uses it): suites use the Cloud library's
        ``Wait Until Service Serves On Node    <service>    <node>``, one keyword of
        that name."""
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
        """Returns the installed version of package ``name`` on ``node``.

        Asks the node's package database (``dpkg-query`` or ``rpm``); changes nothing.
        Fails when the package is not installed or the node cannot be reached.

        | ${version} =    `Get Package Version`    ctl1    keystone
        """
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
        # A rollback: exactly what an open package change of this node recorded as before.
        reverted = next(reversed(self._pending(undo.INSTALL_PACKAGES, node, packages=todo)),
                        None)
        entry = reverted or self.changes.record(
            Step(verb, None, [node], {"packages": todo}),
            Step(undo.INSTALL_PACKAGES, None, [node],
                 {"packages": {n: before[n] for n in todo}, "services": services,
                  "downgrade": not downgrade}))
        events.publish(SOURCE, "in effect", verb, node, entry.id, text)
        self.nodes.run(node, packages.install_command(self.target, todo, downgrade), timeout=900)
        undo.restart(self.target, self.nodes, node, services)
        for service in services:
            self._restarted[(node, service)] = time.monotonic()
        if reverted:
            # A rollback: the earlier change is undone, nothing is left to undo at scope end.
            self.changes.close(reverted, "undone", f"rolled back: {text}")
        logger.info(f"{node}: {text}; restarted {', '.join(services) or 'no service'}.")

    @keyword
    def upgrade_package(self, node: str, *pairs: str) -> None:
        """Installs the ``name=version`` ``pairs`` on ``node`` and restarts their users.

        Every service of the node that uses a changed package restarts (as on a real
        node: python3-nova serves nova-api, conductor and scheduler). The versions before
        are recorded and installed again when the test or suite ends.

        Fails, before touching anything, on a target not marked ``destructive: true``, an
        unknown node, a pair that is not ``name=version`` or a package not installed;
        fails with the package manager's error when the install fails.

        | `Upgrade Package`    ctl1    keystone=2:22.0.2-0+deb12u6
        | ...    python3-keystone=2:22.0.2-0+deb12u6
        """
        self._change_packages(node, pairs, downgrade=False)

    @keyword
    def downgrade_package(self, node: str, *pairs: str) -> None:
        """Installs older ``name=version`` ``pairs`` on ``node``, as `Upgrade Package`.

        The versions before are installed again when the test or suite ends. Fails as
        `Upgrade Package` does.

        | `Downgrade Package`    ctl1    keystone=2:22.0.2-0+deb12u3
        """
        self._change_packages(node, pairs, downgrade=True)

    @keyword
    def get_upgrade_of(self, service: str) -> tuple[list[str], list[str]]:
        """Returns the upgrade the target declares for ``service``: two lists of
        ``name=version``, the packages before (``from``) and after (``to``).

        Read from the target's ``changes.upgrades.<service>: {from: {package: version},
        to: {package: version}}`` (the lab writes both Debian revisions of Keystone and of
        Nova's API). Fails, naming the section, when the target declares none.

        | ${from}    ${to} =    `Get Upgrade Of`    keystone
        | `Roll Out Change`    keystone    `Upgrade Package`    @{to}
        """
        upgrades = self.target.section("changes").get("upgrades") or {}
        spec = upgrades.get(service)
        sides = [(spec or {}).get(side) for side in ("from", "to")]
        if not all(isinstance(side, dict) and side for side in sides):
            raise TargetError(
                f"Target file {self.target.path} declares no upgrade of '{service}': add "
                f"changes.upgrades.{service}: {{from: {{package: version}}, to: {{package: "
                f"version}}}} (declared: {', '.join(sorted(upgrades)) or 'none'}).")
        return tuple([f"{name}={version}" for name, version in side.items()] for side in sides)

    @keyword
    def packages_should_be_installed(self, node: str, *pairs: str) -> None:
        """Fails unless ``node`` has each ``name=version`` of ``pairs`` installed, naming
        every package that differs and the version found.

        | `Packages Should Be Installed`    ctl1    keystone=2:22.0.2-0+deb12u3
        """
        wanted = packages.parse_pairs(pairs)
        found = {name: self.get_package_version(node, name) for name in wanted}
        wrong = [f"{n} {found[n]} (expected {v})" for n, v in wanted.items() if found[n] != v]
        if wrong:
            raise ChangeError(f"{node} runs {', '.join(wrong)}.")
        logger.info(f"{node} runs {', '.join(pairs)}.")

    # --- keys -------------------------------------------------------------------------
    @keyword
    def rotate_fernet_keys(self, *nodes: str) -> str:
        """Rotates Keystone's Fernet keys on ``nodes`` the operators' way.

        ``nodes`` default to every node of the ``keystone`` service. First every node gets
        the same key repository (so the staged key is everywhere), then the first node
        rotates (its staged key becomes primary) and the repository goes to the others. A
        token in use stays valid: its key is kept as a secondary key. Returns the new
        primary key's number. Not undone (a forward change); written to the ledger.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        an unknown node; fails when a rotation would drop the key of tokens in use, or the
        nodes' keys differ after distribution.

        | ${primary} =    `Rotate Fernet Keys`
        | `Rotate Fernet Keys`    ctl1    ctl2
        """
        chosen = list(nodes) or list((self.target.section("services").get("keystone") or {})
                                     .get("nodes") or [])
        if not chosen:
            raise TargetError(f"Target file {self.target.path}: no node runs keystone.")
        for node in chosen:
            self.target.node(node)
        self._require_destructive("rotate the Fernet keys")
        rotation = fernet.Rotation(self.target, self.nodes, chosen)
        found: list[str] = []

        def rotate() -> None:
            events.publish(SOURCE, "mark", "fernet stage", ", ".join(chosen))
            rotation.stage()
            events.publish(SOURCE, "mark", "fernet rotate", chosen[0])
            found.append(rotation.rotate())
            events.publish(SOURCE, "mark", "fernet distributed", ", ".join(chosen))

        self._transient(Step("rotate fernet keys", "keystone", chosen), rotate)
        logger.info(f"Fernet keys rotated on {chosen[0]} and distributed to "
                    f"{', '.join(chosen[1:]) or 'no other node'}; primary key {found[0]}.")
        return found[0]

    # --- the roll-out -----------------------------------------------------------------
    @keyword
    def roll_out_change(self, service: str, name: str, *args, **kwargs) -> None:
        """Rolls a change of ``service`` out node by node, each drained while it changes.

        For each node that runs ``service``, one at a time: drain it from the load
        balancer, wait until drained, run keyword ``name`` with the node first then
        ``args`` and ``kwargs``, restart ``service`` there (unless the keyword did), wait
        until it serves on that node, return it to the load balancer with its gate (real
        requests of the service sent to the node for the target's ``gate_window``, see
        `Return Node To Load Balancer`), wait for the load balancer's rise; then the next
        node. Every step is on the monitor's timeline.

        A node that fails the gate stops the roll-out there, as a canary does: it is taken
        out of rotation again, its change undone, and the keyword fails naming the node,
        the requests that failed and their statuses; no later node is touched.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        a service that runs on no node; fails at the first step that fails (what it
        changed is undone when the test ends).

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
            for index, node in enumerate(spec["nodes"]):
                mark = f"{service} on {node}"
                self.drain_node_from_load_balancer(node, service)
                self.wait_until_node_is_drained(node, service)
                before = settle.cpu_use(self.nodes, node)
                started = time.monotonic()
                events.publish(SOURCE, "mark", f"apply {name}", mark, rollout)
                builtin.run_keyword(name, node, *args, *[f"{k}={v}" for k, v in kwargs.items()])
                if self._restarted.get((node, service), 0) < started:
                    self.restart_service_on_node(node, service)
                self.wait_until_service_serves_on_node(node, service)
                events.publish(SOURCE, "mark", "serves", mark, rollout)
                self._wait_settled(node, before, mark, rollout)
                try:
                    self.return_node_to_load_balancer(node, service)
                except gate.GateError as error:
                    rest = spec["nodes"][index + 1:]
                    untouched = (f" {', '.join(rest)} not touched." if rest else "")
                    raise gate.GateError(f"Roll-out of {service} stopped at {node}: "
                                         f"{error}{untouched}") from None
                self.wait_until_node_is_up_in_load_balancer(node, service)
                events.publish(SOURCE, "mark", "up in load balancer", mark, rollout)
        finally:
            events.publish(SOURCE, "undone", "roll out", service, rollout, name)

    def _wait_settled(self, node: str, before: float | None, mark: str, rollout: str) -> None:
        """Before a changed node goes back: its CPU use within ``settle_margin`` cores of
        what it was drained, before the change (``expectations.rolling_changes``; the
        start-up of the services a change restarted), at most ``settle_within``."""
        limits = self.target.section("expectations").get("rolling_changes") or {}
        margin = float(limits.get("settle_margin", 0.3))
        within = timestr_to_secs(str(limits.get("settle_within", "60 s")))
        settled, use, waited = settle.wait_settled(self.nodes, node, before, margin, within)
        text = (f"{node}: {_cores(use)} used after the change, {_cores(before)} before it "
                f"(margin {margin:g}), after {waited:.1f} s")
        if settled:
            events.publish(SOURCE, "mark", "settled", mark, rollout, text)
            logger.info(f"Settled: {text}.")
        else:
            events.publish(SOURCE, "mark", "not settled", mark, rollout, text)
            logger.warn(f"Returned to the load balancer without settling: {text}.")

    # --- survivors --------------------------------------------------------------------
    @keyword
    def create_survivors(self, prefix: str = "survivor") -> dict:
        """Creates resources that must outlive a change, named after ``prefix``.

        With the ExtremeTesting.Cloud library (which must be imported): a server, a
        network with a subnet and a port, an image (its checksum recorded), a key pair, a
        project and a user with a password kept in memory only. Returns what `Survivors
        Should Be Intact` checks; the Cloud library cleans them up. Fails when the Cloud
        library is not imported or a resource cannot be created.

        | `Create Survivors`
        """
        from . import survivors

        self._survivors = survivors.create(self._cloud(), prefix)
        logger.info(f"Survivors: {self._survivors.as_dict()}")
        return self._survivors.as_dict()

    @keyword
    def survivors_should_be_intact(self) -> None:
        """Checks that each survivor of `Create Survivors` is there, unchanged and usable.

        The server ACTIVE, the port on its network with its MAC, the image downloading
        with the same checksum, the key pair's fingerprint, the user getting a token.
        Fails naming every damaged survivor, or when `Create Survivors` was not called.

        | `Survivors Should Be Intact`
        """
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
    @verdict
    def change_should_have_zero_impact(self, factor: float | None = None,
                                       probe: str = "overall", name: str = "default") -> None:
        """Checks that users did not see the change, on the monitor ``name``'s samples.

        No failed sample of ``probe`` during the change, and its p95 latency during the
        change at most ``factor`` times the p95 before it (default: the target's
        ``expectations.rolling_changes.latency_factor``). The monitor may be stopped or
        running. Publishes one expectation record per comparison for the sign-off report.

        Fails when a sample failed or the latency grew beyond ``factor``; fails when the
        monitor saw no change on its timeline or has no sample before or during it.

        | `Change Should Have Zero Impact`    factor=1.5
        """
        zero_impact_keyword(self.target, factor, probe, name)


def _cores(value: float | None) -> str:
    return "? cores" if value is None else f"{value:.2f} cores"

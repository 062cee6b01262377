"""The Robot Framework face of the Faults library (``ExtremeTesting.Faults``)."""

from __future__ import annotations

import os
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from .. import __version__
from ..lifecycle import Scope, ScopeListener, Step, Tracker
from ..lifecycle import private
from ..power import osf_drivers
from ..power.errors import PowerDriverConfigError
from . import human, logs, osf
from .cluster_keywords import ClusterFaultKeywords
from .dryrun import mark_dry_run
from .engine import ACTIONS, Engine
from .errors import FaultError, OsFaultsConfigError, UndoError
from .runner import BoundedAnsibleRunner
from .topology import Topology

ENV_DRY_RUN = "EXTREME_DRY_RUN"


class AutoUndo(Enum):
    """When the library undoes faults by itself (like Browser's auto-closing level).

    | TEST   | A test's faults are undone when it ends, a suite setup's with the suite. Default. |
    | SUITE  | Everything injected in a suite (its tests included) is undone when the suite ends. |
    | MANUAL | Nothing is undone automatically: `Restore All Faults` or ``extreme recover``. |
    """

    TEST = "TEST"
    SUITE = "SUITE"
    MANUAL = "MANUAL"


class StressTarget(Enum):
    """What `Stress Node` loads: ``cpu``, ``memory``, ``disk`` or ``kernel``."""

    cpu = "cpu"
    memory = "memory"
    disk = "disk"
    kernel = "kernel"


@library(scope="GLOBAL", auto_keywords=False, doc_format="ROBOT", version=__version__)
class Faults(ClusterFaultKeywords):
    """Break an OpenStack cloud on purpose, through os-faults, and always put it back.

    %TOC%

    = Importing =

    Give the target file (see the project's target files) or, for a bare cloud, an
    os-faults configuration file. Nodes and services are named as in the target.

    | ***** Settings *****
    | Library    ExtremeTesting.Faults    ${TARGET}
    | Library    ExtremeTesting.Faults    ${TARGET}    auto_undo=SUITE    action_timeout=3 min

    SSH and become passwords, when keys are not enough, come from the target's ``ssh``
    section (``password_env``, ``become_password_env``) or as ``Secret`` arguments; BMC
    passwords from each BMC's ``password_env``. None is ever logged or written to disk.

    = Choosing nodes =

    Service keywords act on the nodes that run the service; ``on`` says which:

    | `Restart Service` | keystone | on=ctl1      | # one named node |
    | `Kill Service`    | keystone | on=one       | # one of them, chosen at random (returned) |
    | `Freeze Service`  | keystone | on=all       | # every node that runs it, said on purpose |

    A fault keyword (restart, kill, terminate, freeze, unplug) without ``on`` refuses,
    before touching anything, a service that runs on more than one node, naming the fix
    (``on=ctl1``, ``on=one`` or ``on=all``): `Kill Service` keystone alone never takes
    Keystone down everywhere. A service on one node needs no ``on``. The undoing
    keywords (start, unfreeze, plug) and the checks default to every node.
    | `Power Off Node`  | one      | running=nova-api | # a random node running nova-api |
    | `Power Off Node`  | ctl1, ctl2 |            | # several nodes |

    Every action keyword returns the list of nodes it acted on.

    = Undo and the fault ledger =

    Before a fault is injected, it is appended (with the action that undoes it) to a ledger
    next to the target file (``<target>.ledger.jsonl``), flushed to disk. The library undoes
    what a test injected when the test ends, and what a suite injected when the suite ends,
    passed or failed (see `AutoUndo`). Undo actions: freeze → unfreeze, kill/terminate →
    start (only where not running), unplug → plug, power off/shut down → power on.
    After a crash, ``extreme recover`` undoes what is left open.

    | `Kill Service`    keystone    on=ctl1
    | Cloud Should Be Healthy    # Cloud library; keystone is started again when the test ends

    = Safety =

    Destructive keywords refuse, before touching anything, a target not marked
    ``destructive: true``. With ``dry_run=True`` (or ``EXTREME_DRY_RUN=1``) the library
    only logs what it would do. Under pabot, the first fault of a test takes the pabot lock
    ``destructive:<target name>`` (run pabot with ``--pabotlib``) and releases it when the
    test's faults are undone, so two processes never break one cloud at once.

    = Clusters =

    The target's ``clusters:`` section (see variables/example-3-controllers.yaml) names each
    database or message-bus cluster, its members and ports. The cluster keywords act on its
    members over SSH as root, each fault in the ledger first with its undo:

    | `Kill Cluster Member`      | database  | ctl2 |      | # SIGKILL; undo: start it |
    | `Stop Cluster Member`      | database  | ctl2 |      | # a clean leave |
    | `Freeze Cluster Member`    | messaging | db   |      | # SIGSTOP; undo: SIGCONT |
    | `Stop Cluster Members`     | database  | ctl1 | ctl2 | allow_quorum_loss=True |
    | `Partition Cluster Member` | messaging | db   | from the others |
    | `Stop Whole Cluster`       | database  |      |      | # undo: bootstrap, then all |
    | `Cluster Should Be Whole Within` | database | 60 s | | # recovery, a verdict |

    A fault that would leave fewer than a majority of a cluster's members in (members
    already out by an open fault count) is refused before anything is touched, naming the
    members that would be left, unless the keyword gets ``allow_quorum_loss=True``.
    Partition rules carry the comment ``extreme-fault-<fault id>`` and their undo removes
    exactly those. SSH and the APIs are never blocked: the target's ports for them cannot
    be cluster ports.

    = Faults or Power? =

    Both libraries power nodes through their BMCs, with the same ledger and undo:

    | = Act =        | = Faults (os-faults) = | = Power (one BMC) = |
    | cut the power  | `Power Off Node`       | `Power Off`         |
    | graceful off   | `Shut Down Node`       | `Soft Power Off`    |
    | hard reset     | `Reset Node`           | `Power Reset`       |
    | power on       | `Power On Node`        | `Power On`          |

    Use the Faults keywords to choose nodes by what they run (``one``, ``all``,
    ``running=nova-api``) or on a cloud described only by an os-faults file. Use the Power
    library's to act on one named node over a chosen ``protocol`` and wait until its BMC
    reports the new state within a ``timeout`` you give.

    = What it never does =

    - It never logs or writes a password: SSH, become and BMC passwords come from
      environment variables or ``Secret`` arguments and are masked in every message.
    - It never leaves a fault open on purpose: every fault is in the ledger before it is
      injected, and undone when its test or suite ends (`AutoUndo`), or by
      ``extreme recover`` after a crash.
    - It never acts on a target not marked ``destructive: true``.

    = Events =

    Every fault publishes ``requested``, ``in effect``, ``undone`` (or ``failed``) events on
    the shared timeline (``ExtremeTesting.events``) that the Monitor draws. An action over
    once it returns (restart, reset, reboot, stress) publishes ``undone`` (detail ``ended``)
    right then, so the Monitor's recovery time counts from the end of the action.
    """

    def __init__(self, target: str | None = None, auto_undo: AutoUndo = AutoUndo.TEST,
                 dry_run: bool = False, ledger: str | None = None,
                 action_timeout: timedelta = timedelta(minutes=2),
                 lock_timeout: timedelta = timedelta(minutes=15),
                 power_protocol: str | None = None,
                 ssh_password: Secret | None = None, become_password: Secret | None = None):
        """``target``: target file or os-faults config (default ``$EXTREME_TARGET``, then the
        lab's); ``ledger``: ledger file (default next to the target); ``action_timeout``:
        limit of every action; ``lock_timeout``: longest wait for the pabot lock;
        ``power_protocol``: ``ipmi`` or ``redfish`` for every BMC (default: each BMC's)."""
        self._target_arg = target
        self.auto_undo = AutoUndo(auto_undo)
        self.action_timeout = action_timeout.total_seconds()
        self.lock_timeout = lock_timeout.total_seconds()
        self.power_protocol = power_protocol
        self._ssh_password = ssh_password
        self._become_password = become_password
        self._dry_run = dry_run or os.environ.get(ENV_DRY_RUN, "").lower() in {"1", "true",
                                                                               "yes"}
        self.cloud_factory = osf.connect
        self._loaded: tuple[Any, dict[str, Any], Topology, Engine] | None = None
        # The lifecycle layer, as every library that changes the cloud has it: the one
        # interlock, ledger path (next to the target), pabot lock and scope listener. The
        # target is read at the first keyword, not at import: libdoc works without a lab,
        # and a bad target fails that keyword with its one-line error.
        self.tracker = Tracker(lambda: self.target, Path(ledger) if ledger else None,
                               lock_timeout=self.lock_timeout,
                               undo=lambda entry: self.engine.undo(entry))
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.tracker, lambda: self.auto_undo)

    @property
    def scope(self) -> Scope:
        return self.tracker.scope

    def _load(self) -> tuple[Any, dict[str, Any], Topology, Engine]:
        if self._loaded is None:
            target = osf.load_target_or_config(self._target_arg)
            osf_config = osf.read_os_faults(target)
            topology = Topology.build(target.data, osf_config)
            self._loaded = (target, osf_config, topology, None)
            self.tracker.ledger()  # its first use sweeps the temporary files of killed runs
            engine = Engine(self.tracker, self._connect, dry_run=self._dry_run,
                            log=logger.info, warn=logger.warn)
            self._loaded = (target, osf_config, topology, engine)
        return self._loaded

    @property
    def target(self):
        return self._load()[0]

    @property
    def osf_config(self) -> dict[str, Any]:
        return self._load()[1]

    @property
    def topology(self) -> Topology:
        return self._load()[2]

    @property
    def engine(self) -> Engine:
        return self._load()[3]

    # -- wiring
    def _connect(self) -> osf.Backend:
        credentials = osf.Credentials.resolve(self.target, self._ssh_password,
                                              self._become_password)
        logs.add_secrets(*credentials.values())
        logs.install()
        config = osf.build_config(self.target, credentials=credentials)
        cloud = self.cloud_factory(config)
        if hasattr(cloud, "cloud_executor"):
            runner = BoundedAnsibleRunner(
                timeout=self.action_timeout, port=self.target.section("ssh").get("port"),
                host_label=self.topology.node_by_address, redact=logs.redact,
                private_dir=lambda: private.run_folder(self.engine.ledger.path))
            runner.default_host_vars = dict(getattr(cloud.cloud_executor,
                                                    "default_host_vars", {}) or {})
            cloud.cloud_executor = runner
        return osf.Backend(cloud, self.topology, timeout=self.action_timeout,
                           power_config=self._power_config)

    def _power_config(self) -> list[dict[str, Any]]:
        hosts = {name: (info.address, info.fqdn or name)
                 for name, info in self.topology.nodes.items()}
        try:
            accesses = osf_drivers.bmc_accesses(self.target.section("bmcs"), hosts,
                                                self.power_protocol)
            logs.add_secrets(*(a.password for a in accesses))
            return osf_drivers.power_managements(accesses)
        except PowerDriverConfigError as error:
            raise OsFaultsConfigError(str(error)) from None

    def _act(self, step: Step) -> list[str]:
        self.engine.perform(step)  # the interlock, the ledger line, the lock: the lifecycle's
        if self.engine.dry_run:
            mark_dry_run(step.describe())
        return list(step.nodes)

    def _service(self, action: str, service: str, on: str | None, **args: Any) -> list[str]:
        if on is None:
            on = self._default_on(action, service)
        return self._act(Step(action, service, self.topology.select(on, service), args))

    def _default_on(self, action: str, service: str) -> str:
        """No ``on``: a fault that would hit every node of the service is refused, before
        anything is touched, unless the service runs on one node only (then it is that
        one); undoing actions (start, unfreeze, plug) and checks go to every node."""
        if not ACTIONS[action].destructive:
            return "all"
        nodes = self.topology.select("all", service)
        if len(nodes) <= 1:
            return "all"
        keyword = f"{action.capitalize()} Service"
        raise FaultError(
            f"{keyword} {service} without on= would hit every node that runs it "
            f"({', '.join(nodes)}). Say which: on={nodes[0]} (a named node), on=one (one "
            f"of them at random), or on=all to hit every one of them on purpose. Nothing "
            f"was touched.")

    def _node(self, action: str, node: str, running: str | None, **args: Any) -> list[str]:
        return self._act(Step(action, None, self.topology.select(node, running), args))

    # -- service keywords
    @keyword
    def restart_service(self, service: str, on: str | None = None) -> list[str]:
        """Restarts ``service`` (its ``restart_cmd``) on the nodes ``on`` selects; returns them.

        ``on``: node names, ``one`` or ``all``, see `Choosing nodes` (required when the
        service runs on several nodes). The restart is
        over when the keyword returns, so there is nothing to undo.

        Fails, before touching anything, on a target not marked ``destructive: true`` or a
        service or node the target does not know; fails naming the node and the error when the
        restart fails there.

        | `Restart Service`    keystone    on=ctl1
        """
        return self._service("restart", service, on)

    @keyword
    def kill_service(self, service: str, on: str | None = None) -> list[str]:
        """Kills ``service``'s processes with SIGKILL on the nodes ``on`` selects; returns them.

        Undo (at the end of the test, or `Restore All Faults`): start it where it is not running.
        ``on``: node names, ``one`` or ``all``, see `Choosing nodes`; without it, a service
        that runs on several nodes is refused (naming ``on=<node>`` or ``on=all``).

        Fails, before touching anything, on a target not marked ``destructive: true`` or a
        service or node the target does not know; fails naming the node when the kill fails.

        | `Kill Service`    memcached    on=db
        | Sleep    20 s
        | `Start Service`    memcached    on=db
        """
        return self._service("kill", service, on)

    @keyword
    def terminate_service(self, service: str, on: str | None = None) -> list[str]:
        """Stops ``service`` gracefully (its ``terminate_cmd``, SIGTERM) on the nodes ``on``
        selects.

        Undo: start it. Returns the nodes. ``on``: node names, ``one`` or ``all`` (required
        when the service runs on several nodes).
        Fails as `Kill Service` does.

        | `Terminate Service`    nova-conductor    on=one
        """
        return self._service("terminate", service, on)

    @keyword
    def start_service(self, service: str, on: str = "all") -> list[str]:
        """Starts ``service`` (its ``start_cmd``) on the nodes ``on`` selects; returns them.

        It closes the kills and terminations it undoes: the teardown will not start it again.
        ``on``: node names, ``one`` or ``all`` (default: every node). Fails on an unknown
        service or node, or
        naming the node where the start failed.

        | `Kill Service`    memcached    on=db
        | `Start Service`    memcached    on=db
        """
        return self._service("start", service, on)

    @keyword
    def freeze_service(self, service: str, on: str | None = None,
                       duration: timedelta | None = None) -> list[str]:
        """Pauses ``service`` with SIGSTOP on the nodes ``on`` selects; returns them.

        With ``duration`` the node resumes it by itself (SIGCONT) after that time; without, it
        stays frozen until `Unfreeze Service` or the undo at the end of the test. Fails as
        `Kill Service` does.

        | `Freeze Service`    keystone    on=ctl1    duration=10 s
        """
        args = {"sec": max(1, round(duration.total_seconds()))} if duration else {}
        return self._service("freeze", service, on, **args)

    @keyword
    def unfreeze_service(self, service: str, on: str = "all") -> list[str]:
        """Resumes ``service`` with SIGCONT on the nodes ``on`` selects; returns them.

        Closes the freezes it undoes. Fails on an unknown service or node, or naming the node
        where SIGCONT failed.

        | `Unfreeze Service`    keystone    on=ctl1
        """
        return self._service("unfreeze", service, on)

    @keyword
    def unplug_service(self, service: str, on: str | None = None) -> list[str]:
        """Drops traffic to ``service``'s port with iptables on the nodes ``on`` selects.

        Undo: `Plug Service`. Returns the nodes. Fails as `Kill Service` does.

        | `Unplug Service`    rabbitmq    on=db
        """
        return self._service("unplug", service, on)

    @keyword
    def plug_service(self, service: str, on: str = "all") -> list[str]:
        """Removes the iptables rule `Unplug Service` added on the nodes ``on`` selects.

        Closes the unplugs it undoes; returns the nodes. Fails on an unknown service or node, or
        naming the node where iptables failed.

        | `Unplug Service`    mariadb    on=all
        | `Plug Service`      mariadb    on=all
        """
        return self._service("plug", service, on)

    # -- node keywords
    @keyword
    def power_off_node(self, node: str, running: str | None = None) -> list[str]:
        """Cuts the power of ``node`` through its BMC, the os-faults way; returns the nodes.

        ``node``: names (``ctl1, ctl2``), ``one`` or ``all``; ``running`` narrows the choice to
        the nodes that run that service (``Power Off Node one running=nova-api``). Undo: power
        on, at the end of the test or with `Restore All Faults`.

        Use this keyword to pick nodes by the services they run, or on a cloud known only by its
        os-faults configuration. To act on one named node and wait for the BMC to report ``off``
        (with a ``timeout``, over a chosen ``protocol``), use the Power library's `Power Off`.

        Fails, before touching anything, on a target not marked ``destructive: true`` or a node
        or service the target does not know; fails naming the node when its BMC refuses.

        | `Power Off Node`    ctl1
        | ${nodes} =    `Power Off Node`    one    running=nova-api
        """
        return self._node("poweroff", node, running)

    @keyword
    def power_on_node(self, node: str, running: str | None = None) -> list[str]:
        """Powers ``node`` on through its BMC; returns the nodes.

        Closes the power-offs and shutdowns it undoes. ``node`` and ``running`` as in
        `Power Off Node`. The Power library's `Power On` does the same for one node and waits for
        the BMC to report ``on``. Fails naming the node when its BMC refuses.
        """
        return self._node("poweron", node, running)

    @keyword
    def reset_node(self, node: str, running: str | None = None) -> list[str]:
        """Cold-resets ``node`` through its BMC, the os-faults way; it boots again by itself.

        ``node`` and ``running`` as in `Power Off Node`. Over when it returns: nothing to undo.
        The Power library's `Power Reset` resets one named node and waits for ``on``. Fails as
        `Power Off Node` does.
        """
        return self._node("reset", node, running)

    @keyword
    def shut_down_node(self, node: str, running: str | None = None) -> list[str]:
        """Asks ``node``'s BMC for a graceful shutdown (ACPI soft off), the os-faults way.

        ``node`` and ``running`` as in `Power Off Node`; returns the nodes. Undo: power on. The
        Power library's `Soft Power Off` does the same for one named node and waits until the BMC
        reports ``off``. Fails as `Power Off Node` does.

        | `Shut Down Node`    ctl1
        """
        return self._node("shutdown", node, running)

    @keyword
    def reboot_node(self, node: str, running: str | None = None) -> list[str]:
        """Reboots ``node`` from its operating system (``reboot now`` over SSH), not the BMC.

        ``node`` and ``running`` as in `Power Off Node`; returns the nodes. Over when it returns:
        nothing to undo. Fails as `Power Off Node` does, or when SSH to the node fails.
        """
        return self._node("reboot", node, running)

    @keyword
    def stress_node(self, node: str, target: StressTarget = StressTarget.cpu,
                    duration: timedelta = timedelta(seconds=10),
                    running: str | None = None) -> list[str]:
        """Loads ``node``'s ``target`` (cpu, memory, disk, kernel) for ``duration``; returns the
        nodes.

        ``node`` and ``running`` as in `Power Off Node`. Bounded by ``duration``: nothing to
        undo. Fails as `Power Off Node` does.

        | `Stress Node`    cmp1    cpu    duration=30 s
        """
        return self._node("stress", node, running, target=target.value,
                          duration=max(1, round(duration.total_seconds())))

    @keyword
    def inject_fault(self, command: str) -> list[str]:
        """Injects a fault written in os-faults' grammar, with the same ledger and undo.

        ``command`` is an os-faults sentence; returns the nodes. Fails, before touching anything,
        on a sentence it cannot parse (the message shows the grammar), on a fault that names
        no node and would hit several (say ``on one node``, ``on ctl1 node`` or ``on all
        nodes``), then as the matching keyword does.

        | `Inject Fault`    restart keystone service on one node
        | `Inject Fault`    freeze mariadb service for 10 seconds
        | `Inject Fault`    poweroff one node with keystone service
        """
        return self._act(human.parse(command, self.topology))

    # -- restore and check
    @keyword
    def restore_all_faults(self) -> None:
        """Undoes, newest first, every fault this process injected and has not undone.

        Use it in test teardowns (it does nothing when all is undone already), and with
        `AutoUndo` MANUAL. Tries every undo, then fails listing those that failed; run
        ``extreme recover`` to finish what it could not.

        | ***** Settings *****
        | Test Teardown    `Restore All Faults`
        """
        failures = self.engine.undo_all()
        self.engine.release_lock_if_clean()
        if failures:
            raise UndoError("\n".join(failures))

    @keyword
    def set_auto_undo_level(self, level: AutoUndo) -> AutoUndo:
        """Sets when faults are undone automatically; returns the previous level.

        ``level``: ``TEST``, ``SUITE`` or ``MANUAL`` (see `AutoUndo`). Fails on any other value.

        | ${old} =    `Set Auto Undo Level`    SUITE
        """
        previous, self.auto_undo = self.auto_undo, AutoUndo(level)
        return previous

    @keyword
    def get_open_faults(self) -> list[dict[str, Any]]:
        """Returns the faults this process injected and has not undone, oldest first.

        Each is a dictionary with ``id``, ``action``, ``target``, ``undo`` and ``test``. Never
        fails: it reads the library's own ledger entries.
        """
        return [{"id": e.id, "action": e.step.action, "target": e.step.target_text(),
                 "undo": e.undo.describe() if e.undo else None, "test": e.test}
                for e in self.engine.mine]

    @keyword
    def get_service_nodes(self, service: str) -> list[str]:
        """Returns the nodes that run ``service``, per the target.

        Fails when the target does not know ``service`` (the message lists the ones it knows).
        """
        return self.topology.check_service(service)

    @keyword
    def verify_cloud_access(self) -> None:
        """Runs ``hostname`` on every node through os-faults: SSH, keys and Ansible work.

        Changes nothing. Fails naming the nodes that could not be reached and why.
        """
        if self.engine.dry_run:
            logger.info("DRY RUN: would run 'hostname' on every node.")
            return
        try:
            self.engine.backend.verify()
        except Exception as error:  # noqa: BLE001 - every type becomes a library error
            raise osf.translate(error, "reach the cloud's nodes") from None
        logger.info(f"Reached {', '.join(sorted(self.topology.nodes))} over SSH.")

    @keyword
    def service_should_be_running(self, service: str, on: str = "all") -> None:
        """Checks that ``service``'s processes run on every node ``on`` selects.

        Fails naming the nodes where it does not run. ``on``: node names, ``one`` or ``all``.
        """
        self._check_running(service, on, expected=True)

    @keyword
    def service_should_not_be_running(self, service: str, on: str = "all") -> None:
        """Checks that ``service``'s processes run on no node ``on`` selects.

        Fails naming the nodes where it still runs. ``on``: node names, ``one`` or ``all``.
        """
        self._check_running(service, on, expected=False)

    def _check_running(self, service: str, on: str, expected: bool) -> None:
        nodes = self.topology.select(on, service)
        if self.engine.dry_run:
            logger.info(f"DRY RUN: would check {service} on {', '.join(nodes)}.")
            mark_dry_run(f"check {service} on {', '.join(nodes)}")
            return
        try:
            state = self.engine.backend.running(service, nodes)
        except Exception as error:  # noqa: BLE001
            raise osf.translate(error, f"check {service}") from None
        wrong = [n for n in nodes if state.get(n) is not expected]
        if wrong:
            raise FaultError(f"Expected {service} {'running' if expected else 'stopped'} on "
                             f"{', '.join(nodes)}; it is {'not running' if expected else 'running'}"
                             f" on {', '.join(wrong)}.")


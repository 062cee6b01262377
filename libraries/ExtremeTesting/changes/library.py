"""The Robot-facing Changes library: one component per domain (:mod:`.keywords`) over a
shared :class:`~.context.ChangeContext`, composed as the Cloud library composes its own;
the work is in plain modules (:mod:`.haproxy`, :mod:`.ini`, :mod:`.packages`,
:mod:`.fernet`, :mod:`.rollout`); undo actions in :mod:`.undo`."""

from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword
from robotlibcore import DynamicCore

from .. import __version__
from ..lifecycle import ScopeListener, undo_entries
from ..target import Target
from .context import ChangeContext
from .errors import ChangeError
from .keywords import (ConfigKeywords, FernetKeywords, LoadBalancerKeywords,
                       PackageKeywords, RolloutKeywords, ScaleKeywords)


class Changes(DynamicCore):
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

    = What to roll out =
    `Roll Out Change` takes a change prepared by a keyword, never a keyword name:

    | = Change =     | = Prepared with =                                               |
    | INI options    | `Prepare Config Change`  path  section  option=value ...        |
    | packages       | `Prepare Package Upgrade` (`Prepare Package Downgrade`)  name=version ... |
    | only a restart | `Roll Out Restart`  service (nothing to prepare)                |

    = Adding and removing nodes =
    `Add Compute Node`, `Remove Compute Node`, `Add Controller` and `Remove Controller`
    run the commands of the operator's deploy tool from the target's ``scale`` section
    (``add``, ``remove``: ``{node}`` and ``{role}`` replaced, each with a timeout, run
    locally or on ``run_on`` over SSH), then check what must hold: a new compute up,
    mapped to a cell (``cell_discovery: command`` runs ``nova-manage cell_v2
    discover_hosts`` as a step of the change; ``periodic`` waits for Nova's own), with a
    resource provider and its inventory, in its zone and aggregate, a server booted
    targeted at it ACTIVE; a removed compute leaving no resource provider, host mapping
    or agent, and not registering again; a new controller in rotation only once it
    serves; a removed one drained first. Each publishes what it compared. The undo of an
    added node is its removal and the other way round, in the ledger; the cloud is
    reached through the one connection module (the target's ``cloud``), nova-manage
    over SSH on ``nova_manage.node`` (host mappings have no API). See docs/scale.rst.

    = Where it lives =
    The library is built from components, one per domain (as the Cloud library is):
    the load balancer (drain, wait, return through the gate), INI configuration,
    packages, Fernet keys, the roll-out and scale (adding and removing nodes).
    Resources that must survive a change (``Create Survivors``) are the Cloud
    library's; the zero-impact verdict (``Change Should Have Zero Impact``) is the
    Monitor's.

    = Examples =
    | ***** Settings *****
    | Library    ExtremeTesting.Changes    ${TARGET}
    |
    | ***** Test Cases *****
    | Keystone restarts node by node without a failed request
    |     `Roll Out Restart`    keystone
    |
    | Keystone upgrade
    |     ${upgrade} =    `Prepare Package Upgrade`    keystone=2:22.0.2-0+deb12u6
    |     ...    python3-keystone=2:22.0.2-0+deb12u6
    |     `Roll Out Change`    keystone    ${upgrade}
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__

    def __init__(self, target: str | None = None, ledger: str | None = None,
                 ssh_timeout: timedelta = timedelta(seconds=60)):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``ledger``: the fault ledger (default: next to the target, as Faults uses);
        ``ssh_timeout``: the longest wait for a node's SSH answer."""
        self.ctx = ChangeContext(target, ledger, ssh_timeout.total_seconds())
        self.load_balancer = LoadBalancerKeywords(self.ctx)
        self.rollout = RolloutKeywords(self.ctx, self)
        super().__init__([self.load_balancer, ConfigKeywords(self.ctx),
                          PackageKeywords(self.ctx), FernetKeywords(self.ctx), self.rollout,
                          ScaleKeywords(self.ctx, self)])
        # What this library changed is undone when its test or suite ends (the lifecycle's
        # one listener); at the end of the run the SSH connections close.
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.ctx.changes,
                                                    at_run_end=self.ctx.close_nodes)

    # --- plain Python for tests, benches and the components ---------------------------
    @property
    def target(self) -> Target:
        return self.ctx.target

    @property
    def changes(self):
        """The lifecycle tracker: this library's ledger entries still to undo."""
        return self.ctx.changes

    @property
    def nodes(self):
        return self.ctx.nodes

    def undo_changes_of(self, node: str) -> str:
        return self.load_balancer.undo_changes_of(node)

    def load_balancer_servers(self) -> list[dict]:
        return self.load_balancer.load_balancer_servers()

    def wait_until_service_serves_on_node(self, node: str, service: str,
                                          timeout: timedelta = timedelta(minutes=2)) -> float:
        return self.rollout.wait_until_service_serves_on_node(node, service, timeout)

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
        failures = undo_entries(self.ctx.changes, list(self.ctx.changes.pending), logger.error)
        self.ctx.changes.release_lock_if_clean()
        if failures:
            raise ChangeError("\n".join(failures))

"""What every component of the Changes library shares: the target, the SSH connections to
the nodes, the lifecycle tracker (ledger, interlock, lock, pending changes) and the
restarts seen (so a roll-out does not restart a service a change restarted already)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from robot.api import logger

from .. import events
from ..cloud.tracking import new_run_id
from .. import target as target_module
from ..errors import TargetError
from ..lifecycle import Entry, Step, Tracker
from ..target import Target
from . import gate, haproxy, undo
from .remote import Nodes

SOURCE = "changes"


class ChangeContext:
    def __init__(self, target: str | None, ledger: str | None, ssh_timeout: float):
        self._target_path = target
        self._target: Target | None = None
        self.ssh_timeout = ssh_timeout
        # What this library changed, undone when its test or suite ends (the lifecycle's
        # one listener); at the end of the run the SSH connections close.
        self.changes = Tracker(lambda: self.target, ledger, undo=self.undo_entry)
        self._nodes: Nodes | None = None  # tests give a fake
        self.restarted: dict[tuple[str, str], float] = {}  # (node, service) -> monotonic
        self.gate: Callable = gate.prepare  # (target, node, service) -> gate.Gate | None
        self.run_id = os.environ.get("EXTREME_RUN_ID") or new_run_id()
        self._cloud = None  # the scale checks' cloud (undo.open_cloud; tests give a fake)
        self.scale_clock: Callable[[], float] = time.monotonic
        self.scale_sleep: Callable[[float], None] = time.sleep
        self.scale_runner: Callable | None = None  # how local deploy commands run

    # --- plumbing ---------------------------------------------------------------------
    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = target_module.load(self._target_path)
        return self._target

    def reload_target(self) -> Target:
        """Read the target file again (a deploy tool, or the lab, may have written a node
        into it); the SSH connections stay."""
        self._target = None
        target = self.target
        if self._nodes is not None:
            self._nodes.target = target
        return target

    @property
    def cloud(self):
        if self._cloud is None:
            self._cloud = undo.open_cloud(self.target)
        return self._cloud

    def scale(self):
        """The scale procedures over this library's SSH connections and cloud."""
        from . import scale

        return scale.Scale(scale.settings(self.target), self.cloud, self.nodes,
                           run_id=self.run_id, clock=self.scale_clock, sleep=self.scale_sleep,
                           runner=self.scale_runner, log=logger.info)

    @property
    def nodes(self) -> Nodes:
        if self._nodes is None:
            self._nodes = undo.connect(self.target, self.ssh_timeout)
        return self._nodes

    def close_nodes(self) -> None:
        if self._nodes is not None:
            self._nodes.close()

    def haproxy(self) -> haproxy.HAProxy:
        return haproxy.of(self.target, self.nodes)

    def backup_dir(self) -> Path:
        """Where changed files' originals wait for their undo: 0700, beside the ledger."""
        path = self.changes.ledger().path
        folder = path.with_name(f"{path.stem}.backups")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        return folder

    def require_destructive(self, what: str) -> None:
        # the interlock, then under pabot the cloud's lock: one destructive test at once
        self.changes.require_destructive(what)

    def pending(self, action: str, node: str, **args) -> list[Entry]:
        """Open entries of this library whose undo is ``action`` on ``node`` with ``args``."""
        return [e for e in self.changes.pending if e.undo is not None
                and e.undo.action == action and e.undo.nodes == [node]
                and all(e.undo.args.get(k) == v for k, v in args.items())]

    def changed_on(self, node: str) -> list[Entry]:
        """This library's open changes of ``node`` other than its drains."""
        return [e for e in self.changes.pending if e.undo is not None
                and e.undo.nodes == [node] and e.undo.action != undo.LB_READY]

    def undo_entry(self, entry: Entry) -> None:
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

    def transient(self, step: Step, do) -> None:
        """A change that is over once made (a restart, a key rotation): written to the
        ledger before, closed after (``failed`` with the error when it failed)."""
        entry = self.changes.record(step)
        try:
            do()
        except Exception as error:
            self.changes.close(entry, "failed", str(error))
            raise
        self.changes.close(entry, "completed")

    def mark_restarted(self, node: str, services) -> None:
        for service in services:
            self.restarted[(node, service)] = time.monotonic()

    def lb_services(self, node: str, service: str | None) -> list[str]:
        self.target.node(node)
        services = self.target.section("services")
        if service:
            if service not in services:
                raise TargetError(f"Unknown service '{service}'. Known: "
                                  f"{', '.join(sorted(services))}.")
            return [service]
        return [name for name, spec in services.items()
                if (spec or {}).get("api") and node in ((spec or {}).get("nodes") or [])]

"""Inject a fault, write it down first, and undo it: the library's core, without Robot.

The engine is os-faults' backend on the lifecycle layer: the interlock, the ledger (its
one path, next to the target), the pabot lock, the scope and the pending faults are the
:class:`~ExtremeTesting.lifecycle.Tracker`'s, as for every library that changes the cloud.
Order of every injection: the interlock, dry run, the pabot lock, ledger line (fsynced),
``requested`` event, the os-faults action, ``in effect`` event. Undo runs newest first;
an undo action another library registered (``lifecycle.registry``) is replayed through it,
and the os-faults undo actions are registered there too (:mod:`.undo`), so a tracker
without this engine (``extreme recover``) undoes them the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import events
from ..errors import SafetyError
from ..lifecycle import (Entry, Ledger, Scope, Step, Tracker, handler_for, registered,
                         require_destructive, undo_entries)
from ..lifecycle.locking import PabotLock
from .errors import FaultError

LOG = logging.getLogger(__name__)


class ActionSpec(NamedTuple):
    kind: str  # "service" or "node"
    destructive: bool
    undo: str | None  # the action that undoes it
    transient: bool  # over once the call returns (restart, reboot, stress...)
    restores: tuple[str, ...] = ()  # undo actions it performs when called on its own
    past: str = ""


ACTIONS: dict[str, ActionSpec] = {
    "restart": ActionSpec("service", True, "start", True, past="restarted"),
    "kill": ActionSpec("service", True, "start", False, past="killed"),
    "terminate": ActionSpec("service", True, "start", False, past="terminated"),
    "freeze": ActionSpec("service", True, "unfreeze", False, past="froze"),
    "unplug": ActionSpec("service", True, "plug", False, past="unplugged"),
    "start": ActionSpec("service", False, None, False, ("start",), "started"),
    "unfreeze": ActionSpec("service", False, None, False, ("unfreeze",), "unfroze"),
    "plug": ActionSpec("service", False, None, False, ("plug",), "plugged"),
    "poweroff": ActionSpec("node", True, "poweron", False, past="powered off"),
    "shutdown": ActionSpec("node", True, "poweron", False, past="shut down"),
    "reset": ActionSpec("node", True, "poweron", True, past="reset"),
    "reboot": ActionSpec("node", True, None, True, past="rebooted"),
    "stress": ActionSpec("node", True, None, True, past="stressed"),
    "poweron": ActionSpec("node", False, None, False, ("poweron",), "powered on"),
}


def undo_step(step: Step) -> Step | None:
    spec = ACTIONS[step.action]
    if not spec.undo:
        return None
    return Step(spec.undo, step.service, list(step.nodes))


class Engine:
    """os-faults actions on the lifecycle layer of one target (``tracker``)."""

    def __init__(self, tracker: Tracker, backend: Callable[[], Any], *,
                 dry_run: bool = False, log: Callable[[str], None] = LOG.info,
                 warn: Callable[[str], None] = LOG.warning):
        self.tracker = tracker
        self._backend_factory = backend
        self._backend = None
        self.dry_run = dry_run
        self.log = log
        self.warn = warn

    # -- the lifecycle's state, one place for every library
    @property
    def target(self):
        return self.tracker.target

    @property
    def ledger(self) -> Ledger:
        return self.tracker.ledger()

    @property
    def scope(self) -> Scope:
        return self.tracker.scope

    @property
    def lock(self) -> PabotLock | None:
        return self.tracker.lock

    @property
    def mine(self) -> list[Entry]:
        """Injected by this process and still open (the tracker's pending entries)."""
        return self.tracker.pending

    pending = mine

    @property
    def backend(self):
        if self._backend is None:
            self._backend = self._backend_factory()
        return self._backend

    # -- injection
    def check_safety(self, step: Step, destructive: bool | None = None) -> None:
        """The lifecycle's interlock; a dry run only warns."""
        if destructive is None:
            destructive = ACTIONS[step.action].destructive
        if not destructive:
            return
        try:
            require_destructive(self.target, step.describe())
        except SafetyError as error:
            if not self.dry_run:
                raise
            self.warn(f"DRY RUN: {error}")

    def perform(self, step: Step) -> Entry | None:
        if step.action not in ACTIONS:
            raise FaultError(f"Unknown action '{step.action}': expected one of "
                             f"{', '.join(sorted(ACTIONS))}.")
        spec = ACTIONS[step.action]
        self.check_safety(step)
        undo = undo_step(step)
        if self.dry_run:
            then = f"; undo: {undo.describe()}" if undo else ""
            self.log(f"DRY RUN: would {step.describe()}{then}. Nothing was done.")
            return None
        if not spec.destructive:
            self._run(step)
            self.close_restored(step)
            self.log(f"{spec.past.capitalize()} {step.target_text()}.")
            return None
        return self._inject(step, undo, lambda entry: self._run(step), spec.transient,
                            spec.past)

    def inject(self, step: Step, undo: Step, act: Callable[[Entry], None], past: str, *,
               entry_id: str = "") -> Entry | None:
        """A fault the library makes itself (the cluster faults), undone by the handler
        registered for ``undo.action``: the same interlock, dry run, lock, ledger line,
        events and undo as :meth:`perform`. ``act(entry)`` makes it."""
        self.check_safety(step, destructive=True)
        if self.dry_run:
            self.log(f"DRY RUN: would {step.describe()}; undo: {undo.describe()}. Nothing "
                     f"was done.")
            return None
        return self._inject(step, undo, act, False, past, entry_id)

    def _inject(self, step: Step, undo: Step | None, act: Callable[[Entry], None],
                transient: bool, past: str, entry_id: str = "") -> Entry:
        self.tracker.require_destructive(step.describe())  # the interlock, then the lock
        entry = self.tracker.record(step, undo, entry_id=entry_id)
        events.publish("faults", "requested", step.action, step.target_text(), entry.id)
        try:
            act(entry)
        except FaultError as error:
            events.publish("faults", "failed", step.action, step.target_text(), entry.id,
                           str(error))
            if not undo:
                self.tracker.close(entry, "failed", str(error))
            raise
        events.publish("faults", "in effect", step.action, step.target_text(), entry.id)
        if transient:
            # Over once the call returns: the fault ends now (the Monitor's recovery time
            # counts from the last "undone" event).
            self.tracker.close(entry, "completed")
            events.publish("faults", "undone", step.action, step.target_text(), entry.id,
                           "ended")
        then = f" Undo: {undo.describe()}." if undo and not transient else ""
        self.log(f"{past.capitalize()} {step.target_text()} (fault {entry.id}).{then}")
        return entry

    def _run(self, step: Step) -> None:
        from .osf import translate

        try:
            if ACTIONS[step.action].kind == "service":
                self.backend.service_action(step.action, step.service, step.nodes, **step.args)
            else:
                self.backend.node_action(step.action, step.nodes, **step.args)
        except Exception as error:  # noqa: BLE001 - every type becomes a library error
            raise translate(error, step.describe()) from None

    def close_restored(self, step: Step) -> None:
        """Close the open faults whose undo ``step`` just did (same action and service,
        on nodes it covered)."""
        done = set(step.nodes)
        for entry in list(self.mine):
            undo = entry.undo
            if undo and undo.action == step.action and undo.service == step.service \
                    and set(undo.nodes) <= done:
                self.tracker.close(entry, "restored", f"by {step.describe()}")
                events.publish("faults", "undone", entry.step.action,
                               entry.step.target_text(), entry.id)

    # -- undo
    def undo(self, entry: Entry) -> None:
        """Undo one fault; raises (any error) when it could not (see :meth:`undo_many`)."""
        undo = entry.undo
        if undo is None:
            self.tracker.close(entry, "nothing to undo")
            return
        try:
            self.run_undo(undo)
        except Exception as error:
            events.publish("faults", "failed", undo.action, undo.target_text(), entry.id,
                           str(error))
            raise
        self.tracker.close(entry, "undone")
        events.publish("faults", "undone", entry.step.action, entry.step.target_text(),
                       entry.id)
        self.log(f"Undid fault {entry.id} ({entry.step.describe()}): {undo.describe()}.")

    def run_undo(self, undo: Step) -> None:
        """One undo step: an os-faults action with this engine's backend, else the
        handler another library registered."""
        if undo.action not in ACTIONS:
            self._run_external(undo)
        elif undo.action == "start":
            self._ensure_running(undo)
        else:
            self._run(undo)

    def _run_external(self, step: Step) -> None:
        """An undo another library registered (``lifecycle.registry``), e.g. a switch port."""
        handler = handler_for(step.action)
        if handler is None:
            raise FaultError(
                f"No library registered an undo for '{step.action}': expected one of "
                f"{', '.join(sorted(ACTIONS))} or a registered action "
                f"({', '.join(registered()) or 'none registered'}). Import the library "
                f"that wrote it (extreme recover imports every library).")
        try:
            handler(step, self.target)
        except Exception as error:  # noqa: BLE001 - every type becomes a library error
            raise FaultError(f"{step.describe()} failed: {error}") from None

    def _ensure_running(self, step: Step) -> None:
        """Start the service only where it does not run (a restarted or restored one may)."""
        from .osf import translate

        try:
            running = self.backend.running(step.service, step.nodes)
        except Exception as error:  # noqa: BLE001 - every type becomes a library error
            raise translate(error, f"check {step.service}") from None
        stopped = [n for n in step.nodes if not running.get(n)]
        if stopped:
            self._run(Step("start", step.service, stopped))

    def undo_many(self, entries: list[Entry]) -> list[str]:
        """Undo newest first (``entries`` come in injection order), carrying on past
        failures; returns the failures."""
        return undo_entries(self, entries, self.warn)

    # -- the lifecycle's owner interface (the scope listener calls these)
    def undo_failed(self, entry: Entry, error: str) -> None:
        self.tracker.undo_failed(entry, error)

    def closed_meanwhile(self, entry: Entry) -> str:
        return self.tracker.closed_meanwhile(entry)

    def forget(self, entry: Entry) -> None:
        self.tracker.forget(entry)

    def undo_test(self, test: str) -> list[str]:
        return self.undo_many([e for e in self.mine if e.test == test])

    def undo_suite(self, suite: str) -> list[str]:
        return self.undo_many([e for e in self.mine
                               if e.suite == suite or e.suite.startswith(suite + ".")])

    def undo_all(self) -> list[str]:
        return self.undo_many(list(self.mine))

    def release_lock_if_clean(self) -> None:
        self.tracker.release_lock_if_clean()

    def release_lock(self) -> None:
        self.tracker.release_lock()

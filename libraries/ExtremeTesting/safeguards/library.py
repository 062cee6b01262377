"""The Robot-facing Safeguards library: the pre-flight gate, the emergency watch, the
degraded-cloud rule and the kill switch, hooked into every destructive and change case
by ``resources/destructive.resource``."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

from robot.api import SkipExecution, logger
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

from .. import __version__
from ..lifecycle.ledger import Ledger, default_ledger_path
from ..lifecycle.listener import ScopedResources, ScopeListener
from ..lifecycle.locking import PabotLock
from ..target import Target
from ..target import load as load_target
from . import config, journal
from .interrupt import Interrupter, chain_stop_signals
from .journal import PREFLIGHT, Journal, RunState, clock
from .triggers import power_offs
from .watcher import UndoResult, Watcher

LOG = logging.getLogger(__name__)
HEALTH_KEYWORD = "Cloud Should Be Healthy"
RETRY = 5.0  # s between two steady-state checks after a case
FATAL = "Test execution stopped due to a fatal error"
SIGNALLED = "Execution terminated by signal"


def not_allowed(state: RunState) -> str:
    """Why no destructive or change case may start now ("" when one may)."""
    if state.stop:
        return (f"NOT STARTED: the run was stopped by {state.stop.get('by', '?')} at "
                f"{clock(state.stop.get('wall', 0))}")
    if state.tripped:
        t = state.tripped
        return (f"NOT STARTED: ABORTED BY SAFEGUARD in {t.get('case') or '?'}: "
                f"{t.get('what')} {t.get('measured')}, limit {t.get('limit')} at "
                f"{clock(t.get('when') or t.get('wall', 0))}")
    if state.preflight_failed:
        return f"NOT STARTED: pre-flight failed: {state.preflight.get('detail', '?')}"
    if state.degraded:
        return (f"NOT RUN: the cloud was left degraded by {state.degraded.get('case', '?')} "
                f"({state.degraded.get('wrong', '?')})")
    return ""


def _first_line(text: str) -> str:
    return (str(text).strip().splitlines() or [""])[0][:300]


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Safeguards(ScopedResources):
    """Keeps a run from hurting a cloud others depend on.

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Safeguards    ${TARGET}

    ``target`` is the target file (default ``$EXTREME_TARGET``, then the running lab's);
    ``ledger`` the fault ledger (default beside the target). The target's ``safeguards``
    section sets the pre-flight checks and the emergency limits (see
    variables/example-3-controllers.yaml); ``resources/destructive.resource`` calls this
    library in the setup and teardown of every destructive and change case.

    = What it does =
    - *Pre-flight*: before the first destructive or change case of the run (under pabot:
      once for every process, behind the destructive lock), the steady state and the
      target's ``preflight.checks`` must pass. When they do not, no fault is injected:
      every destructive and change case is skipped ``NOT STARTED: pre-flight failed: ...``
      and the report's verdict is ABORTED.
    - *Emergency limits*, watched every ``poll`` while a case runs (from the end of its
      setup to the start of its teardown): the monitor's longest outage so far, its error
      rate over a window, a probe's own outage, a node powered off and not back on. The
      first one crossed undoes everything the run injected at once (the ledger in reverse,
      as ``extreme recover``), interrupts the case (``ABORTED BY SAFEGUARD: ...``, even in
      a sleep or a wait) and no later destructive or change case starts.
    - *Degraded cloud*: a case whose teardown cannot bring the steady state back stops the
      destructive and change stage: the later ones are skipped at once, ``NOT RUN: the
      cloud was left degraded by <case> (<what is still wrong>)``.
    - *Kill switch*: ``extreme stop`` (another terminal) and SIGINT/SIGTERM of robot or
      pabot undo what is active at once, then the run stops.

    = What it never does =
    - It never injects anything and never loosens a limit: it only stops and undoes.
    - It never finds a run by process name: ``extreme stop`` reads the ledger's folder.
    - It never keeps its watch thread after the run: it stops when the run ends.
    """

    def __init__(self, target: str | None = None, ledger: str | None = None) -> None:
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)  # the one scope listener
        self._target_path = target
        self._ledger_path = ledger
        self._target: Target | None = None
        self._watcher: Watcher | None = None
        self._test = ""
        self._not_started = False
        self._in_setup = False
        self.interrupter = Interrupter()

    # -- keywords -----------------------------------------------------------------------

    @keyword
    def the_safeguards_should_allow_this_case(self) -> None:
        """Lets a destructive or change case start, or skips it, before any fault.

        Skips the case (never fails it) with the reason the report shows when the run was
        stopped (``NOT STARTED: the run was stopped by ...``), a safeguard tripped
        (``NOT STARTED: ABORTED BY SAFEGUARD ...``), the pre-flight gate failed
        (``NOT STARTED: pre-flight failed: ...``) or an earlier case left the cloud
        degraded (``NOT RUN: the cloud was left degraded by <case> (...)``). The first
        case of the run runs the pre-flight gate: `Cloud Should Be Healthy` and each of the
        target's ``safeguards.preflight.checks``. Otherwise the emergency watch starts for
        this case. Call it in the test setup, after the destructive lock is taken: called
        anywhere else (a test's body, e.g. inside `Run Keyword And Expect Error`) it does
        nothing, so a test that checks a setup's refusal does not end the run's
        destructive stage.

        | Take The Destructive Lock
        | The Safeguards Should Allow This Case
        """
        if not self._in_setup:
            logger.info("Safeguards: not in a test's setup: nothing gated, nothing watched.")
            return
        watcher = self._watch()
        state = watcher.journal.state()
        reason = not_allowed(state)
        if not reason and state.preflight is None:
            reason = self._preflight(watcher)
        if reason:
            self._not_started = True
            raise SkipExecution(reason)
        watcher.arm(self._test or "this case")
        self.interrupter.armed = True
        limits = watcher.settings.limits
        logger.info("Safeguards: watching " + (", ".join(
            name for name, on in (("the longest outage", limits.longest_outage),
                                  ("the error rate", limits.error_rate),
                                  ("nodes left off", limits.node_off),
                                  ("the probes " + ", ".join(limits.probes), limits.probes))
            if on) or "no emergency limit (none set)") + " and the stop request")

    @keyword
    def the_cloud_should_be_left_healthy_within(self, limit: timedelta) -> None:
        """Waits at most ``limit`` for the steady state after a case; fails and stops the
        destructive and change stage when it does not come back.

        The case's teardown calls it after every fault was undone. It ends the emergency
        watch of the case. A case the safeguards did not start, or a run being stopped,
        has nothing to wait for: it returns at once. When `Cloud Should Be Healthy` still
        fails after ``limit`` the case fails with what is still wrong, and every later
        destructive and change case of the run is skipped at once, ``NOT RUN: the cloud
        was left degraded by <this case> (...)``. The wait ends early when the run is
        stopped.

        | The Cloud Should Be Left Healthy Within    ${LIMITS.healthy_within}
        """
        self._disarm()
        watcher = self._watch()
        if self._not_started:
            logger.info("Safeguards: the case did not start: nothing to wait for.")
            return
        if watcher.stopping.is_set():
            logger.info(f"Safeguards: the run is stopping ({watcher.stopped}): not waiting "
                        f"for the steady state.")
            return
        deadline = time.monotonic() + limit.total_seconds()
        while True:
            status, message = BuiltIn().run_keyword_and_ignore_error(HEALTH_KEYWORD)
            if status == "PASS":
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if watcher.stopping.wait(min(RETRY, remaining)):
                logger.info("Safeguards: the run is stopping: the wait ended.")
                return
        wrong = _first_line(message)
        watcher.left_degraded(self._test, wrong)
        raise AssertionError(
            f"The cloud was left degraded by this case: {wrong} (still so "
            f"{limit.total_seconds():g} s after the case). The later destructive and "
            f"change cases of the run will not run.")

    # -- scope hooks (the lifecycle's ScopeListener) ------------------------------------

    def scope_started(self, kind: str, name: str, result) -> None:
        if kind == "test":
            self._test = name
            self._not_started = False

    def fixture_started(self, fixture: str, kind: str, name: str, result) -> None:
        if kind != "test":
            return
        if fixture == "setup":
            self._in_setup = True
        else:
            self._disarm()  # the case's teardown: the faults are being undone

    def fixture_ended(self, fixture: str, kind: str, name: str, result) -> None:
        if fixture == "setup":
            self._in_setup = False

    def scope_ended(self, kind: str, name: str, result) -> list[str]:
        if kind == "test":
            self._test_ended(result)
        return []

    def _test_ended(self, result) -> None:
        """A case ended: its watch stops; a case the run's stop or a safeguard ended says
        so in its status and message (set here, in the order the report reads them)."""
        self._disarm()
        self._in_setup = False
        watcher = self._watcher
        if watcher is None:
            return
        if watcher.stopping.is_set() or watcher.signalled:
            by = watcher.stopped or watcher.signalled
            # The signal landed in the case's setup (the gate that skips it once the run
            # is stopped): its body never started either.
            in_setup = result.message.startswith(f"Setup failed:\n{SIGNALLED}")
            if result.status == "FAIL" and (result.message.startswith(FATAL) or in_setup):
                result.status = "SKIP"
                result.message = f"NOT STARTED: the run was stopped by {by}"
            elif result.message.startswith(SIGNALLED):
                result.message = f"STOPPED by {by}: {result.message}"
        elif watcher.tripped is not None and watcher.tripped_case == self._test \
                and "ABORTED BY SAFEGUARD" not in result.message:
            result.status = "FAIL"  # the case ended before the interruption landed
            result.message = f"{watcher.message}\n\n{result.message}".strip()
        self._test = ""

    def run_ended(self) -> None:
        if self._watcher is not None:
            self._watcher.close()

    # -- helpers ------------------------------------------------------------------------

    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = load_target(self._target_path)
        return self._target

    def _ledger(self) -> Path:
        return Path(self._ledger_path or default_ledger_path(self.target.path))

    def _watch(self) -> Watcher:
        if self._watcher is None:
            target = self.target
            settings = config.settings(target)
            ledger = self._ledger()
            root = journal.run_root(PabotLock.under_pabot())
            run = journal.run_id(*root)
            journal.register(ledger, run, root)
            monitor = _library_instance("ExtremeTesting.Monitor")
            live = getattr(monitor, "live_samples", None)
            failures = getattr(monitor, "live_failures", None)
            self._watcher = Watcher(
                settings, Journal(ledger, run),
                samples=live if callable(live) else (lambda since: None),
                failures=failures if callable(failures) else (lambda: None),
                power_offs=lambda: power_offs(Ledger(ledger).open_entries()),
                stop_request=lambda: journal.stop_requested(ledger, run),
                undo=self._undo, interrupt=self.interrupter.deliver)
            self._watcher.start()
            # Signal handlers from the main thread (a keyword), not at import: a process
            # that never reaches a destructive case keeps Robot's own.
            self.interrupter.install()
            chain_stop_signals(self._on_signal)
            from . import undo  # noqa: F401 - imported now, so the undo starts at once
            try:
                from ..faults import cli  # noqa: F401 - every library's undo registered
            except ImportError:  # pragma: no cover - undo_run then runs the command
                pass
        return self._watcher

    def _undo(self) -> UndoResult:
        from .undo import spawn_guard, undo_run

        ledger = self._ledger()
        watcher = self._watcher
        if watcher is not None and watcher.signalled:
            import os

            from ..lifecycle.private import start_time

            spawn_guard(self.target.path, ledger, os.getpid(), start_time(os.getpid()) or 0,
                        watcher.settings.stop_within)
        return undo_run(self.target.path, ledger)

    def _preflight(self, watcher: Watcher) -> str:
        checks = [(HEALTH_KEYWORD,), *watcher.settings.checks]
        failures = []
        for name, *args in checks:
            status, message = BuiltIn().run_keyword_and_ignore_error(name, *args)
            if status != "PASS":
                failures.append(f"{name}: {_first_line(message)}")
        names = ["    ".join(c) for c in checks]
        watcher.journal.append(PREFLIGHT, passed=not failures, case=self._test,
                               checks=names, detail="; ".join(failures))
        if failures:
            return f"NOT STARTED: pre-flight failed: {'; '.join(failures)}"
        logger.info(f"Safeguards: pre-flight passed ({', '.join(names)}).")
        return ""

    def _disarm(self) -> None:
        self.interrupter.armed = False
        if self._watcher is not None:
            self._watcher.disarm()

    def _on_signal(self, name: str) -> None:
        if self._watcher is not None:
            self._watcher.wake(name)


def _library_instance(name: str):
    try:
        return BuiltIn().get_library_instance(name)
    except (RuntimeError, RobotNotRunningError):
        return None

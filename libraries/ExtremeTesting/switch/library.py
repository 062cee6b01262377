"""The Robot-facing Switch library: thin keywords over :mod:`.session`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from robot.api import logger
from robot.api.deco import keyword, library

from .. import __version__, events, results
from .. import target as target_module
from ..lifecycle import Entry, ScopeListener, Step, Tracker, register_undo
from ..target import Target
from .errors import SwitchError
from .session import SwitchSession, SwitchSpec, spec_from_target

SOURCE = "switch"
PORT_UP = "switch port up"  # the ledger's undo action for a port this library took down


def recover_session(spec: SwitchSpec, timeout: float) -> SwitchSession:
    """The session ``extreme recover`` uses (tests replace it with a fake)."""
    return SwitchSession(spec, timeout=timeout)


def undo_port_down(step: Any, target: Target, timeout: float = 15.0) -> None:
    """Undo handler for ``extreme recover``: brings ``step.args['port']`` of the switch in
    ``step.nodes`` up, through the target's ``switches`` section (password from its env)."""
    port = (step.args or {}).get("port")
    if not port or len(step.nodes) != 1:
        raise SwitchError(f"Cannot bring a port up from ledger step {step.describe()}: "
                          f"expected one switch and a 'port' argument.")
    recover_session(spec_from_target(target, step.nodes[0]), timeout).set_port(port, up=True)


register_undo(PORT_UP, undo_port_down)


@dataclass
class _Fault:
    switch: str
    action: str  # "restart" or "port down"
    port: str
    entry_id: str = ""
    started: float = 0.0
    down_seconds: int = 0
    timer: threading.Timer | None = None  # publishes the end of a lab switch's down time


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Switch:
    """Restart network switches and take their ports down and up, over SSH (netmiko).

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Switch    ${TARGET}
    | Library    ExtremeTesting.Switch    ${TARGET}    ssh_timeout=30 s

    The arguments are described under `Importing` below the introduction.

    = Where the switches are =
    The target file's ``switches`` section names each switch: ``device_type`` (netmiko's:
    ``linux`` for the lab's switch, ``cisco_ios``, ``cisco_xe``, ``cisco_nxos``,
    ``arista_eos``, ``juniper_junos``), ``address``, ``port``, ``username`` and
    ``password_env`` (the environment variable holding the password; never logged).

    = Safety and undo =
    Every keyword that cuts traffic needs ``destructive: true`` in the target file. Each
    fault is written to the Faults library's ledger (next to the target file) before it
    is made and published on the fault timeline (source ``switch``). A port this library
    took down is brought back up when the test (or suite) that took it down ends,
    whatever its status; after a crash, ``extreme recover`` brings it up (this library
    registers its ``switch port up`` undo with the Faults library). A restart heals by
    itself; `Wait Until Switch Is Back` measures how long it took and publishes it
    (``switch.restart``) for the sign-off report. A restart ends on the fault timeline
    (``undone``) when `Wait Until Switch Is Back` sees the switch back or, on the lab
    switch, when its down time is over, whichever comes first; `Bring Up Switch Port`
    ends a port's fault.

    = What it never does =
    - It never logs a switch password: it is read from ``password_env`` when needed and
      kept out of every message.
    - It never leaves a port down on purpose: ports it took down come back up when the
      test or suite ends, and ``extreme recover`` brings them up after a crash.
    - It never cuts traffic on a target not marked ``destructive: true``.

    = Under pabot =
    Destructive keywords first take the pabot lock ``destructive:<target name>`` (the
    Faults library's), released when the test ends with nothing left down.

    = Examples =
    | ***** Settings *****
    | Library    ExtremeTesting.Switch
    |
    | ***** Test Cases *****
    | Cloud survives a switch restart
    |     `Restart Switch`    sw1    down_duration=15 s
    |     `Wait Until Switch Is Back`    sw1    timeout=2 min
    |
    | One controller loses its link
    |     `Shut Down Switch Port`    sw1    ctl1
    |     Sleep    10 s    # the suite's monitor measures the cloud meanwhile
    |     `Bring Up Switch Port`    sw1    ctl1
    """

    def __init__(self, target: str | None = None, ssh_timeout: timedelta = timedelta(seconds=15),
                 ledger: str | None = None):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``ssh_timeout``: the longest wait for a switch's SSH answer;
        ``ledger``: the fault ledger (default: next to the target file, as Faults uses)."""
        # Ports taken down and restarts in progress, undone or closed when their test or
        # suite ends; at the end of the run, the lab switch's down-time timers stop.
        self.changes = Tracker(lambda: self.target, ledger, undo=self._undo_entry)
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.changes, at_run_end=self.cancel_timers)
        self._target_path = target
        self._target: Target | None = None
        self.ssh_timeout = ssh_timeout.total_seconds()
        self._open: list[_Fault] = []
        self._restarts: dict[str, _Fault] = {}
        self._ending: list[_Fault] = []  # restarts whose "undone" event is not published
        self._ending_lock = threading.Lock()
        # Tests replace this with a factory of fake sessions.
        self.session_factory: Callable[[SwitchSpec, float], SwitchSession] = (
            lambda spec, timeout: SwitchSession(spec, timeout=timeout))

    # --- plumbing ---------------------------------------------------------------------
    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = target_module.load(self._target_path)
        return self._target

    def _session(self, switch: str) -> SwitchSession:
        return self.session_factory(spec_from_target(self.target, switch), self.ssh_timeout)

    def _require_destructive(self, what: str) -> None:
        # the interlock, then under pabot the cloud's lock: one destructive test at once
        self.changes.require_destructive(what)

    def _record(self, fault: _Fault, args: dict[str, Any], undo_port: str = "") -> None:
        step = Step(f"switch {fault.action}", None, [fault.switch], args)
        undo = Step(PORT_UP, None, [fault.switch], {"port": undo_port}) \
            if undo_port else None
        # A restart heals by itself: held open until its test or suite is over.
        fault.entry_id = self.changes.record(step, undo, hold=True).id

    def _close_fault(self, fault: _Fault, how: str, detail: str = "") -> None:
        if fault.entry_id:
            self.changes.close(fault.entry_id, how, detail)

    # --- keywords ---------------------------------------------------------------------
    @keyword
    def restart_switch(self, switch: str,
                       down_duration: timedelta = timedelta(seconds=10)) -> None:
        """Restarts ``switch``: every port goes down and comes back by itself.

        The lab switch stays down for ``down_duration`` (1 s to 5 min); a vendor switch reloads
        and is down as long as its reload takes (``down_duration`` is ignored). Returns once the
        switch accepted the restart; `Wait Until Switch Is Back` waits.

        Fails, before touching anything, on a target not marked ``destructive: true``, a switch
        the target does not know or a ``down_duration`` out of range; fails with the switch's
        answer when it refuses the restart.

        | `Restart Switch`    sw1    down_duration=15 s
        | `Wait Until Switch Is Back`    sw1    timeout=2 min
        """
        self._require_destructive(f"restart switch {switch}")
        session = self._session(switch)
        seconds = round(down_duration.total_seconds())
        if session.commands.restart_takes_seconds and not 1 <= seconds <= 300:
            raise SwitchError(f"down_duration must be between 1 s and 5 min, got "
                              f"{down_duration.total_seconds():g} s.")
        fault = _Fault(switch, "restart", "", down_seconds=seconds)
        self._record(fault, {"down_seconds": seconds})
        events.publish(SOURCE, "requested", "restart", switch, fault.entry_id,
                       f"down {seconds} s" if session.commands.restart_takes_seconds else "")
        fault.started = time.monotonic()
        try:
            output = session.restart(seconds)
        except Exception as error:
            events.publish(SOURCE, "failed", "restart", switch, fault.entry_id, str(error))
            self._close_fault(fault, "failed", str(error))
            raise
        events.publish(SOURCE, "in effect", "restart", switch, fault.entry_id)
        self._restarts[switch] = fault
        self._expect_end(fault, session.commands.restart_takes_seconds)
        logger.info(f"{session.spec.label}: {output.strip() or 'restart accepted'}")

    @keyword
    def wait_until_switch_is_back(self, switch: str, timeout: timedelta = timedelta(minutes=5),
                                  poll: timedelta = timedelta(seconds=1)) -> float:
        """Waits until ``switch`` answers with every port up and no restart in progress.

        Polls every ``poll`` for at most ``timeout``. Returns the seconds since `Restart Switch`
        (0 when it was not restarted here), and publishes them as ``switch.restart``. Fails after
        ``timeout`` with what the switch last showed.

        | ${seconds} =    `Wait Until Switch Is Back`    sw1    timeout=5 min
        """
        session = self._session(switch)
        deadline = time.monotonic() + timeout.total_seconds()
        last = "no answer yet"
        # A vendor switch answers for a while after accepting a reload: it is back only
        # after it was seen down. The lab switch reports its restart itself.
        seen_down = switch not in self._restarts or session.commands.restart_takes_seconds
        while True:
            try:
                status = session.status()
                up = status.get("ports_up", 0) == status.get("ports", 0)
                if not status.get("restarting") and up and seen_down:
                    break
                last = ("still answering, not yet gone down for its reload" if not seen_down
                        else f"{status.get('ports_up')}/{status.get('ports')} ports up"
                        + (", restart in progress" if status.get("restarting") else ""))
            except SwitchError as error:
                seen_down = True
                last = str(error)
            if time.monotonic() >= deadline:
                raise SwitchError(f"Switch {switch} was not back within "
                                  f"{timeout.total_seconds():g} s: {last}.")
            time.sleep(poll.total_seconds())
        fault = self._restarts.pop(switch, None)
        if fault is None:
            return 0.0
        seconds = time.monotonic() - fault.started
        self._restart_over(switch, f"back after {seconds:.1f} s")
        self._close_fault(fault, "completed", f"back after {seconds:.1f} s")
        results.publish("switch.restart", {"switch": switch,
                                           "requested_down_s": fault.down_seconds,
                                           "back_after_s": round(seconds, 3)},
                        f"<p>Switch {switch} back {seconds:.1f} s after its restart "
                        f"(asked for {fault.down_seconds} s down).</p>")
        return seconds

    @keyword
    def shut_down_switch_port(self, switch: str, port: str) -> None:
        """Takes ``port`` of ``switch`` down; it comes back up when the test ends.

        `Bring Up Switch Port` brings it up earlier. Fails, before touching anything, on a target
        not marked ``destructive: true`` or an unknown switch; fails with the switch's answer
        when it refuses (an unknown port, for instance).

        | `Shut Down Switch Port`    sw1    ctl1
        """
        self._require_destructive(f"shut down port {port} of switch {switch}")
        session = self._session(switch)
        fault = _Fault(switch, "port down", port)
        self._record(fault, {"port": port}, undo_port=port)
        events.publish(SOURCE, "requested", "port down", f"{port} on {switch}", fault.entry_id)
        try:
            session.set_port(port, up=False)
        except Exception as error:
            events.publish(SOURCE, "failed", "port down", f"{port} on {switch}",
                           fault.entry_id, str(error))
            self._close_fault(fault, "failed", str(error))
            raise
        self._open.append(fault)
        events.publish(SOURCE, "in effect", "port down", f"{port} on {switch}", fault.entry_id)

    @keyword
    def bring_up_switch_port(self, switch: str, port: str) -> None:
        """Brings ``port`` of ``switch`` up, closing the fault that took it down.

        Runs on any target (it only restores). Fails with the switch's answer when it refuses.

        | `Bring Up Switch Port`    sw1    ctl1
        """
        self._session(switch).set_port(port, up=True)
        for fault in [f for f in self._open if (f.switch, f.port) == (switch, port)]:
            self._open.remove(fault)
            self._close_fault(fault, "restored", "by Bring Up Switch Port")
            events.publish(SOURCE, "undone", "port down", f"{port} on {switch}", fault.entry_id)

    @keyword
    def get_switch_ports(self, switch: str) -> list[dict[str, str]]:
        """Returns the ports of ``switch`` as the switch reports them; changes nothing.

        The lab switch gives ``name``, ``admin``, ``oper`` and ``peer`` for each port; a vendor
        switch one ``line`` per row of its own table. Fails when the switch is unknown or does
        not answer within ``ssh_timeout``.
        """
        return self._session(switch).ports()

    # --- the end of a restart on the fault timeline -------------------------------------
    def _expect_end(self, fault: _Fault, timed: bool) -> None:
        """A lab switch brings its ports back when its down time is over: that ends the
        fault on the timeline unless `Wait Until Switch Is Back` saw it back first. A new
        restart of the same switch replaces the earlier one (as the lab switch does)."""
        with self._ending_lock:
            for earlier in self._ending:
                if earlier.switch == fault.switch and earlier.timer is not None:
                    earlier.timer.cancel()
            self._ending.append(fault)
            if timed:
                fault.timer = threading.Timer(
                    fault.down_seconds, self._restart_over,
                    (fault.switch, f"down time of {fault.down_seconds} s over"))
                fault.timer.daemon = True
                fault.timer.start()

    def _restart_over(self, switch: str, detail: str) -> None:
        """Publishes ``undone`` once for each restart of ``switch`` still running."""
        with self._ending_lock:
            over = [f for f in self._ending if f.switch == switch]
            for fault in over:
                self._ending.remove(fault)
                if fault.timer is not None and fault.timer is not threading.current_thread():
                    fault.timer.cancel()
        for fault in over:
            events.publish(SOURCE, "undone", "restart", switch, fault.entry_id, detail)

    def cancel_timers(self) -> None:
        """Stops waiting for down times to end (the run is over: nobody reads events)."""
        with self._ending_lock:
            for fault in self._ending:
                if fault.timer is not None:
                    fault.timer.cancel()
            self._ending.clear()

    # --- undo at scope end (the lifecycle's ScopeListener calls _undo_entry) -----------
    def _undo_entry(self, entry: Entry) -> None:
        """Bring a port this library took down back up (the session it uses); a restart
        heals by itself: it no longer holds the cloud once its test is over."""
        if entry.undo is None:
            for switch in [s for s, f in self._restarts.items() if f.entry_id == entry.id]:
                del self._restarts[switch]
            self._close_fault(_Fault(entry.step.nodes[0], "restart", "", entry.id),
                              "completed", "heals by itself; not waited for")
            return
        switch, port = entry.step.nodes[0], str((entry.undo.args or {}).get("port", ""))
        self.bring_up_switch_port(switch, port)
        logger.info(f"Brought port {port} of {switch} back up (fault {entry.id}).")

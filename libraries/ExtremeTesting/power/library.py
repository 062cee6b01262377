"""The Robot-facing Power library: thin keywords over :mod:`.clients`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword, library

from ..results import verdict
from .. import __version__, events, results
from .. import target as target_module
from ..errors import TargetError
from ..lifecycle import Entry, Level, ScopeListener, Step, Tracker
from ..target import Target
from .clients import DEFAULT_TIMEOUT, BmcClient, BootDevice, PowerState, client
from .config import BmcEndpoint, BmcProtocol, endpoint
from .errors import PowerError, PowerStateTimeout

SOURCE = "power"
# Keyword action -> (os-faults action written to the ledger, over once the call returns).
# Each is undone by os-faults' "poweron", so 'extreme recover' can finish a crashed run.
_LEDGER_ACTIONS = {"power off": ("poweroff", False), "soft power off": ("shutdown", False),
                   "power reset": ("reset", True), "power cycle": ("reset", True)}


@dataclass
class _PoweredOff:
    node: str
    protocol: BmcProtocol | None
    action: str = "power off"  # the keyword's action, as its events named it


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Power:
    """Power nodes off and on through their BMCs, over IPMI or Redfish.

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Power    ${TARGET}
    | Library    ExtremeTesting.Power    ${TARGET}    bmc_timeout=20 s    auto_restore=False

    The arguments are described under `Importing` below the introduction.

    = Where the BMCs are =
    The target file's ``bmcs`` section names each node's BMC: ``protocol`` (``ipmi`` or
    ``redfish``), ``address``, ``port``, ``username`` and ``password_env``, the environment
    variable that holds the password (it is read when needed and never logged). A
    ``redfish:`` (or ``ipmi:``) sub-section gives the same BMC over the other protocol,
    which a keyword then chooses with ``protocol=redfish``.

    = Safety =
    Keywords that take power away (`Power Off`, `Soft Power Off`, `Power Reset`,
    `Power Cycle`) refuse to run unless the target file says ``destructive: true``.
    `Power On` and the getters always run. Each action is published on the fault
    timeline (source ``power``) so the Monitor draws it next to its samples.

    = Undo and the fault ledger =
    A power action is written to the Faults library's ledger (next to the target file)
    before it is sent, with ``poweron`` as its undo, so ``extreme recover`` can power the
    node on after a crashed run. A node this library powered off is powered on again when
    the test (or suite) that did it ends, whatever its status; `Power On` closes it too.
    ``auto_restore=False`` leaves nodes off (for suites that restore them themselves).

    = Power or Faults? =
    The Faults library has the same acts, through os-faults: `Power Off Node`,
    `Shut Down Node`, `Reset Node`, `Power On Node` (here `Power Off`, `Soft Power Off`,
    `Power Reset`, `Power On`). Use this library to act on one named node, over a chosen
    ``protocol``, and wait until its BMC reports the new state within a ``timeout`` you
    give; use the Faults keywords to choose nodes by what they run (``one``, ``all``,
    ``running=nova-api``) or on a cloud described only by an os-faults file.

    = What it never does =
    - It never logs a BMC password: it is read from ``password_env`` when needed and kept
      out of every message.
    - It never leaves a node off on purpose: what it powered off is powered on when the
      test or suite ends (unless ``auto_restore=False``), and ``extreme recover`` finishes
      the job after a crash.
    - It never takes power away on a target not marked ``destructive: true``.

    = Under pabot =
    Destructive keywords first take the pabot lock ``destructive:<target name>`` (the
    Faults library's), so one process at a time breaks the cloud; it is released when the
    test ends with no node left off.

    = Waiting =
    Power actions return once the BMC reports the new state (``wait=True``, the default),
    polling every ``poll``; `Wait Until Power State Is` does the same on its own. A BMC
    that does not answer fails within ``bmc_timeout`` (library argument, 10 s).

    = Examples =
    | ***** Settings *****
    | Library    ExtremeTesting.Power
    |
    | ***** Test Cases *****
    | Controller survives a power loss
    |     `BMC Should Be Reachable`    ctl1
    |     `Power Off`    ctl1
    |     `Get Power State`    ctl1    # off
    |     `Power On`    ctl1    protocol=redfish
    |     `Wait Until Node Accepts Connections`    ctl1    5000    timeout=5 min
    """

    def __init__(self, target: str | None = None,
                 bmc_timeout: timedelta = timedelta(seconds=DEFAULT_TIMEOUT),
                 ledger: str | None = None, auto_restore: bool = True):
        """``target`` is the target file (default: ``$EXTREME_TARGET``, then the lab's);
        ``ledger`` the fault ledger (default: next to the target, as the Faults library's);
        ``auto_restore`` powers on, when a test or suite ends, what it powered off."""
        # What this library powered off, undone when its test or suite ends.
        self.changes = Tracker(lambda: self.target, ledger, undo=self._power_back_on)
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(
            self.changes, lambda: Level.TEST if self.auto_restore else Level.MANUAL)
        self.auto_restore = auto_restore
        self._off: dict[str, _PoweredOff] = {}  # ledger entry id -> what is off
        self._target_path = target
        self._target: Target | None = None
        self.bmc_timeout = bmc_timeout.total_seconds()
        self._powered_on_at: dict[str, float] = {}
        self._clients: dict[BmcEndpoint, BmcClient] = {}
        # Tests give a factory that returns fake clients.
        self.client_factory: Callable[[BmcEndpoint, float], BmcClient] = client

    # --- plumbing ---------------------------------------------------------------------
    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = target_module.load(self._target_path)
        return self._target

    def _client(self, node: str, protocol: BmcProtocol | None) -> BmcClient:
        found = endpoint(self.target, node, protocol)
        if found not in self._clients:
            self._clients[found] = self.client_factory(found, self.bmc_timeout)
        return self._clients[found]

    def _require_destructive(self, action: str, node: str) -> None:
        # the interlock, then under pabot the cloud's lock: one destructive test at once
        self.changes.require_destructive(f"{action} {node}")

    def _open_entry(self, action: str, node: str) -> Entry | None:
        if action not in _LEDGER_ACTIONS:
            return None
        osf_action, transient = _LEDGER_ACTIONS[action]
        # Undone by os-faults' "poweron", so 'extreme recover' can finish a crashed run.
        return self.changes.record(Step(osf_action, None, [node]),
                                   None if transient else Step("poweron", None, [node]))

    def _act(self, action: str, node: str, protocol: BmcProtocol | None,
             call: Callable[[BmcClient], None], expect: PowerState | None,
             wait: bool, timeout: timedelta, poll: timedelta) -> None:
        bmc = self._client(node, protocol)
        detail = bmc.endpoint.name
        entry = self._open_entry(action, node)
        entry_id = entry.id if entry else ""
        if entry is not None and entry.undo is not None:
            self._off[entry_id] = _PoweredOff(node, protocol, action)
        events.publish(SOURCE, "requested", action, node, entry_id, detail)
        started = time.monotonic()
        try:
            call(bmc)
            accepted = time.monotonic() - started
            logger.info(f"{detail} accepted '{action}' in {accepted * 1000:.0f} ms.")
            reached = None
            if wait and expect is not None:
                self._wait_for(bmc, node, expect, timeout, poll)
                reached = time.monotonic() - started
        except Exception as error:
            events.publish(SOURCE, "failed", action, node, entry_id, f"{detail}: {error}")
            # Left open when the node may be off: recover then powers it on.
            if not (wait and expect is PowerState.OFF and isinstance(error, PowerStateTimeout)):
                self._off.pop(entry_id, None)
                if entry is not None:
                    self.changes.close(entry, "failed", str(error))
            raise
        events.publish(SOURCE, "in effect", action, node, entry_id, detail)
        if action in ("power on", "power reset", "power cycle"):
            self._powered_on_at[node] = started
        if entry is not None and entry.undo is None:
            self.changes.close(entry, "completed")
            # A reset or cycle is over once the node is back on (or the BMC took it, when
            # not waiting): the fault ends on the timeline the Monitor reads.
            events.publish(SOURCE, "undone", action, node, entry_id, "ended")
        if action == "power on":
            self._restored(node, "restored", "by Power On")
        results.publish("power.action", {
            "node": node, "action": action, "protocol": bmc.endpoint.protocol.value,
            "accepted_s": round(accepted, 4),
            "state_reached_s": None if reached is None else round(reached, 4)},
            f"<p>{action} {node} over {bmc.endpoint.protocol.value}: accepted in "
            f"{accepted * 1000:.0f} ms"
            + ("" if reached is None else f", {expect.value} after {reached:.2f} s") + "</p>")

    def _wait_for(self, bmc: BmcClient, node: str, state: PowerState, timeout: timedelta,
                  poll: timedelta) -> None:
        deadline = time.monotonic() + timeout.total_seconds()
        # Start polling fast (most BMCs apply a change within tens of milliseconds), then
        # back off to ``poll``.
        interval = min(0.05, poll.total_seconds())
        while True:
            seen = bmc.power_state()
            if seen is state:
                return
            if time.monotonic() >= deadline:
                raise PowerStateTimeout(
                    f"{node} did not reach power state '{state.value}' within "
                    f"{timeout.total_seconds():g} s: {bmc.endpoint.name} still reports "
                    f"'{seen.value}'. Check the node and its BMC (the action may have been "
                    f"refused or the node may be stuck).")
            time.sleep(min(interval, max(deadline - time.monotonic(), 0.01)))
            interval = min(interval * 2, poll.total_seconds())

    # --- keywords ---------------------------------------------------------------------
    @keyword
    def get_power_state(self, node: str, protocol: BmcProtocol | None = None) -> str:
        """Returns ``on`` or ``off``, as the BMC of ``node`` reports it.

        ``protocol``: ``ipmi`` or ``redfish`` (default: the target's for that BMC). Fails when
        the target has no BMC for ``node`` or the BMC does not answer within ``bmc_timeout``.

        | ${state} =    `Get Power State`    ctl1
        | Should Be Equal    ${state}    on
        """
        return self._client(node, protocol).power_state().value

    @keyword
    def power_off(self, node: str, wait: bool = True, timeout: timedelta = timedelta(minutes=1),
                  poll: timedelta = timedelta(seconds=0.5),
                  protocol: BmcProtocol | None = None) -> None:
        """Cuts the power of ``node`` at once through its BMC (no graceful shutdown).

        With ``wait`` (default), returns when the BMC reports ``off``, polling every ``poll``.
        ``protocol``: ``ipmi`` or ``redfish`` (default: the target's). Undo: power on when the
        test ends (see `Undo and the fault ledger`).

        Use it for one named node when the case needs the node off before it goes on; the Faults
        library's `Power Off Node` chooses nodes by what they run (``one``, ``running=nova-api``)
        through os-faults.

        Fails, before touching anything, on a target not marked ``destructive: true`` or a node
        without a BMC; fails when the BMC refuses, or when ``off`` is not reported within
        ``timeout`` (the node is then powered on at the end of the test all the same).

        | `Power Off`    ctl1
        | `Power Off`    ctl2    protocol=redfish    timeout=30 s
        """
        self._require_destructive("power off", node)
        self._act("power off", node, protocol, lambda b: b.power_off(), PowerState.OFF, wait,
                  timeout, poll)

    @keyword
    def power_on(self, node: str, wait: bool = True, timeout: timedelta = timedelta(minutes=1),
                 poll: timedelta = timedelta(seconds=0.5),
                 protocol: BmcProtocol | None = None) -> None:
        """Powers ``node`` on through its BMC; with ``wait``, returns when the BMC reports ``on``.

        ``timeout``, ``poll`` and ``protocol`` as in `Power Off`. Closes the power-off it undoes.
        The node's services still have to start: `Wait Until Node Accepts Connections` waits
        for their ports. Fails when the BMC refuses or ``on`` is not reported within ``timeout``.

        | `Power On`    ctl1
        | `Wait Until Node Accepts Connections`    ctl1    5000    timeout=5 min
        """
        self._act("power on", node, protocol, lambda b: b.power_on(), PowerState.ON, wait,
                  timeout, poll)

    @keyword
    def power_reset(self, node: str, wait: bool = True, timeout: timedelta = timedelta(minutes=1),
                    poll: timedelta = timedelta(seconds=0.5),
                    protocol: BmcProtocol | None = None) -> None:
        """Hard-resets ``node`` through its BMC (a node that is off is turned on).

        With ``wait``, returns when the BMC reports ``on``; ``timeout``, ``poll`` and
        ``protocol`` as in `Power Off`. Over when it returns: nothing to undo. The Faults
        library's `Reset Node` does the same for nodes chosen by what they run. Fails as
        `Power Off` does.

        | `Power Reset`    cmp1    protocol=ipmi
        """
        self._require_destructive("reset", node)
        self._act("power reset", node, protocol, lambda b: b.reset(), PowerState.ON, wait,
                  timeout, poll)

    @keyword
    def power_cycle(self, node: str, wait: bool = True, timeout: timedelta = timedelta(minutes=1),
                    poll: timedelta = timedelta(seconds=0.5),
                    protocol: BmcProtocol | None = None) -> None:
        """Turns ``node`` off and on again through its BMC (one BMC command).

        With ``wait``, returns when the BMC reports ``on``; ``timeout``, ``poll`` and
        ``protocol`` as in `Power Off`. Over when it returns: nothing to undo. Fails as
        `Power Off` does.
        """
        self._require_destructive("power cycle", node)
        self._act("power cycle", node, protocol, lambda b: b.cycle(), PowerState.ON, wait,
                  timeout, poll)

    @keyword
    def soft_power_off(self, node: str, wait: bool = True,
                       timeout: timedelta = timedelta(minutes=2),
                       poll: timedelta = timedelta(seconds=1),
                       protocol: BmcProtocol | None = None) -> None:
        """Asks ``node``'s operating system to shut down (ACPI soft off) through its BMC.

        With ``wait`` (default), returns when the BMC reports ``off``; ``timeout``, ``poll`` and
        ``protocol`` as in `Power Off`. Undo: power on when the test ends. The Faults library's
        `Shut Down Node` does the same for nodes chosen by what they run. Fails as `Power Off`
        does; an OS that ignores the request fails on ``timeout``.

        | `Soft Power Off`    ctl1    timeout=3 min
        """
        self._require_destructive("shut down", node)
        self._act("soft power off", node, protocol, lambda b: b.soft_off(), PowerState.OFF,
                  wait, timeout, poll)

    @keyword
    def wait_until_power_state_is(self, node: str, state: PowerState,
                                  timeout: timedelta = timedelta(minutes=1),
                                  poll: timedelta = timedelta(seconds=0.5),
                                  protocol: BmcProtocol | None = None) -> None:
        """Polls the BMC of ``node`` until it reports ``state`` (``on`` or ``off``).

        Polls every ``poll`` for at most ``timeout``; ``protocol`` as in `Power Off`. Fails after
        ``timeout`` with the state the BMC still reports.

        | `Wait Until Power State Is`    ctl1    off    timeout=20 s
        """
        self._wait_for(self._client(node, protocol), node, state, timeout, poll)

    @keyword
    def set_boot_device(self, node: str, device: BootDevice, persistent: bool = False,
                        protocol: BmcProtocol | None = None) -> None:
        """Sets where ``node`` boots next (``device``: pxe, disk, cdrom, bios, default).

        ``persistent`` keeps it for later boots too; ``protocol`` as in `Power Off`. Fails when
        the BMC refuses the device or does not answer.

        | `Set Boot Device`    cmp1    pxe
        """
        self._client(node, protocol).set_boot_device(device, persistent)

    @keyword
    def get_boot_device(self, node: str, protocol: BmcProtocol | None = None) -> str:
        """Returns the boot device the BMC of ``node`` has set (``default`` when none).

        ``protocol`` as in `Power Off`. Fails when the BMC does not answer.
        """
        return self._client(node, protocol).boot_device().value

    @keyword("BMC Should Be Reachable")
    def bmc_should_be_reachable(self, node: str, protocol: BmcProtocol | None = None) -> None:
        """Logs in to the BMC of ``node`` and reads its power state; changes nothing.

        ``protocol`` as in `Power Off`. Fails with the reason (no BMC in the target, wrong
        password, no answer within the library's ``bmc_timeout``).

        | `BMC Should Be Reachable`    ctl1    protocol=redfish
        """
        bmc = self._client(node, protocol)
        state = bmc.power_state()
        logger.info(f"{bmc.endpoint.name} answers; the node is {state.value}.")

    # --- undo at scope end (the lifecycle's ScopeListener calls _power_back_on) -------
    def _restored(self, node: str, how: str, detail: str) -> None:
        for entry in [e for e in self.changes.pending if e.step.nodes == [node]]:
            off = self._off.pop(entry.id, None)
            self.changes.close(entry, how, detail)
            # Same fault_id as its "power off": the Monitor's recovery counts from here.
            events.publish(SOURCE, "undone", off.action if off else "power off", node,
                           entry.id, detail)

    def _power_back_on(self, entry: Entry) -> None:
        """Undo one power-off with the BMC client this library holds."""
        off = self._off.get(entry.id) or _PoweredOff(entry.step.nodes[0], None)
        bmc = self._client(off.node, off.protocol)
        if bmc.power_state() is PowerState.OFF:
            bmc.power_on()
            self._powered_on_at[off.node] = time.monotonic()
        self._restored(off.node, "undone", "powered on when its scope ended")
        logger.info(f"Powered {off.node} on again (fault {entry.id}).")

    @verdict
    def wait_until_node_accepts_connections(self, node: str, *ports: int,
                                            timeout: timedelta = timedelta(minutes=5),
                                            poll: timedelta = timedelta(seconds=1)) -> float:
        """Waits until TCP ``ports`` (default 22) of ``node``'s address accept connections.

        Polls every ``poll`` for at most ``timeout``. Returns the seconds since the last
        `Power On`/`Power Reset`/`Power Cycle` of ``node`` in this run (or since the call when
        there was none), and publishes that figure as ``power.boot_to_serving`` and as the
        expectation record of the boot time (limit: from that power on until the call's
        ``timeout`` ends) for the sign-off report. Fails naming the ports still closed after
        ``timeout``, or when the target gives ``node`` no address.

        Whether a service answers on the node (an API, with a status) is the Cloud library's
        `Wait Until Service Serves On Node`; this only sees ports open.

        | `Power On`    ctl1
        | ${s} =    `Wait Until Node Accepts Connections`    ctl1    22    5000    timeout=5 min
        """
        address = self.target.node(node).get("address")
        if not address:
            raise TargetError(f"Node '{node}' has no address in {self.target.path}.")
        wanted = [int(p) for p in ports] or [22]
        started = self._powered_on_at.get(node, time.monotonic())
        deadline = time.monotonic() + timeout.total_seconds()
        closed = wanted
        while True:
            closed = [port for port in wanted if not tcp_accepts(address, port)]
            if not closed:
                break
            if time.monotonic() >= deadline:
                results.publish_expectation(
                    "Wait Until Node Accepts Connections", "boot to serving",
                    deadline - started, "<=",
                    time.monotonic() - started, unit="s", subject=node,
                    uncertainty=poll.total_seconds(), passed=False)
                raise PowerError(
                    f"{node} ({address}) did not serve within {timeout.total_seconds():g} s: "
                    f"ports {', '.join(map(str, closed))} still refuse connections. Check "
                    f"that it is powered on and that its services start.")
            time.sleep(poll.total_seconds())
        seconds = time.monotonic() - started
        results.publish_expectation("Wait Until Node Accepts Connections",
                                    "boot to serving", deadline - started, "<=", seconds,
                                    unit="s", subject=node, uncertainty=poll.total_seconds())
        results.publish("power.boot_to_serving",
                        {"node": node, "ports": wanted, "seconds": round(seconds, 3)},
                        f"<p>{node} served on ports {', '.join(map(str, wanted))} "
                        f"{seconds:.1f} s after power on.</p>")
        return seconds

    @verdict("Wait Until Node Serves")
    def wait_until_node_serves_deprecated(self, node: str, *ports: int,
                                          timeout: timedelta = timedelta(minutes=5),
                                          poll: timedelta = timedelta(seconds=1)) -> float:
        """*DEPRECATED until 1.0.* Use `Wait Until Node Accepts Connections`, its new name.

        Waits until TCP ``ports`` of ``node`` accept connections, as the new name does
        ("serves" said more than it checks: no service is asked anything).
        """
        return self.wait_until_node_accepts_connections(node, *ports, timeout=timeout,
                                                        poll=poll)


def tcp_accepts(address: str, port: int, timeout: float = 1.0) -> bool:
    """Whether ``address:port`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False

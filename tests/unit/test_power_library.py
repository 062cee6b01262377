"""The Power library against a real lab BMC process (fake machine), over both protocols."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from ExtremeTesting import events
from ExtremeTesting.errors import SafetyError, TargetError
from ExtremeTesting.lab import bmc
from ExtremeTesting.power import BmcProtocol, BootDevice, Power, PowerState
from ExtremeTesting.power.errors import (BmcAuthenticationError, BmcUnreachableError,
                                         PowerStateTimeout)

PASSWORD = "power-test-pw"
ENV = "EXTREME_TEST_BMC_PASSWORD"
PROTOCOLS = [BmcProtocol.IPMI, BmcProtocol.REDFISH]

def in_scope(library, test, suite):
    """As the scope listener leaves it inside ``test`` of ``suite``."""
    library.changes.scope.suites = [suite]
    library.changes.scope.test = test


def scope_result(full_name, status="PASS"):
    """A Robot result as the listener gets it (no parent: a top-level suite)."""
    from types import SimpleNamespace

    return SimpleNamespace(full_name=full_name, status=status, message="", parent=None)



@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("power")
    machine = state / "machine.json"
    process, ipmi_port, redfish_port = bmc.spawn(
        "n1", PASSWORD, state / "bmc", fake_machine=machine, exit_after=120)
    yield {"ipmi": ipmi_port, "redfish": redfish_port, "machine": machine, "dir": state}
    process.terminate()
    process.wait(10)


@pytest.fixture(autouse=True)
def _quiet_results(monkeypatch):
    published: list[tuple[str, dict]] = []
    monkeypatch.setattr("ExtremeTesting.results.publish",
                        lambda kind, data, summary="": published.append((kind, data)))
    return published


def write_target(path: Path, server: dict, *, destructive: bool = True, ipmi_port=None,
                 redfish_port=None, password_env: str = ENV) -> Path:
    data = {
        "name": "unit", "destructive": destructive,
        "nodes": {"n1": {"address": "127.0.0.1"}},
        "bmcs": {"n1": {
            "protocol": "ipmi", "address": "127.0.0.1",
            "port": ipmi_port or server["ipmi"], "username": "admin",
            "password_env": password_env,
            "redfish": {"port": redfish_port or server["redfish"], "system_id": "n1"}}},
    }
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def power(server, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    events.clear()
    library = Power(str(write_target(tmp_path / "target.yaml", server)),
                    bmc_timeout=timedelta(seconds=8))
    # Every test starts with the machine on.
    server["machine"].write_text(json.dumps({"on": True, "calls": []}))
    return library


def machine(server) -> dict:
    return json.loads(server["machine"].read_text())


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_power_off_and_on(power, server, protocol, _quiet_results):
    assert power.get_power_state("n1", protocol=protocol) == "on"
    power.power_off("n1", protocol=protocol, timeout=timedelta(seconds=10))
    assert machine(server)["on"] is False
    assert power.get_power_state("n1", protocol=protocol) == "off"
    power.power_on("n1", protocol=protocol, timeout=timedelta(seconds=10))
    assert machine(server) == {"on": True, "calls": ["power_off", "power_on"]}
    phases = [(e.phase, e.action) for e in events.between(0) if e.source == "power"]
    assert phases == [("requested", "power off"), ("in effect", "power off"),
                      ("requested", "power on"), ("in effect", "power on"),
                      ("undone", "power off")]
    # Power On ends the fault Power Off opened (same id): the Monitor's recovery counts
    # from it.
    off_id = events.between(0)[0].fault_id
    assert off_id and events.between(0)[-1].fault_id == off_id
    assert events.between(0)[-1].detail == "by Power On"
    kinds = {kind for kind, _ in _quiet_results}
    assert kinds == {"power.action"}
    assert all(data["protocol"] == protocol.value for _, data in _quiet_results)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_reset_cycle_and_soft_off(power, server, protocol):
    power.power_reset("n1", protocol=protocol)
    power.power_cycle("n1", protocol=protocol)
    power.soft_power_off("n1", protocol=protocol, timeout=timedelta(seconds=10))
    assert power.get_power_state("n1", protocol=protocol) == "off"
    calls = machine(server)["calls"]
    assert calls[0] == "reset" and calls[-1] == "power_off" and len(calls) >= 3


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_boot_device(power, protocol):
    power.set_boot_device("n1", BootDevice.PXE, protocol=protocol)
    assert power.get_boot_device("n1", protocol=protocol) == "pxe"
    power.set_boot_device("n1", BootDevice.DISK, persistent=True, protocol=protocol)
    assert power.get_boot_device("n1", protocol=protocol) == "disk"


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_wait_until_power_state_is_times_out_with_what_it_saw(power, protocol):
    power.wait_until_power_state_is("n1", PowerState.ON, protocol=protocol)
    started = time.monotonic()
    with pytest.raises(PowerStateTimeout, match="still reports 'on'"):
        power.wait_until_power_state_is("n1", PowerState.OFF, timeout=timedelta(seconds=1),
                                        protocol=protocol)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_wrong_password_is_a_clear_error_and_changes_nothing(power, server, monkeypatch,
                                                             protocol):
    monkeypatch.setenv(ENV, "not-the-password")
    with pytest.raises(BmcAuthenticationError) as raised:
        power.power_off("n1", protocol=protocol)
    message = str(raised.value)
    assert "BMC of n1" in message and ENV in message and "nothing was changed" in message
    assert "not-the-password" not in message
    assert machine(server) == {"on": True, "calls": []}
    failed = [e for e in events.between(0) if e.phase == "failed"]
    assert len(failed) == 1 and "not-the-password" not in failed[0].detail


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.value)
def test_unreachable_bmc_fails_within_bounded_time(server, tmp_path, monkeypatch, protocol):
    monkeypatch.setenv(ENV, PASSWORD)
    closed_udp, closed_tcp = bmc.free_port(socket.SOCK_DGRAM), bmc.free_port(socket.SOCK_STREAM)
    target = write_target(tmp_path / "t.yaml", server, ipmi_port=closed_udp,
                          redfish_port=closed_tcp)
    power = Power(str(target), bmc_timeout=timedelta(seconds=6))
    started = time.monotonic()
    with pytest.raises(BmcUnreachableError, match="BMC of n1"):
        power.bmc_should_be_reachable("n1", protocol=protocol)
    assert time.monotonic() - started < 7


def test_bmc_should_be_reachable(power):
    power.bmc_should_be_reachable("n1")
    power.bmc_should_be_reachable("n1", protocol=BmcProtocol.REDFISH)


def test_destructive_keywords_need_a_destructive_target(server, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    server["machine"].write_text(json.dumps({"on": True, "calls": []}))
    power = Power(str(write_target(tmp_path / "t.yaml", server, destructive=False)))
    for action in (power.power_off, power.power_reset, power.power_cycle,
                   power.soft_power_off):
        with pytest.raises(SafetyError, match="not marked destructive"):
            action("n1")
    assert machine(server)["calls"] == []
    power.power_on("n1")  # restoring power is always allowed


def test_missing_password_variable_names_it(server, tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_BMC_PASSWORD", raising=False)
    power = Power(str(write_target(tmp_path / "t.yaml", server,
                                   password_env="NO_SUCH_BMC_PASSWORD")))
    with pytest.raises(TargetError, match="NO_SUCH_BMC_PASSWORD"):
        power.get_power_state("n1")


@pytest.mark.parametrize("keyword", ["wait_until_node_accepts_connections",
                                     "wait_until_node_serves_deprecated"])
def test_wait_until_node_accepts_connections_publishes_boot_to_serving(power, _quiet_results,
                                                                       keyword):
    # The deprecated name (Wait Until Node Serves) waits the same way and publishes its
    # record under the new name.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        power.power_on("n1")
        seconds = getattr(power, keyword)("n1", port, timeout=timedelta(seconds=5))
    finally:
        listener.close()
    assert 0 <= seconds < 5
    assert ("power.boot_to_serving", {"node": "n1", "ports": [port],
                                      "seconds": round(seconds, 3)}) in _quiet_results
    records = [data for kind, data in _quiet_results if kind == "expectation"]
    assert [r["keyword"] for r in records] == ["Wait Until Node Accepts Connections"]


def ledger_entries(power: Power):
    from ExtremeTesting.lifecycle.ledger import Ledger, default_ledger_path

    return Ledger(default_ledger_path(power.target.path)).entries()


def test_power_off_is_ledgered_with_poweron_as_undo_and_power_on_closes_it(power, server):
    power.power_off("n1")
    (entry,) = ledger_entries(power)
    assert (entry.step.action, entry.step.nodes, entry.undo.action) == ("poweroff", ["n1"],
                                                                        "poweron")
    assert entry.open
    power.power_on("n1")
    assert [e.closed for e in ledger_entries(power)] == ["restored"]


def test_transient_actions_are_closed_once_done(power):
    power.power_reset("n1")
    power.power_cycle("n1")
    assert [(e.step.action, e.closed) for e in ledger_entries(power)] == [
        ("reset", "completed"), ("reset", "completed")]
    got = [(e.phase, e.action, e.fault_id) for e in events.between(0)]
    reset, cycle = (e.id for e in ledger_entries(power))
    assert got == [("requested", "power reset", reset), ("in effect", "power reset", reset),
                   ("undone", "power reset", reset), ("requested", "power cycle", cycle),
                   ("in effect", "power cycle", cycle), ("undone", "power cycle", cycle)]


def test_soft_off_restored_at_test_end_publishes_its_end(power, server, monkeypatch):

    from ExtremeTesting.monitor.analysis import fault_window

    in_scope(power, "Top.S.T1", "Top.S")
    power.soft_power_off("n1", timeout=timedelta(seconds=10))
    power.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.S.T1"))
    (entry,) = ledger_entries(power)
    got = [(e.phase, e.action, e.fault_id) for e in events.between(0)]
    assert got == [("requested", "soft power off", entry.id),
                   ("in effect", "soft power off", entry.id),
                   ("undone", "soft power off", entry.id)]
    window = fault_window(events.between(0))
    assert window.end == events.between(0)[-1].monotonic > window.start


def test_wrong_password_closes_its_entry_as_failed(power, monkeypatch):
    monkeypatch.setenv(ENV, "not-the-password")
    with pytest.raises(BmcAuthenticationError):
        power.power_off("n1", protocol=BmcProtocol.REDFISH)
    (entry,) = ledger_entries(power)
    assert entry.closed == "failed" and "not-the-password" not in str(entry.record())


def test_node_powered_off_in_a_test_is_powered_on_when_it_ends(power, server, monkeypatch):

    in_scope(power, "Top.S.T1", "Top.S")
    power.power_off("n1", protocol=BmcProtocol.REDFISH)
    power.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.S.T2"))
    assert machine(server)["on"] is False
    power.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.S.T1"))
    assert power.wait_until_power_state_is("n1", PowerState.ON, timeout=timedelta(seconds=5)) \
        is None
    (entry,) = ledger_entries(power)
    assert entry.closed == "undone"
    undone = [e for e in events.between(0) if e.phase == "undone"]
    assert [(e.action, e.target) for e in undone] == [("power off", "n1")]


def test_auto_restore_off_leaves_the_node_off(power, server, monkeypatch):

    in_scope(power, "Top.S.T1", "Top.S")
    power.auto_restore = False
    power.power_off("n1")
    power.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.S.T1"))
    power.ROBOT_LIBRARY_LISTENER.end_suite(None, scope_result("Top"))
    assert machine(server)["on"] is False
    assert ledger_entries(power)[0].open


class FakeLockServer:
    """PabotLib's remote lock keywords: reentrant per caller, counted."""

    def __init__(self):
        self.locks: dict[str, list] = {}
        self.calls: list[str] = []

    def run_keyword(self, name, args, kwargs):
        lock, caller = args
        self.calls.append(name)
        if name == "acquire_lock":
            if lock in self.locks and self.locks[lock][0] != caller:
                return False
            self.locks.setdefault(lock, [caller, 0])[1] += 1
            return True
        self.locks[lock][1] -= 1
        if not self.locks[lock][1]:
            del self.locks[lock]
        return None


def test_under_pabot_power_off_holds_the_cloud_lock_until_the_test_ends(power, monkeypatch):

    from ExtremeTesting.lifecycle.locking import PabotLock

    in_scope(power, "Top.S.T1", "Top.S")
    server = FakeLockServer()
    power.changes.lock = PabotLock("destructive:unit", 1, remote=server, caller_id="worker-1")
    server.locks["destructive:unit"] = ["worker-2", 1]  # another process breaks the cloud
    with pytest.raises(Exception, match="Waited 1 s for pabot lock"):
        power.power_off("n1")
    del server.locks["destructive:unit"]
    power.power_off("n1")
    assert server.locks == {"destructive:unit": ["worker-1", 1]}
    # powers n1 on, then releases
    power.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.S.T1"))
    assert server.locks == {}

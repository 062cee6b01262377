"""The Switch library and its sessions, with netmiko faked at the connection boundary."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import yaml
from netmiko import NetmikoAuthenticationException, NetmikoTimeoutException

from ExtremeTesting import events
from ExtremeTesting.errors import SafetyError, TargetError
from ExtremeTesting.lifecycle.ledger import Ledger, default_ledger_path
from ExtremeTesting.switch import Switch
from ExtremeTesting.switch.commands import COMMANDS, commands_for
from ExtremeTesting.switch.errors import (SwitchAuthenticationError, SwitchError,
                                          SwitchUnreachableError)
from ExtremeTesting.switch.session import SwitchSession, SwitchSpec

PASSWORD = "switch-pw"
ENV = "EXTREME_TEST_SWITCH_PASSWORD"

def in_scope(library, test, suite):
    """As the scope listener leaves it inside ``test`` of ``suite``."""
    library.changes.scope.suites = [suite]
    library.changes.scope.test = test


def scope_result(full_name, status="PASS"):
    """A Robot result as the listener gets it (no parent: a top-level suite)."""

    return SimpleNamespace(full_name=full_name, status=status, message="", parent=None)



class LabSwitch:
    """The lab switch as its CLI answers, behind a fake netmiko connection."""

    def __init__(self):
        self.ports = {"sw-ctl1": "up", "sw-db": "up"}
        self.restart_polls = 0  # status polls left before a restart is over
        self.commands: list[str] = []
        self.connections = 0
        self.disconnects = 0

    def connect(self, **options):
        assert options["password"] == PASSWORD and options["conn_timeout"] > 0
        self.connections += 1
        return FakeConnection(self)


class FakeConnection:
    def __init__(self, switch: LabSwitch):
        self.switch = switch

    def send_command(self, command: str, **_):
        sw = self.switch
        sw.commands.append(command)
        words = command.split()
        if words[:2] == ["switch", "restart"]:
            sw.restart_polls = 2
            for port in sw.ports:
                sw.ports[port] = "down"
            return f"restarting: {len(sw.ports)} ports down; back at 12:00:00 (in {words[-1]} s)"
        if command == "switch status --json":
            if sw.restart_polls:
                sw.restart_polls -= 1
                if not sw.restart_polls:
                    sw.ports = dict.fromkeys(sw.ports, "up")
            up = sum(state == "up" for state in sw.ports.values())
            return json.dumps({"ports": len(sw.ports), "ports_up": up,
                               "restarting": bool(sw.restart_polls), "back_in": 1})
        if command == "switch show ports --json":
            return json.dumps([{"name": n, "admin": s, "oper": s, "peer": n[3:]}
                               for n, s in sorted(sw.ports.items())])
        if words[:2] == ["switch", "port"]:
            if words[2] not in sw.ports:
                return f"switch: no port {words[2]} on br0; ports: {', '.join(sw.ports)}"
            sw.ports[words[2]] = words[3]
            return f"port {words[2]} {words[3]}"
        raise AssertionError(f"unexpected command {command!r}")

    def disconnect(self):
        self.switch.disconnects += 1


def write_target(tmp_path, destructive: bool = True, device_type: str = "linux"):
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump({
        "name": "unit", "destructive": destructive,
        "switches": {"sw1": {"device_type": device_type, "address": "127.0.0.1", "port": 22,
                             "username": "admin", "password_env": ENV}}}))
    return path


@pytest.fixture
def lab_switch():
    return LabSwitch()


@pytest.fixture
def library(tmp_path, monkeypatch, lab_switch):
    monkeypatch.setenv(ENV, PASSWORD)
    published = []
    monkeypatch.setattr("ExtremeTesting.results.publish",
                        lambda kind, data, summary="": published.append((kind, data)))
    events.clear()
    switch = Switch(str(write_target(tmp_path)))
    switch.session_factory = lambda spec, timeout: SwitchSession(spec, lab_switch.connect,
                                                                 timeout)
    switch.published = published
    in_scope(switch, "Top.Suite.T1", "Top.Suite")
    yield switch
    switch.cancel_timers()  # no down-time timer outlives its test


def ledger_of(switch: Switch) -> Ledger:
    return Ledger(default_ledger_path(switch.target.path))


def test_restart_then_wait_until_back(library, lab_switch):
    library.restart_switch("sw1", down_duration=timedelta(seconds=3))
    assert lab_switch.commands == ["switch restart --down-seconds 3"]
    assert set(lab_switch.ports.values()) == {"down"}
    seconds = library.wait_until_switch_is_back("sw1", timeout=timedelta(seconds=5),
                                                poll=timedelta(milliseconds=10))
    # back on the second status poll: after one 10 ms poll, long before the timeout
    assert 0.01 <= seconds < 5 and set(lab_switch.ports.values()) == {"up"}
    assert lab_switch.commands.count("switch status --json") == 2
    assert lab_switch.disconnects == lab_switch.connections  # no session left open
    phases = [(e.phase, e.action, e.target) for e in events.between(0) if e.source == "switch"]
    assert phases == [("requested", "restart", "sw1"), ("in effect", "restart", "sw1"),
                      ("undone", "restart", "sw1")]
    (kind, data), = library.published
    assert kind == "switch.restart" and data["requested_down_s"] == 3
    (entry,) = ledger_of(library).entries()
    assert entry.step.action == "switch restart" and entry.step.args == {"down_seconds": 3}
    assert entry.closed == "completed" and entry.test == "Top.Suite.T1" and entry.undo is None


def test_wait_until_back_times_out_with_what_it_saw(library, lab_switch):
    library.restart_switch("sw1")
    lab_switch.restart_polls = 10**6
    with pytest.raises(SwitchError, match=r"not back within 0.1 s: 0/2 ports up, restart"):
        library.wait_until_switch_is_back("sw1", timeout=timedelta(seconds=0.1),
                                          poll=timedelta(milliseconds=20))


def test_port_down_is_ledgered_and_brought_up_when_the_test_ends(library, lab_switch):
    library.shut_down_switch_port("sw1", "sw-ctl1")
    assert lab_switch.ports["sw-ctl1"] == "down"
    (entry,) = ledger_of(library).open_entries()
    assert entry.undo.action == "switch port up" and entry.undo.args == {"port": "sw-ctl1"}
    library.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.Suite.another test"))
    assert lab_switch.ports["sw-ctl1"] == "down"
    library.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.Suite.T1"))
    assert lab_switch.ports["sw-ctl1"] == "up"
    assert ledger_of(library).open_entries() == []
    assert [e.closed for e in ledger_of(library).entries()] == ["restored"]


def test_bring_up_by_hand_closes_the_fault(library, lab_switch):
    library.shut_down_switch_port("sw1", "sw-db")
    library.bring_up_switch_port("sw1", "sw-db")
    assert lab_switch.ports["sw-db"] == "up"
    assert ledger_of(library).open_entries() == []
    library.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.Suite.T1"))
    assert lab_switch.commands.count("switch port sw-db up") == 1


def test_unknown_port_fails_with_the_switch_message_and_closes_the_fault(library):
    with pytest.raises(SwitchError, match="no port eth7 on br0"):
        library.shut_down_switch_port("sw1", "eth7")
    assert [e.closed for e in ledger_of(library).entries()] == ["failed"]


def test_get_switch_ports(library):
    ports = library.get_switch_ports("sw1")
    assert [p["name"] for p in ports] == ["sw-ctl1", "sw-db"]
    assert ports[0] == {"name": "sw-ctl1", "admin": "up", "oper": "up", "peer": "ctl1"}


def test_destructive_keywords_need_a_destructive_target(tmp_path, monkeypatch, lab_switch):
    monkeypatch.setenv(ENV, PASSWORD)
    switch = Switch(str(write_target(tmp_path, destructive=False)))
    switch.session_factory = lambda spec, timeout: SwitchSession(spec, lab_switch.connect)
    with pytest.raises(SafetyError):
        switch.restart_switch("sw1")
    with pytest.raises(SafetyError):
        switch.shut_down_switch_port("sw1", "sw-ctl1")
    assert lab_switch.commands == []
    assert switch.get_switch_ports("sw1")  # reading is allowed


def test_down_duration_bounds(library, lab_switch):
    with pytest.raises(SwitchError, match="between 1 s and 5 min"):
        library.restart_switch("sw1", down_duration=timedelta(minutes=6))
    assert lab_switch.commands == []


def test_unknown_switch_and_device_type(library, tmp_path):
    with pytest.raises(TargetError, match="Known switches: sw1"):
        library.get_switch_ports("sw9")
    with pytest.raises(SwitchError, match="not supported"):
        commands_for("hp_procurve_9000")


def spec(device_type: str = "linux") -> SwitchSpec:
    return SwitchSpec("sw1", device_type, "127.0.0.1", 22, "admin", ENV)


@pytest.mark.parametrize(("error", "expected"), [
    (NetmikoAuthenticationException("denied"), SwitchAuthenticationError),
    (NetmikoTimeoutException("timed out"), SwitchUnreachableError),
    (ConnectionRefusedError("refused"), SwitchUnreachableError),
])
def test_connection_errors_are_clear(monkeypatch, error, expected):
    monkeypatch.setenv(ENV, PASSWORD)

    def connect(**_):
        raise error

    with pytest.raises(expected, match="switch sw1"):
        SwitchSession(spec(), connect).ports()


def test_password_comes_from_the_environment_only(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(TargetError, match=ENV):
        SwitchSession(spec(), lambda **_: None).ports()


class VendorConnection:
    """A vendor switch: records exec, timing and config commands; reload drops the link."""

    def __init__(self, dialog: dict[str, str]):
        self.dialog = dialog
        self.sent: list[tuple[str, object]] = []

    def send_command_timing(self, text: str, **_):
        self.sent.append(("timing", text))
        if text in self.dialog:
            return self.dialog[text]
        raise OSError("Socket is closed")  # the device went down mid-answer

    def send_config_set(self, lines):
        self.sent.append(("config", list(lines)))
        return "config ok"

    def commit(self):
        self.sent.append(("commit", None))
        return "commit complete"

    def send_command(self, text: str, **_):
        self.sent.append(("exec", text))
        return "Port   Status\nGi1/0/1 connected"

    def disconnect(self):
        pass


@pytest.mark.parametrize(("device_type", "dialog", "answers"), [
    ("cisco_ios", {"reload": "System configuration has been modified. Save? [yes/no]:",
                   "no": "Proceed with reload? [confirm]"}, ["reload", "no", "\n"]),
    ("cisco_nxos", {"reload": "This command will reboot the system. (y/n)?  [n]"},
     ["reload", "y"]),
    ("arista_eos", {"reload now": ""}, ["reload now"]),
    ("juniper_junos", {"request system reboot": "Reboot the system ? [yes,no] (no)"},
     ["request system reboot", "yes"]),
])
def test_vendor_reload_answers_its_dialog(monkeypatch, device_type, dialog, answers):
    monkeypatch.setenv(ENV, PASSWORD)
    conn = VendorConnection(dialog)
    SwitchSession(spec(device_type), lambda **_: conn).restart(10)
    assert [text for kind, text in conn.sent if kind == "timing"] == answers


@pytest.mark.parametrize(("device_type", "down", "commit"), [
    ("cisco_ios", ["interface Gi1/0/1", "shutdown"], False),
    ("cisco_nxos", ["interface Gi1/0/1", "shutdown"], False),
    ("arista_eos", ["interface Gi1/0/1", "shutdown"], False),
    ("juniper_junos", ["set interfaces Gi1/0/1 disable"], True),
])
def test_vendor_port_commands(monkeypatch, device_type, down, commit):
    monkeypatch.setenv(ENV, PASSWORD)
    conn = VendorConnection({})
    session = SwitchSession(spec(device_type), lambda **_: conn)
    session.set_port("Gi1/0/1", up=False)
    assert conn.sent[0] == ("config", down)
    assert (("commit", None) in conn.sent) is commit
    rows = session.ports()
    assert rows == [{"line": "Port   Status"}, {"line": "Gi1/0/1 connected"}]
    assert conn.sent[-1] == ("exec", COMMANDS[device_type].show_ports)


def test_vendor_error_output_is_a_failure(monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)

    class Refusing(VendorConnection):
        def send_config_set(self, lines):
            return "interface Gi9/9\n% Invalid input detected at '^' marker."

    with pytest.raises(SwitchError, match="% Invalid input"):
        SwitchSession(spec("cisco_ios"), lambda **_: Refusing({})).set_port("Gi9/9", False)


def test_vendor_switch_is_back_only_after_it_went_down(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    monkeypatch.setattr("ExtremeTesting.results.publish", lambda *a, **k: None)
    answers = iter(["up", "up", "down", "down", "up"])
    conn = VendorConnection({"reload": "Proceed with reload? [confirm]"})

    def connect(**_):
        if next(answers) == "down":
            raise NetmikoTimeoutException("no route")
        return conn

    switch = Switch(str(write_target(tmp_path, device_type="cisco_ios")))
    switch.session_factory = lambda spec, timeout: SwitchSession(spec, connect, timeout)
    switch.restart_switch("sw1")
    seconds = switch.wait_until_switch_is_back("sw1", timeout=timedelta(seconds=5),
                                               poll=timedelta(milliseconds=10))
    assert seconds > 0
    assert next(answers, "exhausted") == "exhausted"  # it waited through the outage


def test_restart_not_waited_for_is_closed_when_its_test_ends(library):
    library.restart_switch("sw1")
    library.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.Suite.T1"))
    (entry,) = ledger_of(library).entries()
    assert entry.closed == "completed"


def switch_events() -> list[tuple[str, str, str, str]]:
    return [(e.phase, e.action, e.target, e.fault_id) for e in events.between(0)
            if e.source == "switch"]


def test_restart_not_waited_for_ends_on_the_timeline_when_its_down_time_is_over(library):
    from ExtremeTesting.monitor.analysis import fault_window

    library.restart_switch("sw1", down_duration=timedelta(seconds=1))
    started = events.between(0)[-1].monotonic
    library.ROBOT_LIBRARY_LISTENER.end_test(None, scope_result("Top.Suite.T1"))
    assert [p for p, *_ in switch_events()] == ["requested", "in effect"]
    deadline = time.monotonic() + 5
    while len(switch_events()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    (entry,) = ledger_of(library).entries()
    assert switch_events() == [("requested", "restart", "sw1", entry.id),
                               ("in effect", "restart", "sw1", entry.id),
                               ("undone", "restart", "sw1", entry.id)]
    end = events.between(0)[-1]
    assert end.detail == "down time of 1 s over" and end.monotonic - started >= 0.9
    assert fault_window(events.between(0)).end == end.monotonic


def _timers(library) -> list:
    """The down-time timers of the restarts the library still expects to end."""
    with library._ending_lock:
        return [f.timer for f in library._ending if f.timer is not None]


def test_restart_waited_for_ends_once(library):
    library.restart_switch("sw1", down_duration=timedelta(seconds=1))
    (timer,) = _timers(library)
    library.wait_until_switch_is_back("sw1", timeout=timedelta(seconds=5),
                                      poll=timedelta(milliseconds=10))
    # Its down-time timer was cancelled, not left to publish a second end: joined, not slept.
    assert timer.finished.is_set()
    timer.join(5)
    assert not timer.is_alive()
    assert [p for p, *_ in switch_events()] == ["requested", "in effect", "undone"]
    assert events.between(0)[-1].detail.startswith("back after")


def test_a_second_restart_ends_both_when_it_is_over(library):
    library.restart_switch("sw1", down_duration=timedelta(seconds=1))
    (first_timer,) = _timers(library)
    library.restart_switch("sw1", down_duration=timedelta(seconds=60))
    # The second replaced the first: the first's timer is cancelled and, once its thread has
    # ended (joined, no sleep), nothing has ended on the timeline.
    assert first_timer.finished.is_set()
    first_timer.join(5)
    assert not first_timer.is_alive()
    assert "undone" not in [p for p, *_ in switch_events()]
    library.wait_until_switch_is_back("sw1", timeout=timedelta(seconds=5),
                                      poll=timedelta(milliseconds=10))
    first, second = (e.id for e in ledger_of(library).entries())
    assert [(p, f) for p, _, _, f in switch_events() if p == "undone"] == [
        ("undone", first), ("undone", second)]


def test_port_up_ends_the_port_down_fault_on_the_timeline(library):
    library.shut_down_switch_port("sw1", "sw-db")
    library.bring_up_switch_port("sw1", "sw-db")
    (entry,) = ledger_of(library).entries()
    assert switch_events() == [("requested", "port down", "sw-db on sw1", entry.id),
                               ("in effect", "port down", "sw-db on sw1", entry.id),
                               ("undone", "port down", "sw-db on sw1", entry.id)]


def test_recover_brings_up_a_port_a_crashed_run_left_down(library, lab_switch, monkeypatch):
    """The target has switches and no os-faults configuration: recover still finishes."""
    from ExtremeTesting.faults import cli as faults_cli
    from ExtremeTesting.switch import library as switch_library

    library.shut_down_switch_port("sw1", "sw-ctl1")
    library.restart_switch("sw1", down_duration=timedelta(seconds=1))
    lab_switch.restart_polls = 0
    lab_switch.ports = {"sw-ctl1": "down", "sw-db": "up"}
    # The run crashes here. recover runs in another process: its own session factory.
    sessions = []

    def session(spec, timeout):
        sessions.append(spec.name)
        return SwitchSession(spec, lab_switch.connect, timeout)

    monkeypatch.setattr(switch_library, "recover_session", session)
    lines: list[str] = []
    target = str(library.target.path)
    assert faults_cli.recover(target, None, force=True, out=lines.append) == 0, lines
    assert lab_switch.ports["sw-ctl1"] == "up" and sessions == ["sw1"]
    assert lab_switch.commands[-1] == "switch port sw-ctl1 up"
    assert any("switch port down sw1 port=sw-ctl1 -> switch port up sw1 port=sw-ctl1" in line
               for line in lines), lines
    assert ledger_of(library).open_entries() == []
    assert sorted(e.closed for e in ledger_of(library).entries()) == [
        "nothing to undo", "undone"]
    lines.clear()
    assert faults_cli.recover(target, None, force=True, out=lines.append) == 0
    assert lines[0].startswith("Nothing to recover")


def test_recover_reports_a_switch_it_cannot_reach(library, monkeypatch):
    from ExtremeTesting.faults import cli as faults_cli
    from ExtremeTesting.switch import library as switch_library

    library.shut_down_switch_port("sw1", "sw-db")

    def refused(**_):
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(switch_library, "recover_session",
                        lambda spec, timeout: SwitchSession(spec, refused, timeout))
    lines: list[str] = []
    assert faults_cli.recover(str(library.target.path), None, force=True,
                              out=lines.append) == 1
    assert any("switch sw1" in line and "did not answer SSH" in line for line in lines), lines
    assert len(ledger_of(library).open_entries()) == 1

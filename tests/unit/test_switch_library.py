"""The Switch library and its sessions, with netmiko faked at the connection boundary."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import yaml
from netmiko import NetmikoAuthenticationException, NetmikoTimeoutException

from ExtremeTesting import events
from ExtremeTesting.errors import SafetyError, TargetError
from ExtremeTesting.faults.ledger import Ledger, default_ledger_path
from ExtremeTesting.switch import Switch
from ExtremeTesting.switch.commands import COMMANDS, commands_for
from ExtremeTesting.switch.errors import (SwitchAuthenticationError, SwitchError,
                                          SwitchUnreachableError)
from ExtremeTesting.switch.session import SwitchSession, SwitchSpec

PASSWORD = "switch-pw"
ENV = "EXTREME_TEST_SWITCH_PASSWORD"


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
    monkeypatch.setattr(Switch, "_scope", staticmethod(lambda: ("T1", "Top.Suite")))
    return switch


def ledger_of(switch: Switch) -> Ledger:
    return Ledger(default_ledger_path(switch.target.path))


def test_restart_then_wait_until_back(library, lab_switch):
    library.restart_switch("sw1", down_duration=timedelta(seconds=3))
    assert lab_switch.commands == ["switch restart --down-seconds 3"]
    assert set(lab_switch.ports.values()) == {"down"}
    seconds = library.wait_until_switch_is_back("sw1", timeout=timedelta(seconds=5),
                                                poll=timedelta(milliseconds=10))
    assert seconds >= 0 and set(lab_switch.ports.values()) == {"up"}
    assert lab_switch.commands.count("switch status --json") == 2
    assert lab_switch.disconnects == lab_switch.connections  # no session left open
    phases = [(e.phase, e.action, e.target) for e in events.between(0) if e.source == "switch"]
    assert phases == [("requested", "restart", "sw1"), ("in effect", "restart", "sw1"),
                      ("undone", "restart", "sw1")]
    (kind, data), = library.published
    assert kind == "switch.restart" and data["requested_down_s"] == 3
    (entry,) = ledger_of(library).entries()
    assert entry.step.action == "switch restart" and entry.step.args == {"down_seconds": 3}
    assert entry.closed == "completed" and entry.test == "T1" and entry.undo is None


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
    library.end_test(SimpleNamespace(name="another test"), None)
    assert lab_switch.ports["sw-ctl1"] == "down"
    library.end_test(SimpleNamespace(name="T1"), None)
    assert lab_switch.ports["sw-ctl1"] == "up"
    assert ledger_of(library).open_entries() == []
    assert [e.closed for e in ledger_of(library).entries()] == ["restored"]


def test_bring_up_by_hand_closes_the_fault(library, lab_switch):
    library.shut_down_switch_port("sw1", "sw-db")
    library.bring_up_switch_port("sw1", "sw-db")
    assert lab_switch.ports["sw-db"] == "up"
    assert ledger_of(library).open_entries() == []
    library.end_test(SimpleNamespace(name="T1"), None)
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
    library.end_test(SimpleNamespace(name="T1"), None)
    (entry,) = ledger_of(library).entries()
    assert entry.closed == "completed"

"""The lab's BMC: power actions on a machine, and the real process over IPMI and Redfish."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

from ExtremeTesting.lab import bmc

PASSWORD = "lab-bmc-pw-1"


class SlowMachine:
    """A machine whose power_off takes a while, recording every call."""

    def __init__(self, on: bool = True, off_seconds: float = 0.2):
        self.on = on
        self.off_seconds = off_seconds
        self.calls: list[str] = []

    def is_on(self) -> bool:
        return self.on

    def power_off(self) -> None:
        self.calls.append("power_off")
        time.sleep(self.off_seconds)
        self.on = False

    def power_on(self) -> None:
        self.calls.append("power_on")
        self.on = True

    def reset(self) -> None:
        self.calls.append("reset")


def test_request_returns_at_once_and_runs_in_order():
    machine = SlowMachine(off_seconds=0.3)
    actions = bmc.PowerActions(machine, "n1")
    started = time.monotonic()
    actions.request("off")
    actions.request("on")
    assert time.monotonic() - started < 0.1
    assert actions.wait_idle(5)
    assert machine.calls == ["power_off", "power_on"]
    assert machine.is_on()


def test_repeated_request_is_dropped_while_pending():
    machine = SlowMachine(off_seconds=0.3)
    actions = bmc.PowerActions(machine, "n1")
    for _ in range(3):  # a client resending a request it thinks was lost
        actions.request("off")
    assert actions.wait_idle(5)
    assert machine.calls == ["power_off"]


def test_off_when_off_and_on_when_on_do_nothing():
    machine = SlowMachine(on=False)
    actions = bmc.PowerActions(machine, "n1")
    actions.request("off")
    assert actions.wait_idle(5)
    assert machine.calls == []
    actions.request("on")
    actions.request("on")
    assert actions.wait_idle(5)
    assert machine.calls == ["power_on"]


def test_reset_of_off_machine_powers_it_on_and_cycle_turns_off_then_on():
    machine = SlowMachine(on=False, off_seconds=0)
    actions = bmc.PowerActions(machine, "n1")
    actions.request("reset")
    assert actions.wait_idle(5)
    assert machine.calls == ["power_on"]
    actions.request("cycle")
    assert actions.wait_idle(5)
    assert machine.calls == ["power_on", "power_off", "power_on"]


def test_soft_off_uses_the_machines_orderly_shutdown_when_it_has_one():
    machine = SlowMachine()
    machine.soft_power_off = lambda: machine.calls.append("soft_power_off")
    actions = bmc.PowerActions(machine, "n1")
    actions.request("soft off")
    assert actions.wait_idle(5)
    assert machine.calls == ["soft_power_off"]
    plain = SlowMachine(off_seconds=0)
    actions = bmc.PowerActions(plain, "n2")
    actions.request("soft off")
    assert actions.wait_idle(5)
    assert plain.calls == ["power_off"]


def test_lab_machine_has_the_interface_the_bmc_drives():
    from ExtremeTesting.lab.machine import Machine

    for method in ("is_on", "power_off", "power_on", "reset", "soft_power_off"):
        assert callable(getattr(Machine, method)), method


def test_unknown_action_is_refused():
    with pytest.raises(ValueError, match="Unknown power action"):
        bmc.PowerActions(SlowMachine(), "n1").request("explode")


def test_failing_machine_does_not_stop_the_worker():
    machine = SlowMachine()

    def broken() -> None:
        raise RuntimeError("stuck")

    machine.power_off = broken
    actions = bmc.PowerActions(machine, "n1")
    actions.request("off")
    actions.request("reset")
    assert actions.wait_idle(5)
    assert machine.calls == ["reset"]


def test_fake_machine_keeps_state_in_its_file(tmp_path):
    machine = bmc.FakeMachine(tmp_path / "m.json")
    assert machine.is_on()
    machine.power_off()
    assert not bmc.FakeMachine(tmp_path / "m.json").is_on()
    assert json.loads((tmp_path / "m.json").read_text())["calls"] == ["power_off"]


def test_htpasswd_is_bcrypt_and_private(tmp_path):
    import bcrypt

    path = bmc.write_htpasswd(tmp_path / "htpasswd", "admin", PASSWORD)
    user, digest = path.read_text().strip().split(":", 1)
    assert user == "admin" and digest.startswith("$2")
    assert bcrypt.checkpw(PASSWORD.encode(), digest.encode())
    assert path.stat().st_mode & 0o077 == 0


def test_missing_password_refuses_to_start(monkeypatch, capsys):
    monkeypatch.delenv(bmc.PASSWORD_ENV, raising=False)
    assert bmc.main(["--node", "n1", "--address", "127.0.0.1"]) == 2
    assert bmc.PASSWORD_ENV in capsys.readouterr().err


# --- the real process --------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("bmc")
    machine_file = state / "machine.json"
    process, ipmi_port, redfish_port = bmc.spawn(
        "n1", PASSWORD, state / "state", fake_machine=machine_file, exit_after=120)
    yield {"ipmi": ipmi_port, "redfish": redfish_port, "machine": machine_file,
           "state": state / "state"}
    process.terminate()
    process.wait(10)


def _machine(server) -> dict:
    return json.loads(server["machine"].read_text())


def _wait(predicate, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_password_is_not_on_the_command_line(server):
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, timeout=10)
    lines = [line for line in out.stdout.splitlines() if "ExtremeTesting.lab.bmc" in line]
    assert lines and not any(PASSWORD in line for line in lines)


def test_pyghmi_client_gets_a_sha1_session_and_drives_power(server):
    from pyghmi.ipmi import command

    def connect():
        return command.Command(bmc="127.0.0.1", port=server["ipmi"], userid=b"admin",
                               password=PASSWORD.encode(), keepalive=False)

    cmd = connect()
    # The client proposed SHA-256 first; the server refused it, so SHA-1 was agreed.
    assert cmd.ipmi_session.currhashlib.__name__.endswith("sha1")
    cmd.set_power("off", wait=False)
    assert _wait(lambda: not _machine(server)["on"])
    assert connect().get_power() == {"powerstate": "off"}  # a second Command() works
    connect().set_power("on", wait=False)
    assert _wait(lambda: _machine(server)["on"])


@pytest.mark.skipif(not shutil.which("ipmitool"), reason="ipmitool is not installed")
def test_ipmitool_drives_power(server):
    base = ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(server["ipmi"]),
            "-U", "admin", "-E"]
    env = {"IPMI_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> str:
        return subprocess.run(base + list(args), capture_output=True, text=True, env=env,
                              timeout=20, check=True).stdout

    run("power", "off")
    assert _wait(lambda: "off" in run("power", "status"))
    assert not _machine(server)["on"]
    run("power", "on")
    assert _wait(lambda: "is on" in run("power", "status"))
    run("chassis", "bootdev", "pxe")
    assert "PXE" in run("chassis", "bootparam", "get", "5")


def test_redfish_power_over_https_with_basic_auth(server):
    import requests

    url = f"https://127.0.0.1:{server['redfish']}/redfish/v1/Systems"
    auth = ("admin", PASSWORD)
    assert requests.get(url, verify=False, timeout=5).status_code == 401
    members = requests.get(url, auth=auth, verify=False, timeout=5).json()["Members"]
    assert members[0]["@odata.id"].endswith(bmc.system_uuid("n1"))
    system = f"https://127.0.0.1:{server['redfish']}{members[0]['@odata.id']}"
    reset = f"{system}/Actions/ComputerSystem.Reset"
    answer = requests.post(reset, json={"ResetType": "ForceOff"}, auth=auth, verify=False,
                           timeout=5)
    assert answer.status_code == 204
    assert _wait(lambda: not _machine(server)["on"])
    state = requests.get(system, auth=auth, verify=False, timeout=5).json()["PowerState"]
    assert state == "Off"
    requests.post(reset, json={"ResetType": "On"}, auth=auth, verify=False, timeout=5)
    assert _wait(lambda: _machine(server)["on"])
    assert (server["state"] / "htpasswd").exists()


def test_power_state_is_the_machines_own(server):
    """Power changed behind the BMC's back is what both protocols report."""
    from pyghmi.ipmi import command

    data = _machine(server)
    data["on"] = False
    server["machine"].write_text(json.dumps(data))
    cmd = command.Command(bmc="127.0.0.1", port=server["ipmi"], userid=b"admin",
                          password=PASSWORD.encode(), keepalive=False)
    assert cmd.get_power() == {"powerstate": "off"}
    data["on"] = True
    server["machine"].write_text(json.dumps(data))
    assert cmd.get_power() == {"powerstate": "on"}


def test_parallel_clients_are_served(server):
    import requests

    url = f"https://127.0.0.1:{server['redfish']}/redfish/v1/Systems"
    codes: list[int] = []

    def get() -> None:
        codes.append(requests.get(url, auth=("admin", PASSWORD), verify=False,
                                  timeout=5).status_code)

    threads = [threading.Thread(target=get) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert codes == [200] * 5


def test_bmc_process_leaves_openstacksdk_out_and_keeps_the_fake_driver():
    """sushy-tools' nova and ironic drivers (the only users of openstacksdk) stay unloaded
    in a BMC's process; the fake driver the BMC uses is there."""
    code = ("import sys; from ExtremeTesting.lab import bmc; bmc.skip_unused_drivers(); "
            "from sushy_tools.emulator import main; "
            "from sushy_tools.emulator.resources.systems import fakedriver, novadriver; "
            "print(sys.modules.get('openstack') is None, novadriver.is_loaded, "
            "fakedriver.FakeDriver.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["True", "False", "FakeDriver"]

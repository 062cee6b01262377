"""One BMC process serving several nodes, each on its own loopback address (as the lab's
base nodes share one): the argument pairs, each node's own Redfish system, IPMI sessions,
power state, credentials, log and power worker, and a node that cannot be served.
The real process runs on 127.0.0.x with free ports and FakeMachines."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ExtremeTesting.lab import bmc

PASSWORD = "lab-bmc-nodes-pw-1"
# Three nodes on three addresses, the same ports on each (as the lab's 623 and 8000).
NODES = {"n1": "127.0.0.41", "n2": "127.0.0.42", "n3": "127.0.0.43"}


# --- arguments ---------------------------------------------------------------------------

def test_several_node_address_pairs_keep_their_order():
    args = bmc.parse_args(["--node", "a", "--address", "127.0.0.2", "--node", "b",
                           "--address", "127.0.0.3", "--state-dir", "/tmp/a",
                           "--state-dir", "/tmp/b", "--ipmi-port", "1623"])
    specs = bmc.node_specs(args)
    assert [(s.node, s.address, str(s.state_dir), s.fake_machine) for s in specs] == [
        ("a", "127.0.0.2", "/tmp/a", None), ("b", "127.0.0.3", "/tmp/b", None)]
    assert args.ipmi_port == 1623 and args.redfish_port == 8000


def test_one_node_still_parses_as_before():
    specs = bmc.node_specs(bmc.parse_args(["--node", "ctl1", "--address", "127.0.10.11",
                                           "--state-dir", "/x"]))
    assert specs == [bmc.NodeSpec("ctl1", "127.0.10.11", Path("/x"))]


@pytest.mark.parametrize("argv, said", [
    (["--node", "a", "--node", "b", "--address", "127.0.0.2"],
     "2 --node but 1 --address: give one --address per --node, in the same order"),
    (["--node", "a", "--address", "127.0.0.2", "--node", "b", "--address", "127.0.0.3",
      "--state-dir", "/tmp/a"],
     "2 --node but 1 --state-dir: give one --state-dir per --node, in the same order, "
     "or none"),
    (["--node", "a", "--address", "127.0.0.2", "--fake-machine", "m1", "--fake-machine",
      "m2"], "1 --node but 2 --fake-machine: give one --fake-machine per --node"),
    (["--node", "a", "--address", "127.0.0.2", "--node", "a", "--address", "127.0.0.3"],
     "--node a given more than once: each node once"),
    (["--node", "a", "--address", "127.0.0.2", "--node", "b", "--address", "127.0.0.2"],
     "--address 127.0.0.2 given more than once: each node once, each on its own address"),
])
def test_mismatched_options_fail_naming_the_fix(argv, said, capsys):
    with pytest.raises(SystemExit) as exited:
        bmc.parse_args(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


def test_node_port_tells_addresses_apart_and_is_the_plain_port_to_others():
    one, other = bmc._NodePort(623, "127.0.0.2"), bmc._NodePort(623, "127.0.0.3")
    assert one != other and one == bmc._NodePort(623, "127.0.0.2")
    assert one == 623 and not one != 623 and one != 624
    assert len({one: 1, other: 2}) == 2 and {one: 1}[bmc._NodePort(623, "127.0.0.2")] == 1


# --- the real process --------------------------------------------------------------------

def _machine(path) -> dict:
    return json.loads(path.read_text())


def _wait(predicate, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("bmcs")
    machines = {node: root / f"{node}.json" for node in NODES}
    for attempt in range(3):  # a free port on 127.0.0.1 is almost always free on .41-.43
        try:
            process, ipmi_port, redfish_port = bmc.spawn_nodes(
                NODES, PASSWORD, {node: root / node for node in NODES},
                fake_machines=machines, exit_after=150)
            break
        except RuntimeError:
            if attempt == 2:
                raise
    yield {"process": process, "ipmi": ipmi_port, "redfish": redfish_port,
           "machines": machines, "root": root}
    process.terminate()
    process.wait(10)


@pytest.fixture
def all_on(server):
    for path in server["machines"].values():
        path.write_text(json.dumps({"on": True, "calls": []}))
    return server


def _system(server, node: str) -> str:
    return f"https://{NODES[node]}:{server['redfish']}/redfish/v1/Systems/{bmc.system_uuid(node)}"


def _redfish(server, method: str, url: str, **kwargs) -> requests.Response:
    return requests.request(method, url, auth=("admin", PASSWORD), verify=False, timeout=10,
                            **kwargs)


def _ipmi(server, node: str, password: str = PASSWORD):
    from pyghmi.ipmi import command

    return command.Command(bmc=NODES[node], port=server["ipmi"], userid=b"admin",
                           password=password.encode(), keepalive=False)


def test_one_process_serves_every_node(server):
    pid = server["process"].pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert all(f"--node {node} --address {address}" in cmdline
               for node, address in NODES.items())
    assert PASSWORD not in cmdline
    for node, address in NODES.items():  # each node's sockets belong to that one process
        with socket.create_connection((address, server["redfish"]), timeout=5):
            pass
    listening = subprocess.run(["ss", "-Hlnup"], capture_output=True, text=True,
                               timeout=10).stdout
    served = [line for line in listening.splitlines() if f":{server['ipmi']} " in line]
    assert len(served) == len(NODES) and all(f"pid={pid}," in line for line in served)


def test_each_node_answers_redfish_with_its_own_system(all_on):
    for node, address in NODES.items():
        root = f"https://{address}:{all_on['redfish']}/redfish/v1/Systems"
        members = _redfish(all_on, "GET", root).json()["Members"]
        assert [m["@odata.id"] for m in members] == [
            f"/redfish/v1/Systems/{bmc.system_uuid(node)}"]
        system = _redfish(all_on, "GET", _system(all_on, node)).json()
        assert (system["Name"], system["PowerState"]) == (node, "On")


def test_powering_one_node_off_over_redfish_leaves_the_others_on(all_on):
    answer = _redfish(all_on, "POST", f"{_system(all_on, 'n2')}/Actions/ComputerSystem.Reset",
                      json={"ResetType": "ForceOff"})
    assert answer.status_code == 204
    assert _wait(lambda: not _machine(all_on["machines"]["n2"])["on"])
    states = {node: _redfish(all_on, "GET", _system(all_on, node)).json()["PowerState"]
              for node in NODES}
    assert states == {"n1": "On", "n2": "Off", "n3": "On"}
    assert [_machine(all_on["machines"][n])["calls"] for n in NODES] == [[], ["power_off"], []]
    assert _ipmi(all_on, "n2").get_power() == {"powerstate": "off"}
    assert _ipmi(all_on, "n1").get_power() == {"powerstate": "on"}


def test_wrong_credentials_are_refused_on_every_node(all_on):
    from pyghmi.exceptions import IpmiException

    for node, address in NODES.items():
        url = _system(all_on, node)
        assert requests.get(url, verify=False, timeout=10).status_code == 401
        assert requests.get(url, auth=("admin", "wrong"), verify=False,
                            timeout=10).status_code == 401
        with pytest.raises(IpmiException, match="password"):
            _ipmi(all_on, node, password="wrong")
    assert all(_machine(p)["on"] for p in all_on["machines"].values())


# A pyghmi client of its own (a fresh process: one client socket for every session).
IPMI_CLIENT = """
import json, os, sys, time
from pyghmi.ipmi import command
nodes, port = json.loads(sys.argv[1]), int(sys.argv[2])
# The last node first: its socket was added after the server's IO thread started.
sessions = {n: command.Command(bmc=a, port=port, userid=b"admin", keepalive=False,
                               password=os.environ["PW"].encode())
            for n, a in reversed(list(nodes.items()))}
seen = [len({id(s.ipmi_session.socket) for s in sessions.values()})]

def states():
    return {n: sessions[n].get_power()["powerstate"] for n in nodes}

def until(wanted):
    deadline = time.monotonic() + 5
    while states() != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return [states(), states()]  # interleaved, on the open sessions

sessions["n1"].set_power("off", wait=False)
seen += until({"n1": "off", "n2": "on", "n3": "on"})
sessions["n3"].set_power("off", wait=False)
sessions["n1"].set_power("on", wait=False)
seen += until({"n1": "on", "n2": "on", "n3": "off"})
# A new session to n1 from the same socket must not cost n2 its open one.
sessions["n1"].ipmi_session.logout()
fresh = command.Command(bmc=nodes["n1"], port=port, userid=b"admin", keepalive=False,
                        password=os.environ["PW"].encode())
started = time.monotonic()
seen += [fresh.ipmi_session is not sessions["n1"].ipmi_session,
         sessions["n2"].get_power()["powerstate"], time.monotonic() - started]
print(json.dumps(seen))
"""


def test_one_client_socket_keeps_each_nodes_ipmi_session_apart(all_on):
    """pyghmi's client talks to every BMC from one socket: the process must still answer
    each session as its own node (it files them under address and port)."""
    done = subprocess.run([sys.executable, "-c", IPMI_CLIENT, json.dumps(NODES),
                           str(all_on["ipmi"])], capture_output=True, text=True, timeout=60,
                          env={**bmc.os.environ, "PW": PASSWORD})
    assert done.returncode == 0, done.stderr[-2000:]
    sockets, *seen, new_session, n2_state, n2_seconds = json.loads(done.stdout)
    assert sockets == 1
    assert seen == [{"n1": "off", "n2": "on", "n3": "on"}] * 2 + [
        {"n1": "on", "n2": "on", "n3": "off"}] * 2
    # pyghmi alone dropped n2's session there: its client got it back after about 19 s.
    assert new_session and n2_state == "on" and n2_seconds < 3
    assert [_machine(all_on["machines"][n])["calls"] for n in NODES] == [
        ["power_off", "power_on"], [], ["power_off"]]


def test_a_slow_power_off_of_one_node_does_not_hold_another(all_on):
    """Each node has its own power worker: n1 shutting down for 3 s does not delay n2's
    power-off, nor either BMC's answers."""
    slow = all_on["machines"]["n1"]
    slow.write_text(json.dumps({"on": True, "calls": [], "off_seconds": 3}))
    url = f"{_system(all_on, 'n1')}/Actions/ComputerSystem.Reset"
    assert _redfish(all_on, "POST", url, json={"ResetType": "ForceOff"}).status_code == 204
    started = time.monotonic()
    _ipmi(all_on, "n2").set_power("off", wait=False)
    assert _wait(lambda: not _machine(all_on["machines"]["n2"])["on"], 1)
    assert _ipmi(all_on, "n1").get_power() == {"powerstate": "on"}  # still shutting down
    assert time.monotonic() - started < 1.0
    assert _wait(lambda: not _machine(slow)["on"], 10)


def test_each_nodes_log_holds_its_own_lines(all_on):
    url = f"{_system(all_on, 'n3')}/Actions/ComputerSystem.Reset"
    assert _redfish(all_on, "POST", url, json={"ResetType": "ForceOff"}).status_code == 204
    assert _wait(lambda: not _machine(all_on["machines"]["n3"])["on"])
    logs = {node: all_on["root"] / node / "bmc.log" for node in NODES}
    assert _wait(lambda: "n3: power off" in logs["n3"].read_text())
    for node, path in logs.items():
        text = path.read_text()
        assert f"bmc[{node}] INFO serving IPMI on {NODES[node]}:{all_on['ipmi']}/udp" in text
        others = [n for n in NODES if n != node]
        assert not any(f"bmc[{n}]" in text or f"{n}: power" in text for n in others)
        assert PASSWORD not in text


def test_the_last_nodes_ipmi_answers_before_any_other_was_asked(tmp_path):
    """pyghmi's IO thread starts with the first node's socket: the others are served
    from the start too, not only once the first node has had a packet."""
    from pyghmi.ipmi import command

    nodes = {"first": "127.0.0.46", "last": "127.0.0.47"}
    process, ipmi_port, _ = bmc.spawn_nodes(
        nodes, PASSWORD, {node: tmp_path / node for node in nodes},
        fake_machines={node: tmp_path / f"{node}.json" for node in nodes}, exit_after=60)
    try:
        started = time.monotonic()
        cmd = command.Command(bmc=nodes["last"], port=ipmi_port, userid=b"admin",
                              password=PASSWORD.encode(), keepalive=False)
        assert cmd.get_power() == {"powerstate": "on"}
        assert time.monotonic() - started < 2
    finally:
        process.terminate()
        process.wait(10)


# --- a node that cannot be served ---------------------------------------------------------

@pytest.mark.parametrize("kind, protocol", [(socket.SOCK_DGRAM, "IPMI"),
                                            (socket.SOCK_STREAM, "Redfish")])
def test_a_node_that_cannot_bind_fails_in_one_line_naming_it(tmp_path, kind, protocol):
    ipmi_port, redfish_port = bmc.free_port(socket.SOCK_DGRAM), bmc.free_port(socket.SOCK_STREAM)
    with socket.socket(socket.AF_INET, kind) as held:
        held.bind(("127.0.0.52", ipmi_port if kind == socket.SOCK_DGRAM else redfish_port))
        if kind == socket.SOCK_STREAM:
            held.listen()
        argv = [sys.executable, "-m", "ExtremeTesting.lab.bmc", "--ipmi-port", str(ipmi_port),
                "--redfish-port", str(redfish_port), "--exit-after", "30"]
        for node, address in (("ok1", "127.0.0.51"), ("bad2", "127.0.0.52")):
            argv += ["--node", node, "--address", address,
                     "--state-dir", str(tmp_path / node),
                     "--fake-machine", str(tmp_path / f"{node}.json")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env={**bmc.os.environ, bmc.PASSWORD_ENV: PASSWORD})
    assert done.returncode == 1 and "ready" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    port = ipmi_port if protocol == "IPMI" else redfish_port
    assert last.startswith(f"bmc: bad2: cannot serve {protocol} on 127.0.0.52:{port}")
    assert "in use" in last and "give bad2 another address" in last

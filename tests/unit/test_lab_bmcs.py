"""The lab's BMC processes without a lab: the base nodes share one process (its command
line, lab.json's node -> PID mapping), `up` waits for it to serve every node and fails
naming a node it cannot serve, `down` stops each BMC process once and only while its PID
is still a BMC. Processes here are fakes, or harmless ones of the test's own."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from ExtremeTesting.lab import lab
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.lab.shell import LabError

VALUES = {"bmc": "B-pw-secret"}


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    return tmp_path


class FakePopen:
    """Records how the BMC process was started; says 'ready' for each node it serves."""

    started: list[FakePopen] = []

    def __init__(self, argv, env, stdout, **kwargs):
        self.argv, self.env, self.log, self.kwargs = argv, env, stdout.name, kwargs
        self.pid = 5000 + len(self.started)
        self.returncode = None
        self.killed = False
        self.started.append(self)

    def poll(self):
        return self.returncode

    def kill(self):
        self.killed = True
        self.returncode = -9

    def wait(self, timeout=None):
        return self.returncode

    def nodes(self) -> list[tuple[str, str, str]]:
        argv = self.argv
        return [(argv[i + 1], argv[i + 3], argv[i + 5]) for i, arg in enumerate(argv)
                if arg == "--node"]


@pytest.fixture
def popen(monkeypatch):
    FakePopen.started = []
    monkeypatch.setattr(lab.subprocess, "Popen", FakePopen)
    return FakePopen.started


def _say_ready(log, nodes) -> None:
    with open(log, "a") as handle:
        for node in nodes:
            handle.write(f"ready node={node.name} ipmi={node.bmc_address}:623 "
                         f"redfish=https://{node.bmc_address}:8000\n")


def test_the_base_nodes_share_one_bmc_process(lab_dir, popen, monkeypatch):
    monkeypatch.setattr(lab, "_wait_bmcs", lambda proc, nodes, log, timeout: _say_ready(
        log, nodes))
    pids = lab.start_bmcs(VALUES)
    assert len(popen) == 1
    proc = popen[0]
    assert pids == {node.name: proc.pid for node in topo.NODES}
    assert proc.nodes() == [(n.name, n.bmc_address, str(lab_dir / "bmc" / n.name))
                            for n in topo.NODES]
    argv = proc.argv
    assert argv[1:3] == ["-m", "ExtremeTesting.lab.bmc"]
    assert argv[argv.index("--ipmi-port") + 1] == "623"
    assert argv[argv.index("--redfish-port") + 1] == "8000"
    assert argv[argv.index("--username") + 1] == "admin"
    assert VALUES["bmc"] not in " ".join(argv)
    assert proc.env["EXTREME_LAB_BMC_PASSWORD"] == VALUES["bmc"]
    assert proc.log == str(lab_dir / "bmc" / "bmc.log")
    assert proc.kwargs["start_new_session"] and not proc.killed
    assert all((lab_dir / "bmc" / n.name).is_dir() for n in topo.NODES)


def test_an_added_node_gets_a_bmc_process_of_its_own(lab_dir, popen):
    node = topo.node("cmp2")
    pid = lab.start_bmc(node, VALUES)
    assert [p.pid for p in popen] == [pid]
    assert popen[0].nodes() == [("cmp2", node.bmc_address, str(lab_dir / "bmc" / "cmp2"))]
    assert popen[0].log == str(lab_dir / "bmc" / "cmp2" / "bmc.log")


def test_a_bmc_that_cannot_serve_a_node_fails_up_in_one_line_naming_it(lab_dir, popen,
                                                                        monkeypatch):
    def exits(proc, nodes, log, timeout):
        _say_ready(log, nodes[:1])
        with log.open("a") as handle:
            handle.write("2026-12-07 03:00:00 bmc[ctl1] INFO serving IPMI\n"
                         "bmc: ctl2: cannot serve IPMI on 127.0.10.12:623/udp ([Errno 98] "
                         "Address already in use); stop what holds it or give ctl2 "
                         "another address\n")
        proc.returncode = 1
        real_wait(proc, nodes, log, timeout)

    real_wait = lab._wait_bmcs
    monkeypatch.setattr(lab, "_wait_bmcs", exits)
    with pytest.raises(LabError) as failed:
        lab.start_bmcs(VALUES)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("the BMCs exited (1): bmc: ctl2: cannot serve IPMI on "
                              "127.0.10.12:623/udp")
    assert str(lab_dir / "bmc" / "bmc.log") in message


def test_a_bmc_still_starting_after_the_timeout_is_ended_and_named(lab_dir, popen,
                                                                   monkeypatch):
    real_wait = lab._wait_bmcs

    def slow(proc, nodes, log, timeout):
        _say_ready(log, nodes[:2])
        real_wait(proc, nodes, log, 0.3)

    monkeypatch.setattr(lab, "_wait_bmcs", slow)
    started = time.monotonic()
    with pytest.raises(LabError, match=rf"^the BMC of {topo.NODES[2].name} was not serving "
                                       rf"on {topo.NODES[2].bmc_address} within 0 s"):
        lab.start_bmcs(VALUES)
    assert time.monotonic() - started < 3
    assert popen[0].killed


def test_ready_lines_of_every_node_end_the_wait(tmp_path):
    nodes = [SimpleNamespace(name=f"n{i}", bmc_address=f"127.0.0.{i}") for i in (1, 2)]
    log = tmp_path / "bmc.log"
    proc = SimpleNamespace(poll=lambda: None, returncode=None)
    _say_ready(log, nodes)
    started = time.monotonic()
    lab._wait_bmcs(proc, nodes, log, 5)
    assert time.monotonic() - started < 1


def test_bmc_pids_count_each_process_once():
    state = {"bmcs": {"ctl1": 11, "ctl2": 11, "db": "11", "cmp2": 42, "ctl3": None}}
    assert lab.bmc_pids(state) == [11, 42]
    assert lab.bmc_pids({}) == []


def test_down_stops_the_shared_and_the_added_bmc_once_each(lab_dir, monkeypatch):
    lab.write_state(phase="up", added={"cmp2": {"role": "compute", "phase": "up"}},
                    bmcs={**{n.name: 11 for n in topo.NODES}, "cmp2": 42})
    stopped = []

    class Off:
        def __init__(self, name):
            self.init_pid = None

        def power_off(self):
            pass

    monkeypatch.setattr(lab, "Machine", Off)
    monkeypatch.setattr(lab, "stop_bmc", stopped.append)
    monkeypatch.setattr(lab, "ip", lambda *args, check=True: SimpleNamespace(
        returncode=1, stdout=""))
    monkeypatch.setattr(lab, "remove_guests", lambda: [])
    lab.down(quiet=True)
    assert stopped == [11, 42]


def test_stop_bmc_ends_only_a_process_that_is_still_a_bmc():
    bmc_like = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                 "ExtremeTesting.lab.bmc"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lab.stop_bmc(other.pid)  # a PID reused by something else since lab.json was written
        lab.stop_bmc(bmc_like.pid)
        assert bmc_like.wait(10) == -9
        time.sleep(0.2)
        assert other.poll() is None
        lab.stop_bmc(None)  # a node without a BMC: nothing to do
    finally:
        other.kill()
        other.wait(10)
        bmc_like.kill()
        bmc_like.wait(10)

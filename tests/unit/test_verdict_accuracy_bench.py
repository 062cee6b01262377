"""bench/verdict_accuracy.py without a lab: its plants are recorded before they are made
and undone exactly, by the ledger, also after a killed run; HAProxy's re-sending config;
the resend row agrees only when HAProxy did re-send (the hold itself, its shell lines and
the planted HAProxy: test_resend_hold.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ExtremeTesting.changes import ini
from ExtremeTesting.lab import config as lab_config

BENCH = Path(__file__).resolve().parents[2] / "bench" / "verdict_accuracy.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("verdict_accuracy", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["verdict_accuracy"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_bench()


@pytest.fixture
def lab(bench, tmp_path):
    class FakeLab(bench.Lab):
        """The bench's Lab (its ledger and file keeping) over dicts instead of SSH."""

        def __init__(self):
            self.files = {("ctl1", bench.KEYSTONE_CONF): (
                b"[DEFAULT]\ndebug = false\n\n[fernet_tokens]\n"
                b"key_repository = /etc/keystone/fernet-keys\n")}  # as the lab writes it
            self.commands, self.admin = [], []
            self.hold_counts = json.dumps({"held": 40, "resent": 40, "created_by_held": 20,
                                           "released_at_cap": 0, "errors": 0})
            self.ledger = tmp_path / "verdict-accuracy.ledger.json"
            lab = self

            class Nodes:
                def read_file(self, node, path):
                    return lab.files.get((node, path))

                def write_file(self, node, path, data):
                    lab.files[(node, path)] = data

                def run(self, node, command, check=True, stdin=b"", timeout=None):
                    lab.commands.append((node, command))
                    if command.startswith("rm -f "):
                        lab.files.pop((node, command[6:]), None)
                    if "--listen" in command:  # the hold's start: what the ledger held
                        lab.ledger_at_start = lab.entries()
                    if "kill -TERM" in command:  # the hold's stop: its last counts
                        return SimpleNamespace(rc=0, out=lab.hold_counts + "\n--- log\n",
                                               err="")
                    return SimpleNamespace(rc=0, out="", err="")

            class Balancer:
                spec = SimpleNamespace(node="lb", backend=lambda service: service)

                def command(self, text):
                    lab.admin.append(text)
                    return ""

                def servers(self):
                    text = lab.files.get(("lb", bench.HAPROXY_CFG), b"").decode()
                    return [SimpleNamespace(backend=bench.RESEND_BACKEND, name=name,
                                            in_rotation=True)
                            for name, _ in bench.servers_of(text, bench.RESEND_BACKEND)]

            self.nodes, self.lb = Nodes(), Balancer()

        def node_of(self, service, index):
            return ["ctl1", "ctl2"][index]

        def restart(self, node, service):
            self.commands.append((node, f"restart {service}"))

    return FakeLab()


def test_a_config_plant_is_in_the_ledger_before_and_undone_exactly(bench, lab):
    original = lab.files[("ctl1", bench.KEYSTONE_CONF)]
    bench.plant(lab, "not-back", 0.15)
    assert stat.S_IMODE(lab.ledger.stat().st_mode) == 0o600
    assert lab.entries() == {"not-back": {
        "node": "ctl1", "path": bench.KEYSTONE_CONF, "section": "DEFAULT",
        "option": "debug", "original": "false"}}  # the option's value, never the file
    changed = lab.files[("ctl1", bench.KEYSTONE_CONF)].decode()
    assert ini.get_option(changed, "DEFAULT", "debug") == "not-a-boolean"
    bench.undo_plant(lab, "not-back")
    assert lab.files[("ctl1", bench.KEYSTONE_CONF)] == original
    assert lab.commands[-1] == ("ctl1", "restart keystone")
    assert not lab.ledger.exists()
    bench.undo_plant(lab, "not-back")  # nothing left: nothing done
    assert len(lab.commands) == 1


def test_the_rollout_plant_gives_the_node_a_policy_of_its_own_and_takes_it_back(bench, lab):
    original = lab.files[("ctl1", bench.KEYSTONE_CONF)]
    bench.plant(lab, "rollout", 0.15)
    changed = lab.files[("ctl1", bench.KEYSTONE_CONF)].decode()
    assert ini.get_option(changed, "oslo_policy", "policy_file") == bench.OWN_POLICY
    assert yaml.safe_load(lab.files[("ctl1", bench.OWN_POLICY)]) == {
        "identity:validate_token": "!", "identity:get_auth_projects": "!"}
    assert lab.entries()["rollout"]["original"] is None
    bench.undo_all(lab)
    restored = lab.files[("ctl1", bench.KEYSTONE_CONF)].decode()
    assert ini.get_option(restored, "oslo_policy", "policy_file") is None
    assert restored.startswith(original.decode())  # (an empty [oslo_policy] stays)
    assert lab.commands[-2:] == [("ctl1", "restart keystone"),
                                 ("ctl1", f"rm -rf {bench.OWN_POLICY}")]


def test_a_killed_runs_plants_are_undone_at_the_next_start(bench, lab):
    bench.plant(lab, "policy", 0.15)  # ctl2 had no policy file
    bench.plant(lab, "black-hole", 0.15)
    assert yaml.safe_load(lab.files[("ctl2", bench.NEUTRON_POLICY)]) == {"create_network": ""}
    assert lab.admin == ["disable health keystone/ctl1"]
    # the bench was killed (SIGKILL): its ledger holds both; the next start undoes them
    assert sorted(bench.undo_all(lab)) == ["black-hole", "policy"]
    assert ("ctl2", bench.NEUTRON_POLICY) not in lab.files
    assert lab.admin[-1] == "enable health keystone/ctl1"
    assert not lab.ledger.exists()


def sections(text):
    found, name = {}, ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            name = line.strip()
            found[name] = []
        elif line.strip() and name:
            found[name].append(line.strip())
    return found


def test_the_resend_plant_sends_neutron_writes_only_through_the_hold_and_re_sends_them():
    module = load_bench()
    text = lab_config.haproxy_cfg("/run/haproxy.sock")
    servers = module.servers_of(text, "neutron-server")
    assert [name for name, _ in servers] == ["ctl1", "ctl2"]
    assert all(address.endswith(":9696") for _, address in servers)
    holds = {"ctl1": "127.0.0.1:19696", "ctl2": "127.0.0.1:19697"}
    changed = sections(module.resending(text, "neutron-server", 1.0, holds))
    before = sections(text)
    frontend = changed["frontend neutron-server"]
    assert not any("disable-l7-retry" in line for line in frontend)
    assert frontend.index(f"use_backend {module.RESEND_BACKEND} if !METH_GET !METH_HEAD") \
        == frontend.index("default_backend neutron-server") - 1  # reads: Neutron's own
    assert changed[f"backend {module.RESEND_BACKEND}"] == [
        "option http-buffer-request", "retries 3", "retry-on all-retryable-errors",
        "timeout server 1000ms", "server ctl1 127.0.0.1:19696",
        "server ctl2 127.0.0.1:19697"]
    assert changed["backend neutron-server"] == before["backend neutron-server"]
    planted = ("frontend neutron-server", f"backend {module.RESEND_BACKEND}")
    assert {k: v for k, v in changed.items() if k not in planted} == {
        k: v for k, v in before.items() if k not in planted}  # keystone's frontend keeps
    assert "http-request disable-l7-retry if !METH_GET !METH_HEAD" in \
        changed["frontend keystone"]  # disable-l7-retry, and so on
    assert module.resending(text, "neutron-server", 1.0, holds).endswith("\n")


@pytest.mark.skipif(not shutil.which("haproxy"), reason="HAProxy is not installed here")
def test_haproxy_accepts_the_planted_lab_configuration(tmp_path):
    module = load_bench()
    text = module.resending(lab_config.haproxy_cfg(str(tmp_path / "admin.sock")),
                            "neutron-server", 1.0,
                            {"ctl1": "127.0.0.1:19696", "ctl2": "127.0.0.1:19697"})
    (tmp_path / "haproxy.cfg").write_text(text)
    checked = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")],
                             capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_resend_plant_is_in_the_ledger_first_and_undone_with_its_hold(bench, lab):
    original = lab_config.haproxy_cfg("/run/haproxy.sock").encode()
    lab.files[("lb", bench.HAPROXY_CFG)] = original
    bench.plant(lab, "resend", 1.0)
    assert "resend" in lab.ledger_at_start  # recorded before the hold started
    entry = lab.entries()["resend"]
    assert entry["hold"] is True and entry["node"] == "lb" and entry["path"] == bench.HAPROXY_CFG
    assert lab.files[("lb", bench.HOLD_SCRIPT)] == bench.HOLD_SOURCE.read_bytes()
    started = [c for n, c in lab.commands if n == "lb" and bench.HOLD_SCRIPT in c][0]
    assert "--listen 127.0.0.1:19696=" in started and "--listen 127.0.0.1:19697=" in started
    planted = lab.files[("lb", bench.HAPROXY_CFG)].decode()
    assert f"backend {bench.RESEND_BACKEND}" in planted
    assert lab.commands.index(("lb", started)) < lab.commands.index(("lb", "restart haproxy"))
    bench.undo_plant(lab, "resend")
    assert lab.files[("lb", bench.HAPROXY_CFG)] == original
    restarted = lab.commands.index(("lb", "restart haproxy"), lab.commands.index(
        ("lb", "restart haproxy")) + 1)
    stopped = [i for i, (_, c) in enumerate(lab.commands) if "kill -TERM" in c]
    assert stopped and stopped[0] > restarted  # the hold stops once no write reaches it
    assert not lab.ledger.exists()
    note = lab.take_note("resend")
    assert note["resent"] == 40 and lab.take_note("resend") is None


def test_a_killed_runs_hold_is_stopped_at_the_next_start(bench, lab):
    lab.files[("lb", bench.HAPROXY_CFG)] = lab_config.haproxy_cfg("/run/x.sock").encode()
    bench.plant(lab, "resend", 1.0)
    assert bench.undo_all(lab) == ["resend"]
    assert any("kill -TERM" in c and bench.HOLD_PID in c for _, c in lab.commands)
    assert f"backend {bench.RESEND_BACKEND}" not in lab.files[("lb", bench.HAPROXY_CFG)].decode()


def test_a_plant_that_cannot_be_made_is_a_row_not_a_crash(bench, lab, tmp_path, monkeypatch):
    lab.files[("lb", bench.HAPROXY_CFG)] = b"global\n    maxconn 10\n"  # no Neutron backend
    monkeypatch.setattr(bench, "healthy", lambda outdir: True)
    monkeypatch.setattr(bench, "robot", lambda *a, **k: pytest.fail("no case without a plant"))
    resend = next(p for p in bench.PLANTS if p.name == "resend")
    row = bench.run_plant(lab, resend, tmp_path / "out", 1.0)
    assert row["seen"] == "NOT RUN" and not row["agrees"]
    assert "could not be made" in row["finding"] and "neutron-server" in row["finding"]
    assert not lab.ledger.exists()


def test_the_resend_row_agrees_only_when_haproxy_did_re_send(bench):
    resend = next(p for p in bench.PLANTS if p.name == "resend")
    message = ("Several failures occurred: 1) Requests were not all accounted for: "
               "write-network: 12 duplicated: xt-mon-1 (held 2 times; create req-1)")
    counts = {"held": 30, "resent": 30, "created_by_held": 12, "released_at_cap": 0,
              "errors": 0}
    row = bench.judge(resend, "FAIL", message, "ctl1", counts)
    assert row["agrees"] and row["finding"].startswith("[plant: 30 writes held, 30 re-sent")
    none = bench.judge(resend, "FAIL", message, "ctl1", {**counts, "resent": 0})
    assert not none["agrees"] and "the plant did not take" in none["finding"]
    assert not bench.judge(resend, "FAIL", message, "ctl1", None)["agrees"]
    lost = bench.judge(resend, "FAIL", message + " | write-network: 1 lost: x", "ctl1", counts)
    assert not lost["agrees"]
    assert not bench.judge(resend, "PASS", "", "ctl1", counts)["agrees"]

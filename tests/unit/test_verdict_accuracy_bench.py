"""bench/verdict_accuracy.py without a lab: its plants are recorded before they are made
and undone exactly, by the ledger, also after a killed run; HAProxy's re-sending config."""

from __future__ import annotations

import importlib.util
import stat
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
            self.ledger = tmp_path / "verdict-accuracy.ledger.json"
            lab = self

            class Nodes:
                def read_file(self, node, path):
                    return lab.files.get((node, path))

                def write_file(self, node, path, data):
                    lab.files[(node, path)] = data

                def run(self, node, command):
                    lab.commands.append((node, command))
                    if command.startswith("rm -f "):
                        lab.files.pop((node, command[6:]), None)

            class Balancer:
                spec = SimpleNamespace(node="lb", backend=lambda service: service)

                def command(self, text):
                    lab.admin.append(text)
                    return ""

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


def test_the_rollout_plant_gives_the_node_keys_of_its_own_and_takes_them_back(bench, lab):
    original = lab.files[("ctl1", bench.KEYSTONE_CONF)]
    bench.plant(lab, "rollout", 0.15)
    changed = lab.files[("ctl1", bench.KEYSTONE_CONF)].decode()
    assert ini.get_option(changed, "fernet_tokens", "key_repository") == bench.OWN_KEYS
    assert lab.commands[0][0] == "ctl1" and "mkdir -p " + bench.OWN_KEYS in lab.commands[0][1]
    assert "--reference=/etc/keystone/fernet-keys" in lab.commands[0][1]
    bench.undo_all(lab)
    assert lab.files[("ctl1", bench.KEYSTONE_CONF)] == original
    assert lab.commands[-2:] == [("ctl1", "restart keystone"),
                                 ("ctl1", f"rm -rf {bench.OWN_KEYS}")]


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


def test_the_resend_plant_lets_haproxy_re_send_neutron_writes_only():
    module = load_bench()
    text = lab_config.haproxy_cfg("/run/haproxy.sock")
    changed = module.resending(text, "neutron-server", 0.15)
    neutron = changed[changed.index("frontend neutron-server"):]
    neutron = neutron[:neutron.index("frontend", 10)] if "frontend" in neutron[10:] else neutron
    assert "disable-l7-retry" not in neutron
    assert "retry-on all-retryable-errors" in neutron and "timeout server 150ms" in neutron
    keystone = changed[changed.index("frontend keystone"):changed.index("backend keystone")]
    assert "disable-l7-retry" in keystone
    assert changed.count("retry-on all-retryable-errors") == 1

"""The Faults library over a fake os-faults cloud: selection, interlock, ledger, undo,
error mapping, dry run, power seam, events, pabot lock and ``extreme recover``."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from ExtremeTesting import events
from ExtremeTesting.errors import SafetyError, TargetError
from ExtremeTesting.faults import Faults, cli, logs
from ExtremeTesting.power import osf_drivers as power_drivers
from ExtremeTesting.power.errors import PowerDriverConfigError
from ExtremeTesting.faults.errors import (
    FaultError,
    LockTimeoutError,
    OsFaultsConfigError,
    RemoteActionError,
    UndoError,
    UnknownNodeError,
    UnknownServiceError,
    UnreachableError,
    UnsupportedActionError,
)
from ExtremeTesting.lifecycle.ledger import Ledger, Step
from ExtremeTesting.lifecycle.locking import PabotLock
from pabot.pabotlib import _PabotLib


def _fake():
    import importlib.util
    import sys

    name = "extreme_faults_fake"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("test_faults_fake.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fake = _fake()


@pytest.fixture
def cloud(tmp_path):
    return fake.State(tmp_path / "state.json")


@pytest.fixture
def make(tmp_path, cloud, monkeypatch):
    monkeypatch.setenv("FAKE_BMC_PASSWORD", "bmc-s3cret-pw")
    monkeypatch.delenv("EXTREME_DRY_RUN", raising=False)
    power_drivers.register_factory("fake", fake.fake_power_factory(cloud.path))
    events.clear()

    def build(destructive=True, **kwargs):
        target = fake.write_target(tmp_path / "cloud", destructive=destructive)
        lib = Faults(str(target), **kwargs)
        lib.configs = []

        def factory(config):
            lib.configs.append(config)
            return fake.FakeCloud(cloud.path, config)

        lib.cloud_factory = factory
        return lib
    return build


def in_test(lib, test="Suite.Test", suite="Suite"):
    lib.engine.scope.suites = [suite]
    lib.engine.scope.test = test


# -- selection and names
def test_named_node_only_is_hit(make, cloud):
    lib = make()
    assert lib.kill_service("keystone", on="ctl1") == ["ctl1"]
    assert cloud.proc("keystone", "ctl1") == "stopped"
    assert cloud.proc("keystone", "ctl2") == "running"
    assert cloud.calls() == [["kill", "keystone", ["ctl1"], {}]]


def test_random_choice_is_recorded_and_undone_on_the_same_node(make, cloud):
    lib = make()
    in_test(lib)
    chosen = lib.freeze_service("keystone", on="random")
    assert len(chosen) == 1 and chosen[0] in ("ctl1", "ctl2")
    entry = Ledger(lib.engine.ledger.path).open_entries()[0]
    assert entry.step.nodes == chosen and entry.undo.nodes == chosen
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    assert cloud.calls()[-1] == ["unfreeze", "keystone", chosen, {}]


def test_all_is_every_node_of_the_service(make, cloud):
    lib = make()
    assert lib.restart_service("keystone", on="all") == ["ctl1", "ctl2"]
    assert cloud.calls()[0][2] == ["ctl1", "ctl2"]


def test_unknown_service_lists_known_ones_before_touching_anything(make, cloud):
    lib = make()
    with pytest.raises(UnknownServiceError, match="Known services: keystone, mariadb"):
        lib.kill_service("keystonee")
    assert cloud.calls() == []


def test_unknown_node_lists_known_ones(make, cloud):
    lib = make()
    with pytest.raises(UnknownNodeError, match="Known nodes: ctl1, ctl2, db"):
        lib.power_off_node("ctl9")
    assert cloud.calls() == []


def test_node_not_running_the_service_is_refused(make, cloud):
    with pytest.raises(FaultError, match="does not run keystone"):
        make().kill_service("keystone", on="db")
    assert cloud.calls() == []


def test_node_selection_by_the_service_it_runs(make, cloud):
    lib = make()
    assert lib.power_off_node("one", running="mariadb") == ["db"]
    assert cloud.load()["power"]["db"] == "off"


# -- the interlock and dry run
def test_non_destructive_target_refuses_before_connecting(make, cloud):
    lib = make(destructive=False)
    with pytest.raises(SafetyError, match="not marked destructive"):  # the one interlock
        lib.kill_service("keystone", on="ctl1")
    assert lib.configs == []  # os-faults never even connected
    assert cloud.calls() == []
    assert not lib.engine.ledger.path.exists()


def test_restoring_keywords_are_allowed_on_a_non_destructive_target(make, cloud):
    make(destructive=False).start_service("keystone", on="ctl1")
    assert cloud.calls() == [["start", "keystone", ["ctl1"], {}]]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_dry_run_does_nothing_and_writes_nothing(make, cloud, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("EXTREME_DRY_RUN", "1")
    lib = make(dry_run=how == "argument")
    messages = []
    lib.engine.log = messages.append
    lib.kill_service("keystone", on="ctl1")
    lib.power_off_node("ctl2")
    assert cloud.calls() == [] and lib.configs == []
    assert not lib.engine.ledger.path.exists()
    assert messages[0] == ("DRY RUN: would kill keystone on ctl1; undo: start keystone on "
                           "ctl1. Nothing was done.")


# -- the ledger
def test_ledger_line_is_on_disk_before_the_action(make, cloud, tmp_path):
    lib = make()
    in_test(lib)
    seen = {}
    real = fake.FakeService._do

    def spy(self, action, nodes, **kwargs):
        seen["lines"] = lib.engine.ledger.path.read_text().splitlines()
        return real(self, action, nodes, **kwargs)

    fake.FakeService._do = spy
    try:
        lib.kill_service("keystone", on="ctl2")
    finally:
        fake.FakeService._do = real
    record = json.loads(seen["lines"][0])
    assert record["op"] == "inject" and record["action"] == "kill"
    assert record["target"] == "keystone on ctl2" and record["undo action"] == "start"
    assert record["test"] == "Suite.Test" and record["suite"] == "Suite"
    assert lib.engine.ledger.path == tmp_path / "cloud" / "target.ledger.jsonl"
    assert oct(lib.engine.ledger.path.stat().st_mode & 0o777) == "0o600"


def test_ledger_survives_a_torn_last_line(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    first = ledger.open_fault(Step("kill", "keystone", ["ctl1"]), Step("start", "keystone",
                                                                       ["ctl1"]))
    with open(ledger.path, "ab") as handle:
        handle.write(b'{"op": "inject", "id": "torn", "ti')  # the writer died here
    second = ledger.open_fault(Step("freeze", "keystone", ["ctl2"]),
                               Step("unfreeze", "keystone", ["ctl2"]))
    ledger.close(first.id, "undone")
    assert [e.id for e in ledger.open_entries()] == [second.id]


def test_restore_keyword_closes_the_fault_it_undid(make, cloud):
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    lib.start_service("keystone", on="ctl1")
    assert lib.get_open_faults() == []
    assert lib.engine.ledger.entries()[0].closed == "restored"
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    assert [c[0] for c in cloud.calls()] == ["kill", "start"]  # no second start


def test_transient_action_closes_itself(make, cloud):
    lib = make()
    lib.restart_service("keystone", on="ctl1")
    assert [e.closed for e in lib.engine.ledger.entries()] == ["completed"]
    assert lib.get_open_faults() == []


# -- the listener
class _Result:
    def __init__(self, full_name, status="FAIL", message="Boom"):
        self.full_name, self.name = full_name, full_name.rsplit(".", 1)[-1]
        self.status, self.message = status, message


def test_failed_test_still_gets_its_faults_undone_newest_first(make, cloud):
    lib = make()
    listener = lib.ROBOT_LIBRARY_LISTENER
    listener.start_suite(None, _Result("Suite"))
    listener.start_test(None, _Result("Suite.Breaks"))
    lib.kill_service("keystone", on="ctl1")
    lib.freeze_service("keystone", on="ctl2")
    lib.unplug_service("keystone", on="ctl2")
    result = _Result("Suite.Breaks", "FAIL", "Keystone did not answer")
    listener.end_test(None, result)
    assert [c[0] for c in cloud.calls()] == ["kill", "freeze", "unplug", "plug", "unfreeze",
                                             "start"]
    assert cloud.proc("keystone", "ctl1") == "running"
    assert cloud.load()["unplugged"] == []
    assert result.status == "FAIL" and result.message == "Keystone did not answer"
    assert Ledger(lib.engine.ledger.path).open_entries() == []


def test_undo_start_only_where_the_service_is_not_running(make, cloud):
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="all")
    data = cloud.load()
    data["procs"]["keystone@ctl2"] = "running"  # something else brought it back
    cloud.save(data)
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    assert cloud.calls()[-1] == ["start", "keystone", ["ctl1"], {}]


def test_suite_setup_faults_wait_for_the_end_of_the_suite(make, cloud):
    lib = make()
    listener = lib.ROBOT_LIBRARY_LISTENER
    listener.start_suite(None, _Result("Top"))
    listener.start_suite(None, _Result("Top.Child"))
    lib.freeze_service("mariadb")  # in the child's suite setup
    listener.start_test(None, _Result("Top.Child.T1"))
    listener.end_test(None, _Result("Top.Child.T1", "PASS", ""))
    assert cloud.proc("mariadb", "db") == "frozen"
    listener.end_suite(None, _Result("Top.Child"))
    assert cloud.proc("mariadb", "db") == "running"


@pytest.mark.parametrize("level", ["SUITE", "MANUAL"])
def test_auto_undo_levels(make, cloud, level):
    lib = make(auto_undo=level)
    listener = lib.ROBOT_LIBRARY_LISTENER
    listener.start_suite(None, _Result("S"))
    listener.start_test(None, _Result("S.T"))
    lib.kill_service("keystone", on="ctl1")
    listener.end_test(None, _Result("S.T"))
    assert cloud.proc("keystone", "ctl1") == "stopped"
    listener.end_suite(None, _Result("S"))
    assert cloud.proc("keystone", "ctl1") == ("running" if level == "SUITE" else "stopped")
    if level == "MANUAL":
        lib.restore_all_faults()
        assert cloud.proc("keystone", "ctl1") == "running"


def test_failed_undo_fails_a_passing_test_and_stays_open(make, cloud):
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    cloud.fail_next("start", "unreachable")
    result = _Result("Suite.Test", "PASS", "")
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, result)
    assert result.status == "FAIL"
    assert result.message.startswith("could not undo kill keystone on ctl1: the cloud may be "
                                     "left broken — run `extreme recover`")
    entry = Ledger(lib.engine.ledger.path).open_entries()[0]
    assert entry.failures and "UNREACHABLE" in entry.failures[0]


# -- error mapping
@pytest.mark.parametrize("kind, error, text", [
    ("ansible", RemoteActionError, "status: FAILED"),
    ("unreachable", RemoteActionError, "UNREACHABLE"),
    ("json", RemoteActionError, "output was not JSON"),
    ("notimpl", UnsupportedActionError, "port required"),
    ("osf", FaultError, "os-faults says: Service keystone is not found"),
    ("boom", FaultError, "RuntimeError: something odd"),
])
def test_errors_become_library_errors_and_the_fault_stays_open(make, cloud, kind, error, text):
    lib = make()
    cloud.fail_next("freeze", kind)
    with pytest.raises(error, match=text) as raised:
        lib.freeze_service("keystone", on="ctl1")
    assert raised.value.ROBOT_SUPPRESS_NAME and "freeze keystone on ctl1" in str(raised.value)
    assert len(lib.get_open_faults()) == 1  # possibly half-done: still undone later
    phases = [e.phase for e in events.between(0)]
    assert phases == ["requested", "failed"]


def test_invalid_os_faults_config_is_a_config_error(tmp_path):
    from ExtremeTesting.faults import osf

    with pytest.raises(OsFaultsConfigError, match="invalid: services/keystone does not match"):
        osf.connect({"cloud_management": {"driver": "universal"},
                     "services": {"keystone": {"driver": "process", "args": {}, "bogus": 1}}})


def test_unreachable_verify_is_reported(make, cloud):
    lib = make()
    cloud.fail_next("verify", "unreachable")
    with pytest.raises(RemoteActionError, match="reach the cloud's nodes"):
        lib.verify_cloud_access()
    lib.verify_cloud_access()
    assert cloud.calls()[-1][0] == "verify"


def test_service_running_checks(make, cloud):
    lib = make()
    lib.service_should_be_running("keystone")
    lib.kill_service("keystone", on="ctl2")
    with pytest.raises(FaultError, match="not running on ctl2"):
        lib.service_should_be_running("keystone")
    lib.service_should_not_be_running("keystone", on="ctl2")


# -- configuration built in memory
def test_config_has_names_accounts_ports_and_no_password_on_disk(make, cloud, tmp_path):
    lib = make(ssh_password=_secret("ssh-s3cret-pw"))
    lib.kill_service("keystone", on="ctl1")
    config = lib.configs[0]
    host = config["node_discover"]["args"][0]
    assert host["fqdn"] == "ctl1"
    assert host["auth"] == {"username": "root", "private_key_file": "/nonexistent/id_ed25519",
                            "password": "ssh-s3cret-pw"}
    assert config["services"]["keystone"]["args"]["port"] == ["tcp", 5000, "ingress"]
    on_disk = "".join(p.read_text() for p in (tmp_path / "cloud").iterdir())
    assert "s3cret" not in on_disk


def _secret(value):
    from robot.api.types import Secret

    return Secret(value)


def test_power_goes_through_the_registered_driver_factory(make, cloud):
    lib = make()
    in_test(lib)
    lib.power_off_node("ctl2")
    assert cloud.load()["power"]["ctl2"] == "off"
    assert cloud.calls()[-1] == ["poweroff", None, ["ctl2"], {"bmc_port": 6230}]
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    assert cloud.load()["power"]["ctl2"] == "on"


def test_power_failure_reason_is_in_the_message(make, cloud):
    lib = make()
    cloud.fail_next("poweroff", "boom")
    with pytest.raises(RemoteActionError, match="ctl1: RuntimeError: something odd"):
        lib.power_off_node("ctl1")


def test_stock_ipmi_factory_refuses_other_ports_with_a_fix():
    access = power_drivers.BmcAccess("ctl1", "198.18.0.11", "ctl1", "ipmi", "127.0.10.11",
                                     6230, "admin", "pw")
    assert "pw" not in repr(access)
    with pytest.raises(PowerDriverConfigError, match="port-aware driver"):
        power_drivers.stock_ipmi([access])
    entries = power_drivers.stock_ipmi([power_drivers.BmcAccess(
        "ctl1", "198.18.0.11", "ctl1", "ipmi", "127.0.10.11", 623, "admin", "pw")])
    assert entries == [{"driver": "ipmi", "args": {"fqdn_to_bmc": {"ctl1": {
        "address": "127.0.10.11", "username": "admin", "password": "pw"}}}}]


def test_bmc_protocol_override_uses_the_sub_section(monkeypatch):
    monkeypatch.setenv("PW", "x")
    bmcs = {"ctl1": {"protocol": "ipmi", "address": "127.0.10.11", "port": 623,
                     "username": "admin", "password_env": "PW",
                     "redfish": {"address": "127.0.10.11", "port": 8000, "system_id": "ctl1"}}}
    access, = power_drivers.bmc_accesses(bmcs, {"ctl1": ("198.18.0.11", "ctl1")}, "redfish")
    assert (access.protocol, access.port, access.options) == ("redfish", 8000,
                                                              {"system_id": "ctl1"})


def test_os_faults_debug_log_is_redacted():
    seen = []

    class Collect(logging.Handler):  # stands for Robot's handler on the root logger
        def emit(self, record):
            seen.append(record.getMessage())

    root, handler = logging.getLogger(), Collect(logging.DEBUG)
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.DEBUG)
    try:
        logs.add_secrets("hunter2-pass")
        logs.install()
        logging.getLogger("os_faults.ansible.executor").debug(
            "Inventory:\n%s", "ansible_ssh_pass: hunter2-pass")
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    assert seen == ["Inventory:\nansible_ssh_pass: ********"]


# -- human grammar
@pytest.mark.parametrize("command, step", [
    ("restart keystone service on ctl2 node", ["restart", "keystone", ["ctl2"], {}]),
    ("freeze mariadb service for 10 seconds", ["freeze", "mariadb", ["db"], {"sec": 10}]),
    ("poweroff db node", ["poweroff", None, ["db"], {"bmc_port": 6230}]),
    ("poweroff one node with mariadb service", ["poweroff", None, ["db"], {"bmc_port": 6230}]),
    ("stress cpu for 5 seconds on ctl1 node",
     ["stress", None, ["ctl1"], {"stress": {"target": "cpu", "duration": 5}}]),
])
def test_inject_fault_in_os_faults_grammar(make, cloud, command, step):
    make().inject_fault(command)
    assert cloud.calls()[-1] == step


def test_inject_fault_one_node_means_one(make, cloud):
    lib = make()
    assert len(lib.inject_fault("poweroff one node")) == 1


def test_inject_fault_nonsense_says_the_grammar(make):
    with pytest.raises(FaultError, match="e.g. restart keystone service on one node"):
        make().inject_fault("please break something")


# -- events
def test_events_requested_in_effect_undone(make, cloud):
    lib = make()
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    got = [(e.source, e.phase, e.action, e.target) for e in events.between(0)]
    assert got == [("faults", "requested", "kill", "keystone on ctl1"),
                   ("faults", "in effect", "kill", "keystone on ctl1"),
                   ("faults", "undone", "kill", "keystone on ctl1")]
    assert len({e.fault_id for e in events.between(0)}) == 1


# -- pabot lock
class _LockServer:
    def __init__(self):
        self.lib = _PabotLib()

    def run_keyword(self, name, args, kwargs):
        return getattr(self.lib, name)(*args, **kwargs)


def test_pabot_lock_is_exclusive_and_bounded():
    server = _LockServer()
    first = PabotLock("destructive:lab", 5, server, "p1")
    second = PabotLock("destructive:lab", 0.3, server, "p2")
    first.acquire()
    with pytest.raises(LockTimeoutError, match="another process is injecting faults"):
        second.acquire()
    first.release()
    assert second.acquire() < 1


def test_lock_taken_at_first_fault_released_after_undo(make, cloud, monkeypatch):
    server = _LockServer()
    lib = make()
    monkeypatch.setenv("PABOTLIBURI", "127.0.0.1:1")
    original = PabotLock.__init__

    def init(self, name, timeout, remote=None, caller_id=None):
        original(self, name, timeout, server, "worker-1")

    monkeypatch.setattr(PabotLock, "__init__", init)
    in_test(lib)
    lib.kill_service("keystone", on="ctl1")
    lib.freeze_service("keystone", on="ctl2")
    assert server.lib._locks["destructive:fakecloud"] == ("worker-1", 1)
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test"))
    assert "destructive:fakecloud" not in server.lib._locks


# -- extreme recover
def test_recover_undoes_what_a_dead_run_left_and_is_idempotent(make, cloud, tmp_path):
    lib = make()
    in_test(lib)
    lib.freeze_service("keystone", on="ctl1")
    lib.unplug_service("keystone", on="ctl2")
    lib.restart_service("mariadb")  # transient: closed already, nothing to recover
    # the runner dies here: no end_test
    out = []
    recovering = make()
    assert cli.recover(str(lib.target.path), None, library=recovering, out=out.append) == 0
    assert cloud.proc("keystone", "ctl1") == "running" and cloud.load()["unplugged"] == []
    assert [c[0] for c in cloud.calls()][-2:] == ["plug", "unfreeze"]
    assert "Recovered 2 of 2" in out[-1]
    again = []
    assert cli.recover(str(lib.target.path), None, library=make(), out=again.append) == 0
    assert again == [f"Nothing to recover in {lib.engine.ledger.path}."]


def test_recover_dry_run_lists_and_changes_nothing(make, cloud):
    lib = make()
    lib.kill_service("keystone", on="ctl1")
    out = []
    assert cli.recover(str(lib.target.path), None, dry_run=True, out=out.append) == 0
    expected = (f"would undo {lib.get_open_faults()[0]['id']} from "
                f"{lib.engine.ledger.entries()[0].time} (no test): kill keystone on ctl1 "
                f"-> start keystone on ctl1")
    assert out == [expected]
    assert cloud.proc("keystone", "ctl1") == "stopped"


def test_recover_leaves_live_runs_alone(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    entry = ledger.open_fault(Step("kill", "keystone", ["ctl1"]),
                              Step("start", "keystone", ["ctl1"]))
    record = json.loads(ledger.path.read_text())
    record["pid"] = os.getppid()  # a live process that is not us
    ledger.path.write_text(json.dumps(record) + "\n")
    out = []
    assert cli.recover(None, str(ledger.path), out=out.append) == 0
    assert out[0].startswith(f"skipped {entry.id}") and "--force" in out[0]


def test_recover_reports_failure(make, cloud):
    lib = make()
    lib.kill_service("keystone", on="ctl1")
    cloud.fail_next("start", "ansible")
    out = []
    assert cli.recover(str(lib.target.path), None, library=make(), out=out.append) == 1
    assert any(line.startswith("FAILED: could not undo kill keystone on ctl1") for line in out)


def test_undo_error_type():
    assert issubclass(UndoError, FaultError) and issubclass(UnreachableError,
                                                            RemoteActionError)


# -- the end of instantaneous faults, and undo actions of other libraries
@pytest.mark.parametrize(("keyword", "args", "target"), [
    ("restart_service", ("keystone", "all"), "keystone on ctl1, ctl2"),
    ("reset_node", ("ctl1",), "ctl1"),
    ("reboot_node", ("ctl2",), "ctl2"),
])
def test_instantaneous_faults_publish_their_end(make, cloud, keyword, args, target):
    from ExtremeTesting.monitor.analysis import FAULT_END_PHASES, fault_window

    lib = make()
    getattr(lib, keyword)(*args)
    got = [(e.phase, e.target, e.detail) for e in events.between(0)]
    assert got == [("requested", target, ""), ("in effect", target, ""),
                   ("undone", target, "ended")]
    assert len({e.fault_id for e in events.between(0)}) == 1
    assert got[-1][0] in FAULT_END_PHASES  # the phase the Monitor ends a fault window on
    window = fault_window(events.between(0))
    assert window.end == events.between(0)[-1].monotonic


def test_external_undo_registry_matches_whole_words_longest_first():
    from ExtremeTesting.lifecycle import registry

    calls = []
    registry.register_undo("unit thing", lambda step, target: calls.append(("short", step)))
    registry.register_undo("unit thing up", lambda step, target: calls.append(("long", step)))
    try:
        registry.handler_for("unit thing up")(Step("unit thing up"), None)
        registry.handler_for("unit thing sideways")(Step("unit thing sideways"), None)
        assert registry.handler_for("unit thingy") is None
        assert [c[0] for c in calls] == ["long", "short"]
    finally:
        registry.unregister_undo("unit thing")
        registry.unregister_undo("unit thing up")


def test_recover_replays_a_registered_undo_and_closes_the_fault(make, cloud):
    from ExtremeTesting.lifecycle import registry

    lib = make()
    ledger = lib.engine.ledger
    entry = ledger.open_fault(Step("unit gadget off", None, ["g1"], {"slot": 3}),
                              Step("unit gadget on", None, ["g1"], {"slot": 3}))
    done = []
    registry.register_undo("unit gadget on",
                           lambda step, target: done.append((step.as_dict(), target.name)))
    try:
        out = []
        assert cli.recover(str(lib.target.path), None, library=make(), out=out.append) == 0
    finally:
        registry.unregister_undo("unit gadget on")
    assert done == [({"action": "unit gadget on", "service": None, "nodes": ["g1"],
                      "args": {"slot": 3}}, "fakecloud")]
    assert [e.closed for e in ledger.entries() if e.id == entry.id] == ["undone"]
    assert "Recovered 1 of 1" in out[-1]


def test_recover_of_an_unregistered_undo_names_the_action(make, cloud):
    from ExtremeTesting.lifecycle import registry

    lib = make()
    ledger = lib.engine.ledger
    ledger.open_fault(Step("unit widget off", None, ["w1"]), Step("unit widget on", None, ["w1"]))
    registry.register_undo("unit widget on", lambda step, target: 1 / 0)
    try:
        out = []
        assert cli.recover(str(lib.target.path), None, library=make(), out=out.append) == 1
    finally:
        registry.unregister_undo("unit widget on")
    assert any("unit widget on w1 failed: division by zero" in line for line in out), out
    out = []
    assert cli.recover(str(lib.target.path), None, library=make(), out=out.append) == 1
    assert any("No library registered an undo for 'unit widget on'" in line
               for line in out), out
    assert ledger.open_entries()  # still open: a later recover may finish it


# -- the target is read at the first keyword, not at import (issue 16)
def test_library_loads_without_a_target_and_the_first_keyword_says_why(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-target.yaml"
    lib = Faults(str(missing))  # no lab, no file: importing the library still works
    assert lib._loaded is None
    with pytest.raises(TargetError, match=f"Target file {missing} does not exist") as error:
        lib.kill_service("keystone", on="ctl1")
    assert "\n" not in str(error.value)
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, _Result("Suite.Test", "PASS", ""))  # no load


def test_libdoc_of_faults_works_without_a_lab(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("EXTREME_TARGET", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path / "no-lab"))
    out = tmp_path / "faults.html"
    done = subprocess.run([sys.executable, "-m", "robot.libdoc", "ExtremeTesting.Faults",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Kill Service" in out.read_text()

"""Cluster faults of the Faults library on a simulated 3-member Galera and RabbitMQ
cluster: the ledger before the fault, the quorum refusal before anything is touched,
partition rules removed exactly, the bootstrap from the highest seqno, the undo at scope
end and by ``extreme recover`` from the ledger a killed run left."""

from __future__ import annotations

import json
import re
import shlex
import time

import pytest
import yaml

from ExtremeTesting import events, results
from ExtremeTesting.errors import SafetyError
from ExtremeTesting.faults import Faults, cli
from ExtremeTesting.faults import cluster_keywords
from ExtremeTesting.faults import clusters as ops
from ExtremeTesting.faults.errors import FaultError
from ExtremeTesting.lifecycle import Ledger, Step

ADDRESSES = {"ctl1": "198.18.0.11", "ctl2": "198.18.0.12", "db": "198.18.0.20",
             "cmp1": "198.18.0.31"}
MEMBERS = ["ctl1", "ctl2", "db"]
UUID = "7a3b1e2c-93d1-11f0-8a1e-b3c6f0d1c2a4"
GREP = {"mariadb": "mariadbd", "rabbitmq": "beam.smp"}
UNRELATED_RULE = "-A INPUT -p tcp -m tcp --dport 3306 -j DROP"  # e.g. Unplug Service's


class FakeClusters:
    """Three nodes, each with a mariadb (Galera) and a rabbitmq member, iptables rules and
    grastate.dat, driven by the shell lines the library sends over "SSH"."""

    def __init__(self):
        self.procs = {(s, m): "running" for s in GREP for m in MEMBERS}
        self.rules = {m: [] for m in MEMBERS}
        self.grastate = {m: (-1, False) for m in MEMBERS}  # seqno, safe_to_bootstrap
        self.recovered = {m: None for m in MEMBERS}  # what --wsrep-recover finds
        self.primary = True
        self.committed = 1500
        self.lines: list[tuple[str, str]] = []
        self.bootstrapped: list[str] = []
        self.queues = [{"name": "conductor", "type": "quorum", "leader": "rabbit@ctl1",
                        "members": [f"rabbit@{m}" for m in MEMBERS]}]

    # -- helpers
    def up(self, service):
        return [m for m in MEMBERS if self.procs[(service, m)] != "stopped"]

    def _galera_status(self, member):
        if self.procs[("mariadb", member)] != "running":
            raise RuntimeError("ERROR 2002 (HY000): Can't connect to local server")
        size = len(self.up("mariadb")) if self.primary else 1
        comment = "Synced" if self.primary else "Initialized"
        return "".join(f"{k}\t{v}\n" for k, v in {
            "wsrep_cluster_status": "Primary" if self.primary else "non-Primary",
            "wsrep_local_state_comment": comment, "wsrep_ready": "ON" if self.primary
            else "OFF", "wsrep_connected": "ON", "wsrep_cluster_size": size,
            "wsrep_last_committed": self.committed,
            "wsrep_cluster_state_uuid": UUID}.items())

    def _rabbit_status(self, member):
        if self.procs[("rabbitmq", member)] != "running":
            raise RuntimeError("Error: unable to perform an operation on node "
                               f"'rabbit@{member}'")
        cut = {m for m in MEMBERS if self.rules[m] and any("25672" in r for r in
                                                               self.rules[m])}
        if member in cut:
            running, partitions = [member], {f"rabbit@{member}": [
                f"rabbit@{m}" for m in MEMBERS if m != member]}
        else:
            running = [f"rabbit@{m}" for m in self.up("rabbitmq") if m not in cut]
            partitions = {}
        running = [r if r.startswith("rabbit@") else f"rabbit@{r}" for r in running]
        return json.dumps({"running_nodes": running, "disk_nodes": [], "partitions":
                           partitions, "alarms": []})

    def _start(self, service, member):
        if self.procs[(service, member)] == "running":
            return "already running"
        if service == "mariadb" and (not self.up("mariadb") or not self.primary):
            raise RuntimeError(f"service mariadb start exited 1: mariadb did not accept "
                               f"connections on {ADDRESSES[member]}:3306 within 90 s")
        self.procs[(service, member)] = "running"
        return "started"

    def _stop(self, service, member, graceful):
        self.procs[(service, member)] = "stopped"
        if service != "mariadb":
            return
        left = self.up("mariadb")
        if graceful:
            self.grastate[member] = (self.committed, not left)
        else:
            self.grastate[member] = (-1, False)
            self.recovered[member] = self.committed
            if len(left) < 2:
                self.primary = False
        self.committed += 1

    # -- the "SSH" runner: (address, line, timeout) -> stdout
    def __call__(self, address, line, timeout):
        member = next(n for n, a in ADDRESSES.items() if a == address)
        self.lines.append((member, line))
        service = "mariadb" if "ariadbd" in line or "mariadb" in line else "rabbitmq"
        if line.startswith("pgrep -f"):
            return "STOPPED\n" if self.procs[(service, member)] == "stopped" else "RUNNING\n"
        if line.startswith("pkill -"):
            sig = line.split()[1][1:]
            if self.procs[(service, member)] != "stopped":
                if sig == "KILL":
                    self._stop(service, member, graceful=False)
                elif sig == "STOP":
                    self.procs[(service, member)] = "frozen"
                elif sig == "CONT":
                    self.procs[(service, member)] = "running"
            return ""
        if line.startswith("service ") and not line.endswith(" bootstrap"):
            _, name, verb = line.split()
            if verb == "stop":
                self._stop(name, member, graceful=True)
                return f"{name} stopped"
            return self._start(name, member)
        if line.startswith("galera_new_cluster") or line == "service mariadb bootstrap":
            seqno, safe = self.grastate[member]
            if not safe:
                raise RuntimeError("galera_new_cluster exited 1: It may not be safe to "
                                   "bootstrap the cluster from this node.")
            self.bootstrapped.append(member)
            self.primary = True
            self.procs[("mariadb", member)] = "running"
            return ""
        if line.startswith("sed -i 's/^safe_to_bootstrap"):
            self.grastate[member] = (self.grastate[member][0], True)
            return ""
        if line.startswith("cat ") and "grastate.dat" in line:
            seqno, safe = self.grastate[member]
            return (f"# GALERA saved state\nversion: 2.1\nuuid:    {UUID}\nseqno:   {seqno}\n"
                    f"safe_to_bootstrap: {1 if safe else 0}\n")
        if "--wsrep-recover" in line:
            found = self.recovered[member]
            return f"[Note] WSREP: Recovered position: {UUID}:{found}\n" if found else ""
        if "pc.bootstrap=YES" in line:
            self.primary = True
            return ""
        if line.startswith("mysql -N -B -e"):
            return self._galera_status(member)
        if "cluster_status" in line:
            return self._rabbit_status(member)
        if "list_queues" in line:
            return json.dumps(self.queues)
        if line == "iptables -w -S":
            return "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n" + "".join(
                r + "\n" for r in self.rules[member])
        if line.startswith("iptables -w -I") or line.startswith("iptables -w -D"):
            for command in line.split(" && "):
                self._iptables(member, shlex.split(command)[2:])
            return ""
        raise AssertionError(f"unexpected command on {member}: {line}")

    def _iptables(self, member, words):
        if words[0] == "-I":
            chain, rest = words[1], words[2:]
            way, address = rest[0], rest[1]
            port = rest[rest.index("--dport") + 1]
            comment = rest[rest.index("--comment") + 1]
            # as `iptables -S` prints it (captured on this machine's iptables 1.8.9)
            self.rules[member].insert(0, f"-A {chain} {way} {address}/32 -p tcp -m tcp "
                                         f"--dport {port} -m comment --comment {comment} "
                                         f"-j DROP")
        elif words[0] == "-D":
            self.rules[member].remove(shlex.join(["-A", *words[1:]]))


@pytest.fixture
def world(monkeypatch):
    fake = FakeClusters()
    monkeypatch.setattr(ops, "connect", lambda target: ops.Shell(target, fake))
    monkeypatch.setattr(ops, "PRIMARY_WAIT", 5.0)
    events.clear()
    return fake


def write_target(tmp_path, destructive=True, **cluster_options):
    osf = {"cloud_management": {"driver": "universal"},
           "node_discover": {"driver": "node_list",
                             "args": [{"ip": a, "fqdn": n} for n, a in ADDRESSES.items()]},
           "services": {s: {"driver": "process",
                            "args": {"grep": g, "start_cmd": f"service {s} start",
                                     "terminate_cmd": f"service {s} stop"},
                            "hosts": [ADDRESSES[m] for m in MEMBERS]}
                        for s, g in GREP.items()}}
    data = {
        "name": "fakecluster", "destructive": destructive, "os_faults": osf,
        "ssh": {"username": "root", "private_key_file": "/nonexistent", "port": 22},
        "nodes": {n: {"address": a} for n, a in ADDRESSES.items()},
        "services": {s: {"nodes": MEMBERS, "grep": g} for s, g in GREP.items()},
        "clusters": {
            "database": {"type": "galera", "service": "mariadb", "members": MEMBERS,
                         "ports": [3306, 4567, 4568, 4444], **cluster_options},
            "messaging": {"type": "rabbitmq", "service": "rabbitmq", "members": MEMBERS,
                          "ports": [5672, 25672, 4369]}},
    }
    (tmp_path / "cloud").mkdir(exist_ok=True)
    path = tmp_path / "cloud" / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def lib(tmp_path, world, monkeypatch):
    monkeypatch.delenv("EXTREME_DRY_RUN", raising=False)
    library = Faults(str(write_target(tmp_path)))
    library.engine.scope.suites = ["Suite"]
    library.engine.scope.test = "Suite.Test"
    return library


def open_entries(library):
    return library.engine.ledger.open_entries()


# -- one member
def test_kill_is_in_the_ledger_before_it_happens_and_undone_at_test_end(lib, world):
    seen = []
    original = ops.Operator.signal

    def spy(self, spec, member, name):
        seen.append([e.step.action for e in open_entries(lib)])
        original(self, spec, member, name)

    ops.Operator.signal = spy
    try:
        assert lib.kill_cluster_member("database", "ctl2") == ["ctl2"]
    finally:
        ops.Operator.signal = original
    assert seen == [["cluster kill member"]]
    assert world.procs[("mariadb", "ctl2")] == "stopped"
    assert world.primary  # two of three left: quorum kept
    entry = open_entries(lib)[0]
    assert entry.undo.action == ops.START_MEMBERS and entry.undo.nodes == ["ctl2"]
    assert [e.phase for e in events.between(0)] == ["requested", "in effect"]

    assert lib.engine.undo_test("Suite.Test") == []
    assert world.procs[("mariadb", "ctl2")] == "running"
    assert open_entries(lib) == []


def test_freeze_is_undone_by_sigcont_and_stop_by_start(lib, world):
    lib.freeze_cluster_member("messaging", "db")
    lib.stop_cluster_member("database", "ctl1")
    assert world.procs[("rabbitmq", "db")] == "frozen"
    assert world.procs[("mariadb", "ctl1")] == "stopped"
    assert lib.engine.undo_test("Suite.Test") == []
    assert world.procs[("rabbitmq", "db")] == "running"
    assert world.procs[("mariadb", "ctl1")] == "running"


def test_the_kill_uses_a_pattern_that_spares_the_shell_running_it(lib, world):
    lib.kill_cluster_member("messaging", "ctl1")
    kill = next(line for _, line in world.lines if line.startswith("pkill"))
    assert kill == "pkill -KILL -f '[b]eam\\.smp'; true"
    assert re.search(r"[b]eam\.smp", "/usr/lib/erlang/erts-13.1.5/bin/beam.smp -W w")
    assert not re.search(r"[b]eam\.smp", kill)


def test_start_cluster_member_closes_the_kill(lib, world):
    lib.kill_cluster_member("database", "db")
    assert lib.start_cluster_member("database", "db") == ["db"]
    assert open_entries(lib) == [] and lib.engine.mine == []


def test_a_member_that_does_not_run_is_refused_and_nothing_is_written(lib, world):
    world.procs[("mariadb", "db")] = "stopped"
    with pytest.raises(FaultError, match="mariadb does not run on db"):
        lib.kill_cluster_member("database", "db")
    assert lib.engine.ledger.entries() == []


def test_unknown_cluster_or_member_names_the_known_ones(lib, world):
    with pytest.raises(FaultError, match="the target's clusters: section names database, "
                                         "messaging"):
        lib.kill_cluster_member("storage", "db")
    with pytest.raises(FaultError, match="its members are ctl1, ctl2, db"):
        lib.kill_cluster_member("database", "cmp1")
    assert world.lines == []


def test_a_target_not_marked_destructive_is_refused_before_anything(tmp_path, world):
    library = Faults(str(write_target(tmp_path, destructive=False)))
    with pytest.raises(SafetyError, match="not marked destructive"):  # the one interlock
        library.kill_cluster_member("database", "db")
    assert world.lines == [] and library.engine.ledger.entries() == []


# -- quorum
def test_stopping_two_of_three_is_refused_naming_the_member_left(lib, world):
    with pytest.raises(FaultError) as refused:
        lib.stop_cluster_members("database", "ctl1", "ctl2")
    assert str(refused.value) == (
        "Refusing to stop ctl1, ctl2 of database: cluster 'database' would be left with "
        "db, 1 of 3, below its quorum of 2. Nothing was touched. Pass "
        "allow_quorum_loss=True to lose quorum on purpose.")
    assert world.lines == [] and lib.engine.ledger.entries() == []


def test_a_second_member_fault_counts_the_first(lib, world):
    lib.kill_cluster_member("database", "ctl1")
    lines = len(world.lines)
    with pytest.raises(FaultError, match=r"left with db \(ctl1 already out by an open "
                                         r"fault\), 1 of 3"):
        lib.partition_cluster_member("database", "ctl2")
    assert len(world.lines) == lines  # nothing touched
    assert [e.step.action for e in open_entries(lib)] == ["cluster kill member"]


def test_quorum_loss_on_purpose_then_undone_with_a_primary_component_again(lib, world):
    lib.stop_cluster_members("database", "ctl1, ctl2", how="kill", allow_quorum_loss=True)
    assert world.up("mariadb") == ["db"] and not world.primary
    assert lib.engine.undo_test("Suite.Test") == []
    # the runbook: pc.bootstrap on the survivor, then the others join
    assert world.primary and world.up("mariadb") == MEMBERS
    order = [line for _, line in world.lines if "pc.bootstrap" in line or
             line.startswith("service mariadb start")]
    assert "pc.bootstrap" in order[0] and len(order) == 3


# -- partitions
def test_partition_rules_cut_the_member_on_the_cluster_ports_only(lib, world):
    lib.partition_cluster_member("messaging", "db", "from the others")
    entry = open_entries(lib)[0]
    comment = f"extreme-fault-{entry.id}"
    assert entry.undo.args["comment"] == comment
    rules = world.rules["db"]
    assert len(rules) == 2 * 2 * 3  # 2 peers x 3 ports x in and out
    assert all(f"--comment {comment}" in r and r.endswith("-j DROP") for r in rules)
    ports = {re.search(r"--dport (\d+)", r).group(1) for r in rules}
    assert ports == {"5672", "25672", "4369"}
    peers = {re.search(r"-[sd] ([\d.]+)/32", r).group(1) for r in rules}
    assert peers == {ADDRESSES["ctl1"], ADDRESSES["ctl2"]}
    assert not any("--dport 22 " in r for r in rules)
    assert world.rules["ctl1"] == [] and world.rules["ctl2"] == []


def test_heal_removes_exactly_the_faults_rules(lib, world):
    world.rules["db"].append(UNRELATED_RULE)
    lib.partition_cluster_member("messaging", "db")
    lib.heal_cluster_partition("messaging", "db")
    assert world.rules["db"] == [UNRELATED_RULE]
    assert open_entries(lib) == []


def test_partition_from_one_named_peer(lib, world):
    lib.partition_cluster_member("database", "db", "from ctl1")
    assert {re.search(r"-[sd] ([\d.]+)/32", r).group(1) for r in world.rules["db"]} == {
        ADDRESSES["ctl1"]}
    with pytest.raises(FaultError, match="Expected 'from the others'"):
        lib.partition_cluster_member("database", "ctl1", "ctl2")


def test_heal_fails_when_a_rule_survives(lib, world):
    lib.partition_cluster_member("messaging", "db")
    entry = open_entries(lib)[0]
    world._iptables = lambda member, words: None  # deletes do nothing
    with pytest.raises(FaultError, match="12 iptables rule"):
        ops.undo_partition(entry.undo, lib.target)


def test_rules_with_comment_matches_the_whole_comment_only():
    listing = ("-P INPUT ACCEPT\n"
               "-A INPUT -s 198.18.0.11/32 -p tcp -m tcp --dport 4567 -m comment "
               "--comment extreme-fault-abc -j DROP\n"
               "-A INPUT -s 198.18.0.11/32 -p tcp -m tcp --dport 4567 -m comment "
               "--comment extreme-fault-abcd -j DROP\n"
               '-A OUTPUT -d 198.18.0.11/32 -p tcp -m tcp --dport 4567 -m comment '
               '--comment "extreme-fault-abc" -j DROP\n')
    found = ops.rules_with_comment(listing, "extreme-fault-abc")
    assert len(found) == 2 and "abcd" not in " ".join(found)
    assert ops.delete_commands(found[:1]) == [
        "iptables -w -D INPUT -s 198.18.0.11/32 -p tcp -m tcp --dport 4567 -m comment "
        "--comment extreme-fault-abc -j DROP"]


# -- the whole cluster
def test_whole_galera_stop_is_undone_by_a_bootstrap_from_the_last_stopped(lib, world):
    assert lib.stop_whole_cluster("database") == MEMBERS
    assert world.up("mariadb") == []
    assert world.grastate["db"][1] and not world.grastate["ctl1"][1]
    lib.start_whole_cluster("database")
    assert world.bootstrapped == ["db"]
    assert world.up("mariadb") == MEMBERS and world.primary
    assert open_entries(lib) == []
    starts = [m for m, line in world.lines if line == "service mariadb start"]
    assert starts == ["ctl1", "ctl2"]  # after the bootstrap, one by one


def test_crashed_galera_is_bootstrapped_from_the_highest_recovered_seqno(lib, world):
    lib.stop_cluster_members("database", "ctl1", "ctl2", "db", how="kill",
                             allow_quorum_loss=True)
    world.recovered.update({"ctl1": 1510, "ctl2": 1512, "db": 1511})
    assert lib.get_bootstrap_member("database") == "ctl2"
    assert lib.engine.undo_test("Suite.Test") == []
    assert world.bootstrapped == ["ctl2"]
    # marked safe to bootstrap first (galera_new_cluster refuses otherwise)
    sed = [i for i, (m, line) in enumerate(world.lines) if line.startswith("sed -i")]
    boot = [i for i, (m, line) in enumerate(world.lines) if line == "service mariadb bootstrap"]
    assert world.lines[sed[0]][0] == "ctl2" and sed[0] < boot[0]
    assert world.up("mariadb") == MEMBERS


def test_the_targets_bootstrap_command_is_used(tmp_path, world, monkeypatch):
    library = Faults(str(write_target(tmp_path, bootstrap="galera_new_cluster --lab")))
    library.stop_whole_cluster("database")
    library.start_whole_cluster("database")
    assert ("db", "galera_new_cluster --lab") in world.lines


def test_whole_rabbitmq_stop_starts_every_member_again(lib, world):
    lib.stop_whole_cluster("messaging")
    assert world.up("rabbitmq") == []
    assert lib.engine.undo_test("Suite.Test") == []
    assert world.up("rabbitmq") == MEMBERS


# -- recovery measured
def test_cluster_should_be_whole_within_publishes_its_record(lib, world, monkeypatch):
    published = []
    monkeypatch.setattr(results, "publish", lambda kind, data, *a, **k: published.append(
        (kind, data)))
    seconds = lib.cluster_should_be_whole_within("messaging", _seconds(5))
    record = published[-1][1]
    assert record["keyword"] == "Cluster Should Be Whole Within"
    assert record["subject"] == "messaging" and record["passed"] is True
    assert record["limit"] == 5 and record["measured"] == pytest.approx(seconds, abs=0.01)
    assert "Cluster Should Be Whole Within" in results.VERDICT_KEYWORDS


def test_cluster_not_whole_in_time_fails_naming_the_member(lib, world, monkeypatch):
    published = []
    monkeypatch.setattr(results, "publish", lambda kind, data, *a, **k: published.append(
        data))
    monkeypatch.setattr("ExtremeTesting.faults.cluster_keywords.WHOLE_POLL", 0.05)
    lib.partition_cluster_member("messaging", "db")
    with pytest.raises(FaultError, match=r"messaging member db: running_nodes lacks "
                                         r"rabbit@ctl1, rabbit@ctl2"):
        lib.cluster_should_be_whole_within("messaging", _seconds(0.2))
    assert published[-1]["measured"] is None and published[-1]["passed"] is False


def test_whole_again_ends_the_fault_on_the_timeline_when_asked(lib, world, monkeypatch):
    """A quorum loss lasts until the cluster is whole: ``ends_fault=True`` puts a fault end
    on the timeline at the start of the reading that found it whole, after the undo."""
    from ExtremeTesting.monitor import analysis

    monkeypatch.setattr(results, "publish", lambda *a, **k: None)
    begin = time.monotonic()
    events.publish("faults", "undone", "unfreeze", "mariadb on ctl2")  # the resume
    readings = []
    real = cluster_keywords.read_cluster

    def reading(spec, shell):
        readings.append(time.monotonic())
        return real(spec, shell)

    monkeypatch.setattr(cluster_keywords, "read_cluster", reading)
    lib.cluster_should_be_whole_within("database", _seconds(5), ends_fault=True)
    ends = [e for e in events.between(begin) if e.phase == "undone"]
    assert [e.action for e in ends] == ["unfreeze", "database whole again"]
    mark = ends[-1]
    assert readings[-1] - 0.05 <= mark.monotonic <= readings[-1]
    assert abs((time.time() - mark.wall) - (time.monotonic() - mark.monotonic)) < 0.05
    assert analysis.fault_window(events.between(begin)).end == mark.monotonic


def test_whole_again_leaves_the_timeline_alone_by_default_and_when_not_whole(
        lib, world, monkeypatch):

    monkeypatch.setattr(results, "publish", lambda *a, **k: None)
    monkeypatch.setattr("ExtremeTesting.faults.cluster_keywords.WHOLE_POLL", 0.05)
    begin = time.monotonic()
    lib.cluster_should_be_whole_within("database", _seconds(5))
    assert not [e for e in events.between(begin) if "whole again" in e.action]
    lib.partition_cluster_member("messaging", "db")
    with pytest.raises(FaultError):
        lib.cluster_should_be_whole_within("messaging", _seconds(0.2), ends_fault=True)
    assert not [e for e in events.between(begin) if "whole again" in e.action]


def _seconds(value):
    from datetime import timedelta

    return timedelta(seconds=value)


# -- extreme recover after a crash
def test_recover_undoes_what_a_killed_run_left_in_the_ledger(tmp_path, world):
    """The run died (SIGKILL) after writing these: a partition, a killed member and a
    whole RabbitMQ stop; recover undoes them newest first, and a second finds nothing."""
    target = write_target(tmp_path)
    ledger = Ledger(tmp_path / "cloud" / "target.ledger.jsonl")
    world.rules["db"].append(UNRELATED_RULE)
    partition = Faults(str(target))
    partition.partition_cluster_member("database", "db")
    partition.kill_cluster_member("messaging", "ctl1")
    partition.stop_whole_cluster("messaging")
    assert len(ledger.open_entries()) == 3
    out = []
    assert cli.recover(str(target), None, out=out.append) == 0
    assert out[-1] == f"Recovered 3 of 3 open fault(s) in {ledger.path}."
    assert world.rules["db"] == [UNRELATED_RULE]
    assert world.up("mariadb") == MEMBERS and world.up("rabbitmq") == MEMBERS
    again = []
    assert cli.recover(str(target), None, out=again.append) == 0
    assert again == [f"Nothing to recover in {ledger.path}."]


def test_recover_replays_a_partition_written_by_another_process(tmp_path, world):
    target = write_target(tmp_path)
    ledger = Ledger(tmp_path / "cloud" / "target.ledger.jsonl")
    entry_id = "0123456789ab"
    comment = ops.comment_of(entry_id)
    args = {"cluster": "messaging", "comment": comment, "peers": ["ctl1", "ctl2"]}
    ledger.open_fault(Step("cluster partition member", "rabbitmq", ["db"], args),
                      Step(ops.HEAL_PARTITION, "rabbitmq", ["db"], args),
                      entry_id=entry_id, target_file=str(target))
    world.rules["db"] = [UNRELATED_RULE, f"-A INPUT -s 198.18.0.11/32 -p tcp -m tcp "
                         f"--dport 25672 -m comment --comment {comment} -j DROP"]
    out = []
    assert cli.recover(None, str(ledger.path), out=out.append) == 0
    assert world.rules["db"] == [UNRELATED_RULE]
    assert ledger.open_entries() == []


def test_start_whole_cluster_closes_kills_of_every_member(lib, world):
    lib.stop_cluster_members("database", "ctl1", "ctl2", "db", how="kill",
                             allow_quorum_loss=True)
    world.recovered.update({"ctl1": 1510, "ctl2": 1509, "db": 1508})
    lib.start_whole_cluster("database")
    assert world.bootstrapped == ["ctl1"] and world.up("mariadb") == MEMBERS
    assert open_entries(lib) == [] and lib.engine.mine == []


def test_the_cluster_of_a_service(lib):
    assert lib.get_cluster_of_service("mariadb") == "database"
    assert lib.get_cluster_of_service("rabbitmq") == "messaging"
    assert lib.get_cluster_of_service("keystone") == ""


def test_freezing_two_of_three_is_undone_by_sigcont(lib, world):
    lib.stop_cluster_members("messaging", "ctl2", "db", how="freeze", allow_quorum_loss=True)
    assert world.procs[("rabbitmq", "ctl2")] == "frozen" == world.procs[("rabbitmq", "db")]
    assert open_entries(lib)[0].undo.action == ops.UNFREEZE_MEMBER
    assert lib.engine.undo_test("Suite.Test") == []
    assert world.up("rabbitmq") == MEMBERS
    assert all(world.procs[("rabbitmq", m)] == "running" for m in MEMBERS)


def test_dry_run_touches_nothing_writes_nothing_and_marks_the_case(tmp_path, world,
                                                                   monkeypatch):
    marked = []
    monkeypatch.setattr(results, "publish", lambda kind, data, *a, **k: marked.append(
        (kind, data)))
    library = Faults(str(write_target(tmp_path)), dry_run=True)
    assert library.kill_cluster_member("database", "db") == ["db"]
    library.partition_cluster_member("messaging", "db")
    library.stop_whole_cluster("database")
    assert world.lines == [] and library.engine.ledger.entries() == []
    assert [k for k, _ in marked] == [results.FAULT_DRY_RUN] * 3
    assert marked[0][1]["action"] == "cluster kill member mariadb on db cluster=database"


ROBOT_SUITE = """\
*** Settings ***
Library    ExtremeTesting.Faults    {target}

*** Test Cases ***
Cluster Faults Read As Sentences And Are Undone When The Test Ends
    Kill Cluster Member    database    ctl2
    Partition Cluster Member    messaging    db    from the others
    ${{problems}} =    Get Cluster Problems    messaging
    Should Not Be Empty    ${{problems}}
    Run Keyword And Expect Error    *would be left with no member*allow_quorum_loss=True*
    ...    Stop Cluster Members    database    ctl1    db
    Stop Cluster Members    database    ctl1    how=kill    allow_quorum_loss=${{TRUE}}
    Run Keyword And Expect Error    Expected cluster 'messaging' whole within 0.1 s*
    ...    Cluster Should Be Whole Within    messaging    0.1 s

Whole Again After The Undo
    Cluster Should Be Whole Within    messaging    5 s
    Cluster Should Be Whole Within    database    5 s
"""


def test_robot_run_undoes_every_cluster_fault_at_test_end(tmp_path, world):
    import robot

    target = write_target(tmp_path)
    suite = tmp_path / "clusters.robot"
    suite.write_text(ROBOT_SUITE.format(target=target))
    rc = robot.run(str(suite), outputdir=str(tmp_path / "out"), console="none")
    output = tmp_path / "out" / "output.xml"
    assert rc == 0, _failures(output)
    assert world.rules["db"] == [] and world.up("mariadb") == MEMBERS
    assert Ledger(tmp_path / "cloud" / "target.ledger.jsonl").open_entries() == []
    records = results.read_expectations(output)
    assert [(r["subject"], r["passed"]) for r in records] == [
        ("messaging", False), ("messaging", True), ("database", True)]


def _failures(output):
    from robot.api import ExecutionResult

    result = ExecutionResult(str(output))
    return [(t.name, t.message) for t in result.suite.all_tests if t.status != "PASS"]


def test_bootstrap_command_default_follows_how_members_start(tmp_path, world):
    sysv = ops.Operator(Faults(str(write_target(tmp_path))).target)
    assert sysv.bootstrap_command(sysv.spec("database")) == "service mariadb bootstrap"
    systemd = ops.Operator(Faults(str(write_target(tmp_path,
                                                   start="systemctl start mariadb"))).target)
    assert systemd.bootstrap_command(systemd.spec("database")) == "galera_new_cluster"

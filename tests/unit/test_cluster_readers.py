"""The cluster readers on what Galera and RabbitMQ really print: healthy members, a
Donor, a Joiner, a member left non-Primary, two of three running, a partitioned RabbitMQ,
a quorum queue without a leader; the target's clusters: section and its errors."""

from __future__ import annotations

import json

import pytest
import yaml

from ExtremeTesting.clusters import galera, rabbitmq
from ExtremeTesting.clusters.reader import Shell, read_cluster
from ExtremeTesting.clusters.spec import clusters_of
from ExtremeTesting.errors import TargetError
from ExtremeTesting.target import load

UUID = "7a3b1e2c-93d1-11f0-8a1e-b3c6f0d1c2a4"


def wsrep(comment="Synced", status="Primary", size=3, ready="ON", state=4, committed=1532,
          uuid=UUID):
    """`mysql -N -B -e "SHOW GLOBAL STATUS LIKE 'wsrep_%'"` of MariaDB 10.11 / Galera 26.4
    (abridged: the variables the readers use and some they must skip)."""
    rows = [
        ("wsrep_local_state_uuid", uuid), ("wsrep_protocol_version", "10"),
        ("wsrep_last_committed", str(committed)), ("wsrep_replicated", "118"),
        ("wsrep_received", "214"), ("wsrep_local_commits", "117"),
        ("wsrep_local_cert_failures", "0"), ("wsrep_local_state", str(state)),
        ("wsrep_local_state_comment", comment), ("wsrep_cert_index_size", "12"),
        ("wsrep_causal_reads", "0"), ("wsrep_cert_interval", "0.000000"),
        ("wsrep_open_transactions", "0"), ("wsrep_open_connections", "0"),
        ("wsrep_incoming_addresses",
         "198.18.0.11:3306,198.18.0.12:3306,198.18.0.20:3306"),
        ("wsrep_cluster_weight", str(size)), ("wsrep_desync_count", "0"),
        ("wsrep_evs_delayed", ""), ("wsrep_evs_evict_list", ""),
        ("wsrep_evs_state", "OPERATIONAL"), ("wsrep_gcomm_uuid", "8f0c0a64-93d1-11f0-9d2f"),
        ("wsrep_gmcast_segment", "0"), ("wsrep_applier_thread_count", "1"),
        ("wsrep_cluster_capabilities", ""), ("wsrep_cluster_conf_id", "5"),
        ("wsrep_cluster_size", str(size)), ("wsrep_cluster_state_uuid", uuid),
        ("wsrep_cluster_status", status), ("wsrep_connected", "ON"),
        ("wsrep_local_bf_aborts", "0"), ("wsrep_local_index", "0"),
        ("wsrep_provider_capabilities", ":MULTI_MASTER:CERTIFICATION:PARALLEL_APPLYING:"),
        ("wsrep_provider_name", "Galera"), ("wsrep_provider_vendor", "Codership Oy"),
        ("wsrep_provider_version", "26.4.23(r7e1fa2a6)"), ("wsrep_ready", ready),
        ("wsrep_thread_count", "2"),
    ]
    return "".join(f"{name}\t{value}\n" for name, value in rows)


SYNCED = wsrep()
DONOR = wsrep("Donor/Desynced", state=2)
JOINING = wsrep("Joining: receiving State Transfer", state=1, ready="OFF")
NON_PRIMARY = wsrep("Initialized", status="non-Primary", size=1, ready="OFF", state=0)
TWO_OF_THREE = wsrep(size=2)

GRASTATE_CLEAN = f"""# GALERA saved state
version: 2.1
uuid:    {UUID}
seqno:   1532
safe_to_bootstrap: 1
"""
GRASTATE_CRASHED = f"""# GALERA saved state
version: 2.1
uuid:    {UUID}
seqno:   -1
safe_to_bootstrap: 0
"""
RECOVER_LOG = f"""\
2026-12-06 11:02:13 0 [Note] Starting MariaDB 10.11.19-MariaDB-0+deb12u1 as process 4127
2026-12-06 11:02:13 0 [Note] InnoDB: Compressed tables use zlib 1.2.13
2026-12-06 11:02:13 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=4211783
2026-12-06 11:02:14 0 [Note] InnoDB: 10.11.19 started; log sequence number 4212061
2026-12-06 11:02:14 0 [Note] WSREP: Recovered position: {UUID}:1537
2026-12-06 11:02:14 0 [Note] /usr/sbin/mariadbd: Shutdown complete
"""


def cluster_status(running, partitions=None, alarms=None):
    """`rabbitmqctl -q cluster_status --formatter json` of RabbitMQ 3.10."""
    nodes = ["rabbit@ctl1", "rabbit@ctl2", "rabbit@db"]
    return json.dumps({
        "alarms": alarms or [], "cluster_name": "rabbit@ctl1", "disk_nodes": nodes,
        "feature_flags": [{"desc": "Support queues of type `quorum`", "doc_url": "",
                           "name": "quorum_queue", "provided_by": "rabbit",
                           "stability": "stable", "state": "enabled"}],
        "listeners": {n: [{"interface": "[::]", "node": n, "port": 25672,
                           "protocol": "clustering",
                           "purpose": "inter-node and CLI tool communication"}]
                      for n in running},
        "maintenance_status": {n: "not under maintenance" for n in running},
        "partitions": partitions or {}, "ram_nodes": [], "running_nodes": running,
        "versions": {n: {"erlang_version": "25.2.3", "rabbitmq_name": "RabbitMQ",
                         "rabbitmq_version": "3.10.8"} for n in running}})


ALL = ["rabbit@db", "rabbit@ctl2", "rabbit@ctl1"]
QUEUES = json.dumps([
    {"name": "conductor", "type": "quorum", "leader": "rabbit@ctl1",
     "members": ["rabbit@ctl1", "rabbit@ctl2", "rabbit@db"]},
    {"name": "scheduler_fanout_5b1e", "type": "classic", "leader": "", "members": ""},
    {"name": "compute.cmp1", "type": "quorum", "leader": "",
     "members": ["rabbit@ctl1", "rabbit@ctl2", "rabbit@db"]},
    {"name": "q-plugin", "type": "quorum", "leader": "rabbit@ctl2",
     "members": ["rabbit@ctl1", "rabbit@ctl2", "rabbit@db"]},
])


# -- Galera
def test_status_lines_are_read_with_empty_values():
    status = galera.parse_status(SYNCED)
    assert status["wsrep_cluster_size"] == "3"
    assert status["wsrep_evs_delayed"] == ""
    assert status["wsrep_local_state_comment"] == "Synced"


def test_a_synced_member_of_a_whole_cluster_has_no_problem():
    assert galera.member_problems(galera.parse_status(SYNCED), 3) == []


@pytest.mark.parametrize(("text", "expected"), [
    (DONOR, ["wsrep_local_state_comment=Donor/Desynced, expected Synced"]),
    (JOINING, ["wsrep_local_state_comment=Joining: receiving State Transfer, expected Synced",
               "wsrep_ready=OFF, expected ON"]),
    (NON_PRIMARY, ["wsrep_cluster_status=non-Primary, expected Primary",
                   "wsrep_local_state_comment=Initialized, expected Synced",
                   "wsrep_ready=OFF, expected ON", "wsrep_cluster_size=1, expected 3"]),
    (TWO_OF_THREE, ["wsrep_cluster_size=2, expected 3"]),
    ("", ["reports no wsrep status variables: is it a Galera member (wsrep_on)?"]),
])
def test_member_problems_name_each_variable_and_what_was_expected(text, expected):
    assert galera.member_problems(galera.parse_status(text), 3) == expected


def test_two_primary_components_are_a_split_brain():
    other = "11111111-2222-3333-4444-555555555555"
    assert galera.split_brain({"ctl1": galera.parse_status(SYNCED),
                               "ctl2": galera.parse_status(SYNCED)}) == ""
    found = galera.split_brain({"ctl1": galera.parse_status(SYNCED),
                                "db": galera.parse_status(wsrep(uuid=other))})
    assert "ctl1=" + UUID in found and "db=" + other in found


def test_grastate_of_a_clean_stop_and_of_a_crash():
    clean = galera.parse_grastate(GRASTATE_CLEAN)
    assert (clean.uuid, clean.seqno, clean.safe_to_bootstrap) == (UUID, 1532, True)
    crashed = galera.parse_grastate(GRASTATE_CRASHED)
    assert (crashed.seqno, crashed.safe_to_bootstrap) == (-1, False)
    assert galera.parse_grastate("").seqno == -1  # no file: position unknown


def test_wsrep_recover_position_is_read_from_the_log():
    assert galera.parse_recovered(RECOVER_LOG) == (UUID, 1537)
    assert galera.parse_recovered("[ERROR] InnoDB: cannot open ibdata1") is None


def state(seqno, safe=False, recovered=False):
    return galera.SavedState(UUID, seqno, safe, recovered)


MEMBERS = ["ctl1", "ctl2", "db"]


@pytest.mark.parametrize(("states", "chosen"), [
    # the last one stopped cleanly says so
    ({"ctl1": state(1530), "ctl2": state(1532, safe=True), "db": state(1531)}, "ctl2"),
    # safe_to_bootstrap wins even over a higher seqno (the runbook trusts the flag)
    ({"ctl1": state(1540), "ctl2": state(1532, safe=True), "db": state(-1)}, "ctl2"),
    # all crashed: the highest recovered seqno
    ({"ctl1": state(1535, recovered=True), "ctl2": state(1537, recovered=True),
      "db": state(1536, recovered=True)}, "ctl2"),
    # a tie goes to the first in the members' order
    ({"ctl1": state(-1), "ctl2": state(1537), "db": state(1537)}, "ctl2"),
    ({"ctl1": state(1537), "ctl2": state(1537), "db": state(1537)}, "ctl1"),
    # a member without a known position never wins
    ({"ctl1": state(-1), "ctl2": state(-1), "db": state(12)}, "db"),
])
def test_bootstrap_member_is_the_safe_one_else_the_highest_seqno(states, chosen):
    member, why = galera.bootstrap_member(states, MEMBERS)
    assert member == chosen
    assert chosen in why


def test_bootstrap_member_without_any_position_is_an_error_saying_what_to_do():
    with pytest.raises(ValueError, match="choose the member by hand"):
        galera.bootstrap_member({m: state(-1) for m in MEMBERS}, MEMBERS)


# -- RabbitMQ
def test_whole_rabbitmq_cluster_has_no_problem():
    status = rabbitmq.parse_cluster_status(cluster_status(ALL))
    assert sorted(status.running_nodes) == sorted(ALL)
    assert rabbitmq.member_problems(status, sorted(ALL)) == []


def test_banner_before_the_json_is_skipped():
    text = "Cluster status of node rabbit@ctl1 ...\n" + cluster_status(ALL)
    assert rabbitmq.parse_cluster_status(text).running_nodes == ALL


def test_two_of_three_running_names_the_missing_node():
    status = rabbitmq.parse_cluster_status(cluster_status(["rabbit@ctl1", "rabbit@ctl2"]))
    assert rabbitmq.member_problems(status, sorted(ALL)) == [
        "running_nodes lacks rabbit@db (sees rabbit@ctl1, rabbit@ctl2)"]


def test_a_partitioned_cluster_says_who_cannot_reach_whom():
    text = cluster_status(["rabbit@ctl1", "rabbit@ctl2"],
                          partitions={"rabbit@ctl1": ["rabbit@db"],
                                      "rabbit@ctl2": ["rabbit@db"]})
    problems = rabbitmq.member_problems(rabbitmq.parse_cluster_status(text), sorted(ALL))
    assert problems == ["running_nodes lacks rabbit@db (sees rabbit@ctl1, rabbit@ctl2)",
                        "partitioned: rabbit@ctl1 cannot reach rabbit@db",
                        "partitioned: rabbit@ctl2 cannot reach rabbit@db"]


def test_alarms_are_problems():
    text = cluster_status(ALL, alarms=[{"node": "rabbit@db", "resource": "disk"}])
    assert rabbitmq.member_problems(rabbitmq.parse_cluster_status(text), ALL)[0].startswith(
        "alarms: ")


def test_quorum_queue_without_leader_or_led_by_a_stopped_node():
    queues = rabbitmq.parse_queues(QUEUES)
    assert [q.type for q in queues] == ["quorum", "classic", "quorum", "quorum"]
    assert rabbitmq.queue_problems(queues, ALL) == [
        "1 quorum queue(s) without a leader: compute.cmp1"]
    # ctl2 stopped: the queue it led has no leader either
    assert rabbitmq.queue_problems(queues, ["rabbit@ctl1", "rabbit@db"]) == [
        "2 quorum queue(s) without a leader: compute.cmp1, q-plugin"]


def test_many_leaderless_queues_are_counted_not_all_named():
    rows = [{"name": f"q{i:02}", "type": "quorum", "leader": "", "members": []}
            for i in range(12)]
    found = rabbitmq.queue_problems(rabbitmq.parse_queues(json.dumps(rows)), ALL)
    assert found == ["12 quorum queue(s) without a leader: q00, q01, q02, q03, q04 and 7 more"]


def test_no_queue_at_all_is_fine():
    assert rabbitmq.parse_queues("") == []
    assert rabbitmq.parse_queues("[]") == []


# -- the target section
ADDRESSES = {"ctl1": "198.18.0.11", "ctl2": "198.18.0.12", "db": "198.18.0.20",
             "cmp1": "198.18.0.31"}
CLUSTERS = {
    "database": {"type": "galera", "service": "mariadb", "members": ["ctl1", "ctl2", "db"],
                 "ports": [3306, 4567, 4568, 4444]},
    "messaging": {"type": "rabbitmq", "service": "rabbitmq",
                  "members": ["ctl1", "ctl2", "db"], "ports": [5672, 25672, 4369]},
}


def write_target(tmp_path, clusters=None, username="root"):
    data = {"name": "t", "destructive": True,
            "ssh": {"username": username, "private_key_file": "/nonexistent", "port": 22},
            "nodes": {n: {"address": a} for n, a in ADDRESSES.items()},
            "services": {"keystone": {"nodes": ["ctl1"], "port": 5000, "api": "identity"},
                         "mariadb": {"nodes": ["ctl1", "ctl2", "db"], "grep": "mariadbd"},
                         "rabbitmq": {"nodes": ["ctl1", "ctl2", "db"], "grep": "beam.smp"}}}
    if clusters is not None:
        data["clusters"] = clusters
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    return load(path)


def test_clusters_section_is_read_with_addresses_and_quorum(tmp_path):
    found = clusters_of(write_target(tmp_path, CLUSTERS))
    database = found["database"]
    assert database.members == ("ctl1", "ctl2", "db") and database.quorum == 2
    assert database.addresses["db"] == "198.18.0.20"
    assert found["messaging"].node_name("ctl2") == "rabbit@ctl2"
    assert found["messaging"].member_of("rabbit@db") == "db"


def test_a_target_without_clusters_has_none(tmp_path):
    assert clusters_of(write_target(tmp_path)) == {}


@pytest.mark.parametrize(("change", "message"), [
    ({"type": "mysql"}, "type must be one of galera, rabbitmq"),
    ({"members": ["ctl1", "nowhere"]}, "names nowhere, not a node"),
    ({"members": ["ctl1"]}, "two or more distinct node names"),
    ({"ports": [4567, 22]}, "holds 22: SSH and API ports are never partitioned"),
    ({"ports": [5000]}, "holds 5000"),
    ({"ports": []}, "must list the cluster's TCP ports"),
    ({"colour": "red"}, "unknown keys colour"),
])
def test_bad_clusters_section_says_what_and_where(tmp_path, change, message):
    with pytest.raises(TargetError, match=message):
        clusters_of(write_target(tmp_path, {"database": {**CLUSTERS["database"], **change}}))


def test_clusters_must_be_a_mapping(tmp_path):
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "clusters": ["database"]}))
    with pytest.raises(TargetError, match="'clusters' must be a mapping"):
        load(path)


# -- one report per cluster, from what each member printed
class Printed:
    """A runner that answers each member's command with text (or fails as SSH would)."""

    def __init__(self, answers):
        self.answers, self.lines = answers, []

    def __call__(self, address, line, timeout):
        self.lines.append((address, line))
        member = next(n for n, a in ADDRESSES.items() if a == address)
        answer = self.answers[(member, "queues" if "list_queues" in line else "status")]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_report_names_the_member_and_what_it_reports(tmp_path):
    target = write_target(tmp_path, CLUSTERS)
    spec = clusters_of(target)["database"]
    run = Printed({("ctl1", "status"): SYNCED, ("ctl2", "status"): SYNCED,
                   ("db", "status"): DONOR})
    report = read_cluster(spec, Shell(target, run))
    assert report.problems == [
        "database member db: wsrep_local_state_comment=Donor/Desynced, expected Synced"]
    assert not report.whole
    assert all("SHOW GLOBAL STATUS LIKE" in line for _, line in run.lines)


def test_a_member_that_does_not_answer_is_named_with_the_error(tmp_path):
    target = write_target(tmp_path, CLUSTERS)
    spec = clusters_of(target)["database"]
    down = RuntimeError("'mysql -N -B -e ...' on 198.18.0.12 exited 1: ERROR 2002 (HY000): "
                        "Can't connect to local server through socket "
                        "'/run/mysqld/mysqld.sock' (2)")
    report = read_cluster(spec, Shell(target, Printed({
        ("ctl1", "status"): TWO_OF_THREE, ("ctl2", "status"): down,
        ("db", "status"): TWO_OF_THREE})))
    assert report.problems[0] == "database member ctl1: wsrep_cluster_size=2, expected 3"
    assert report.problems[1].startswith("database member ctl2: not answering: ")
    assert "Can't connect" in report.problems[1]


def test_rabbitmq_report_with_a_partition_and_a_leaderless_queue(tmp_path):
    target = write_target(tmp_path, CLUSTERS)
    spec = clusters_of(target)["messaging"]
    majority = ["rabbit@ctl1", "rabbit@ctl2"]
    report = read_cluster(spec, Shell(target, Printed({
        ("ctl1", "status"): cluster_status(majority, {"rabbit@ctl1": ["rabbit@db"]}),
        ("ctl2", "status"): cluster_status(majority, {"rabbit@ctl2": ["rabbit@db"]}),
        ("db", "status"): cluster_status(["rabbit@db"], {"rabbit@db": ["rabbit@ctl1",
                                                                        "rabbit@ctl2"]}),
        ("ctl1", "queues"): QUEUES})))
    assert report.problems == [
        "messaging member ctl1: running_nodes lacks rabbit@db (sees rabbit@ctl1, "
        "rabbit@ctl2); partitioned: rabbit@ctl1 cannot reach rabbit@db",
        "messaging member ctl2: running_nodes lacks rabbit@db (sees rabbit@ctl1, "
        "rabbit@ctl2); partitioned: rabbit@ctl2 cannot reach rabbit@db",
        "messaging member db: running_nodes lacks rabbit@ctl1, rabbit@ctl2 (sees "
        "rabbit@db); partitioned: rabbit@db cannot reach rabbit@ctl1, rabbit@ctl2",
        "messaging: 1 quorum queue(s) without a leader: compute.cmp1 (read on ctl1)"]


def test_whole_rabbitmq_cluster(tmp_path):
    target = write_target(tmp_path, CLUSTERS)
    spec = clusters_of(target)["messaging"]
    whole = json.dumps([{"name": "conductor", "type": "quorum", "leader": "rabbit@db",
                         "members": ALL}])
    report = read_cluster(spec, Shell(target, Printed({
        **{(m, "status"): cluster_status(ALL) for m in MEMBERS}, ("ctl1", "queues"): whole})))
    assert report.whole, report.problems


def test_a_non_root_ssh_user_runs_the_commands_through_sudo(tmp_path):
    target = write_target(tmp_path, CLUSTERS, username="cloud-admin")
    spec = clusters_of(target)["database"]
    run = Printed({(m, "status"): SYNCED for m in MEMBERS})
    assert read_cluster(spec, Shell(target, run)).whole
    assert all(line.startswith("sudo -n sh -c 'mysql -N -B -e") for _, line in run.lines)


# -- the steady state (Cloud): every cluster of the target
class FakeContext:
    def __init__(self, target):
        self._target = target

    def target(self):
        return self._target


def cluster_keywords(target, run):
    from ExtremeTesting.cloud.keywords.clusters import ClusterKeywords

    component = ClusterKeywords(FakeContext(target))
    component.shell_factory = lambda t: Shell(t, run)
    return component


def test_steady_state_names_a_member_that_is_not_synced(tmp_path):
    from ExtremeTesting.cloud.apierrors import CloudError

    target = write_target(tmp_path, CLUSTERS)
    answers = {**{(m, "status"): cluster_status(ALL) for m in MEMBERS},
               ("ctl1", "queues"): "[]"}
    database = {("ctl1", "status"): SYNCED, ("ctl2", "status"): SYNCED,
                ("db", "status"): DONOR}

    def run(address, line, timeout):
        source = database if "mysql" in line else answers
        return Printed(source)(address, line, timeout)

    checks = cluster_keywords(target, run)
    with pytest.raises(CloudError) as failed:
        checks.every_cluster_should_be_whole()
    assert "1 problem(s): database member db: wsrep_local_state_comment=Donor/Desynced, " \
           "expected Synced." in str(failed.value)
    checks.cluster_should_be_whole("messaging")  # the other cluster is whole
    database[("db", "status")] = SYNCED
    checks.every_cluster_should_be_whole()


def test_steady_state_without_clusters_skips_saying_so(tmp_path):
    from robot.api import SkipExecution

    checks = cluster_keywords(write_target(tmp_path), None)
    with pytest.raises(SkipExecution, match="no clusters: section"):
        checks.every_cluster_should_be_whole()


def test_the_steady_state_check_includes_the_clusters():
    import inspect

    from ExtremeTesting.cloud.keywords.health import HealthKeywords

    source = inspect.getsource(HealthKeywords.cloud_should_be_healthy)
    assert '("clusters", ClusterKeywords(self.ctx).every_cluster_should_be_whole)' in source


def test_the_example_target_documents_a_3_controller_cluster_pair():
    from pathlib import Path

    example = load(Path(__file__).parents[2] / "variables" / "example-3-controllers.yaml")
    found = clusters_of(example)
    assert found["database"].members == ("ctl1", "ctl2", "ctl3")
    assert found["database"].type == "galera" and found["messaging"].type == "rabbitmq"
    assert found["messaging"].ports == (5672, 25672, 4369)


# -- output captured from the real MariaDB/Galera and RabbitMQ of this machine (data/clusters)
def captured(name):
    from pathlib import Path

    return (Path(__file__).parent / "data" / "clusters" / name).read_text()


def test_captured_galera_member_of_one():
    status = galera.parse_status(captured("galera-status-one-member.txt"))
    assert galera.member_problems(status, 1) == []
    assert galera.member_problems(status, 3) == ["wsrep_cluster_size=1, expected 3"]
    assert status["wsrep_evs_delayed"] == "" and status["wsrep_last_committed"] == "1"


def test_captured_grastate_and_recovered_position():
    clean = galera.parse_grastate(captured("galera-grastate-clean.dat"))
    killed = galera.parse_grastate(captured("galera-grastate-killed.dat"))
    assert (clean.seqno, clean.safe_to_bootstrap) == (4, True)
    assert (killed.seqno, killed.safe_to_bootstrap) == (-1, True)
    assert galera.parse_recovered(captured("galera-wsrep-recover.log")) == (
        "0a73650c-f166-11f1-8ef2-4adc0149b0cf", 6)


def test_captured_rabbitmq_status_and_queues():
    status = rabbitmq.parse_cluster_status(captured("rabbitmq-cluster-status.json"))
    assert status.running_nodes == ["xtfh@localhost"] and status.partitions == {}
    assert rabbitmq.member_problems(status, ["xtfh@localhost"]) == []
    queues = rabbitmq.parse_queues(captured("rabbitmq-list-queues.json"))
    assert [(q.name, q.type, q.leader) for q in queues] == [
        ("qq-test", "quorum", "xtfh@localhost"), ("classic-test", "classic", "")]
    assert rabbitmq.queue_problems(queues, status.running_nodes) == []
    assert rabbitmq.queue_problems(queues, []) == [
        "1 quorum queue(s) without a leader: qq-test"]

"""The cluster faults on the lab's real Galera and RabbitMQ clusters: a killed member
rejoins and is Synced, a partition left by a SIGKILLed run is undone by ``extreme
recover``, and the steady state names a member that is not Synced."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from ExtremeTesting.clusters import clusters_of
from ExtremeTesting.cloud.apierrors import CloudError
from ExtremeTesting.cloud.keywords.clusters import ClusterKeywords
from ExtremeTesting.faults import Faults
from ExtremeTesting.target import load

EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]
REJOIN = timedelta(minutes=3)  # >= 3x the rejoin seen on the lab (IST, rabbit boot)

SUITE = """\
*** Settings ***
Library    ExtremeTesting.Faults    {target}    ledger={ledger}

*** Test Cases ***
Partition Then Hang
    Partition Cluster Member    messaging    db    from the others
    Log To Console    PARTITIONED
    Sleep    300 s
"""


@pytest.fixture(scope="module")
def target(running_lab):
    found = load(os.environ["EXTREME_TARGET"])
    if not found.section("clusters"):
        pytest.skip("the lab's target has no clusters: section (not a clustered lab)")
    return found


@pytest.fixture
def faults(target, tmp_path):
    library = Faults(str(target.path), ledger=str(tmp_path / "ledger.jsonl"))
    yield library
    library.restore_all_faults()


def rules_on(ssh, target, node: str) -> list[str]:
    listing = ssh(target.node(node)["address"], "iptables -S").stdout
    return [line for line in listing.splitlines() if "extreme-fault-" in line]


@pytest.mark.parametrize("cluster", ["database", "messaging"])
def test_a_killed_member_rejoins_and_is_synced(faults, cluster):
    assert faults.get_cluster_problems(cluster) == []
    assert faults.kill_cluster_member(cluster, "db") == ["db"]
    problems = faults.get_cluster_problems(cluster)
    assert any(p.startswith(f"{cluster} member db: not answering") for p in problems), \
        problems
    faults.restore_all_faults()
    seconds = faults.cluster_should_be_whole_within(cluster, REJOIN)
    print(f"{cluster}: db rejoined and is whole {seconds:.1f} s after its start")
    assert faults.get_cluster_problems(cluster) == []


def test_stopping_two_of_three_is_refused_on_the_lab(faults):
    before = faults.engine.ledger.entries()
    with pytest.raises(Exception, match="would be left with db, 1 of 3"):
        faults.stop_cluster_members("database", "ctl1", "ctl2")
    assert faults.engine.ledger.entries() == before
    assert faults.get_cluster_problems("database") == []


def test_a_partition_left_by_a_killed_run_is_undone_by_recover(target, ssh, tmp_path,
                                                               robot_until):
    ledger = tmp_path / "ledger.jsonl"
    suite = tmp_path / "partition.robot"
    suite.write_text(SUITE.format(target=target.path, ledger=ledger))
    assert rules_on(ssh, target, "db") == []
    with robot_until(suite, tmp_path, "PARTITIONED"):
        pass
    spec = clusters_of(target)["messaging"]
    rules = rules_on(ssh, target, "db")
    assert len(rules) == 2 * len(spec.others("db")) * len(spec.ports), rules
    assert not any("--dport 22 " in r for r in rules)
    # SSH still works while partitioned (these very calls), and only db holds rules
    assert rules_on(ssh, target, "ctl1") == [] and rules_on(ssh, target, "ctl2") == []

    first = subprocess.run([*EXTREME, "recover", "--target", str(target.path), "--ledger",
                            str(ledger)], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Recovered 1 of 1" in first.stdout
    assert rules_on(ssh, target, "db") == []
    library = Faults(str(target.path), ledger=str(ledger))
    library.cluster_should_be_whole_within("messaging", REJOIN)
    second = subprocess.run([*EXTREME, "recover", "--target", str(target.path), "--ledger",
                             str(ledger)], capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and "Nothing to recover" in second.stdout


def test_the_steady_state_names_a_member_that_is_not_synced(target, ssh):
    class Context:
        def target(self):
            return target

    checks = ClusterKeywords(Context())
    checks.cluster_should_be_whole("database")
    address = target.node("db")["address"]
    ssh(address, "mysql -e 'SET GLOBAL wsrep_desync=ON'")
    try:
        with pytest.raises(CloudError) as failed:
            checks.every_cluster_should_be_whole()
        assert "database member db: wsrep_local_state_comment=Donor/Desynced, expected " \
               "Synced" in str(failed.value)
    finally:
        ssh(address, "mysql -e 'SET GLOBAL wsrep_desync=OFF'")
    deadline = time.monotonic() + 60
    while True:
        try:
            checks.cluster_should_be_whole("database")
            break
        except CloudError:
            assert time.monotonic() < deadline, "db stayed desynced"
            time.sleep(1)


def test_a_whole_galera_stop_is_undone_by_a_bootstrap_from_the_last_stopped(faults):
    assert faults.stop_whole_cluster("database") == ["ctl1", "ctl2", "db"]
    assert faults.get_bootstrap_member("database") == "db"  # the last one stopped cleanly
    started = time.monotonic()
    faults.restore_all_faults()
    seconds = faults.cluster_should_be_whole_within("database", REJOIN)
    print(f"database: whole {time.monotonic() - started:.1f} s after the undo began "
          f"({seconds:.1f} s after it returned)")


def test_a_crashed_galera_is_bootstrapped_from_the_highest_recovered_seqno(faults):
    faults.stop_cluster_members("database", "ctl1", "ctl2", "db", how="kill",
                                allow_quorum_loss=True)
    chosen = faults.get_bootstrap_member("database")  # --wsrep-recover on each member
    started = time.monotonic()
    faults.restore_all_faults()
    seconds = faults.cluster_should_be_whole_within("database", REJOIN)
    print(f"database: bootstrapped from {chosen}, whole {time.monotonic() - started:.1f} s "
          f"after the undo began ({seconds:.1f} s after it returned)")


def test_quorum_lost_by_freezing_two_comes_back_by_itself_once_resumed(faults):
    faults.stop_cluster_members("database", "ctl2", "db", how="freeze",
                                allow_quorum_loss=True)
    deadline = time.monotonic() + 60
    while not any("wsrep_cluster_status=non-Primary" in p
                  for p in faults.get_cluster_problems("database")):
        assert time.monotonic() < deadline, "ctl1 stayed Primary with two of three frozen"
        time.sleep(1)
    faults.unfreeze_cluster_member("database", "ctl2", "db")
    seconds = faults.cluster_should_be_whole_within("database", REJOIN)
    print(f"database: Primary again by itself {seconds:.1f} s after the resume")

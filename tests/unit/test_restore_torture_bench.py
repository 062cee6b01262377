"""bench/restore_torture.py without a lab: the cluster faults it plants (one member of each
cluster, every kind in turn, quorum kept) and the suite it writes for them."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest
from robot.api import get_model

BENCH = Path(__file__).resolve().parents[2] / "bench" / "restore_torture.py"
MEMBERS = {"database": ["ctl1", "ctl2", "db"], "messaging": ["ctl1", "ctl2", "db"]}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("restore_torture", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["restore_torture"] = module
    spec.loader.exec_module(module)
    return module


def test_one_fault_per_cluster_on_a_member_of_it(bench):
    rng = random.Random(7)
    for index in range(1, 11):
        faults = bench.cluster_faults(MEMBERS, index, rng)
        assert sorted(cluster for _, cluster, _ in faults) == ["database", "messaging"]
        for kind, cluster, member in faults:
            assert kind in bench.KINDS
            assert member in MEMBERS[cluster]


def test_four_runs_in_a_row_plant_every_kind_in_every_cluster(bench):
    rng = random.Random(1)
    seen = {"database": set(), "messaging": set()}
    for index in range(5, 9):
        for kind, cluster, _ in bench.cluster_faults(MEMBERS, index, rng):
            seen[cluster].add(kind)
    assert seen == {"database": {"kill", "stop", "freeze", "partition"},
                    "messaging": {"kill", "stop", "freeze", "partition"}}


def test_the_two_clusters_get_different_kinds_in_one_run(bench):
    kinds = [kind for kind, _, _ in bench.cluster_faults(MEMBERS, 3, random.Random(0))]
    assert kinds[0] != kinds[1]


def test_without_clusters_the_suite_has_only_the_other_faults(bench):
    text = bench.suite_text(bench.cluster_faults({}, 1, random.Random(0)))
    assert "Cluster" not in text
    assert "Freeze Service    nova-scheduler    on=ctl1" in text


def test_the_suite_parses_and_calls_the_cluster_keywords(bench):
    faults = [("partition", "database", "db"), ("freeze", "messaging", "ctl2")]
    text = bench.suite_text(faults)
    model = get_model(text)
    calls = []
    for section in model.sections:
        for test in getattr(section, "body", []):
            for step in getattr(test, "body", []):
                name = getattr(step, "keyword", None)
                if name:
                    calls.append((name, list(step.args)))
    assert ("Partition Cluster Member", ["database", "db", "from the others"]) in calls
    assert ("Freeze Cluster Member", ["messaging", "ctl2"]) in calls
    assert calls[-1][0] == "Sleep"


def test_the_torture_can_add_a_node_first_and_counts_added_nodes(bench):
    text = bench.suite_text([("kill", "database", "db")], add_node="cmp2")
    calls = [step.keyword for section in get_model(text).sections
             for test in getattr(section, "body", []) for step in getattr(test, "body", [])
             if getattr(step, "keyword", None)]
    assert calls[:2] == ["Add Compute Node", "Freeze Service"]
    assert "Library    ExtremeTesting.Changes    ${TARGET}" in text
    assert "Add Compute Node" not in bench.suite_text([])
    assert "Changes" not in bench.suite_text([]) and "{" not in bench.suite_text([]).replace(
        "${TARGET}", "")
    status = {"nodes": [{"name": "cmp1", "power": "on"},
                        {"name": "cmp2", "power": "on", "added": "up"},
                        {"name": "ctl3", "power": "off", "added": "removing"}]}
    assert bench.added_nodes(status) == ["cmp2", "ctl3"]


def test_neutrons_own_security_group_drops_are_not_a_faults_leftover(bench):
    """With the data plane the Linux bridge agent's chains hold DROP rules of their own
    (the lab of 2026-12-07 refused to start the torture on them); an unplug's DROP rule in
    INPUT still counts."""
    fallback = ('-A neutron-linuxbri-sg-fallback -m comment --comment "Default drop rule '
                'for unmatched traffic." -j DROP')
    assert bench.neutrons(fallback)
    assert not bench.neutrons("-A INPUT -p tcp -m tcp --dport 9292 -j DROP")
    assert not bench.neutrons("-P INPUT ACCEPT")

"""How long the load balancer took to take a failing backend out of rotation: the watch's
transitions from a fake reader, the removal times on synthetic timelines."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ExtremeTesting import events
from ExtremeTesting.loadbalancer import Server
from ExtremeTesting.monitor import lbwatch
from ExtremeTesting.monitor.lbwatch import BackendWatch, Transition, removals


@dataclass
class S:
    start: float
    ok: bool


def test_the_watch_keeps_each_change_of_a_watched_server_and_survives_a_failed_read():
    answers = iter([
        [Server("keystone", "ctl1", "UP"), Server("keystone", "ctl2", "UP"),
         Server("stats", "x", "UP")],
        RuntimeError("connection refused"),
        [Server("keystone", "ctl1", "DOWN"), Server("keystone", "ctl2", "UP"),
         Server("stats", "x", "DOWN")],
        [Server("keystone", "ctl1", "UP"), Server("keystone", "ctl2", "UP")],
    ])

    def read():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    watch = BackendWatch(read, 0.25, "fake", {"keystone": "identity"})
    events.clear()
    for _ in range(4):
        watch.poll()
    assert (watch.polls, watch.errors) == (3, 1)
    assert "connection refused" in watch.last_error
    assert [(t.server, t.before, t.after) for t in watch.transitions] == [
        ("ctl1", "UP", "DOWN"), ("ctl1", "DOWN", "UP")]  # the stats backend is not watched
    assert [e.action for e in events.between(0)] == ["ctl1 DOWN", "ctl1 UP"]
    events.clear()


def test_removal_counts_from_the_first_failed_request_of_its_service():
    # identity probed at 10/s from t=0; every other request fails from t=2.0 s; the
    # balancer's DOWN seen at the poll of t=5.0 s (previous poll 4.75 s)
    identity = [S(i / 10, not (i >= 20 and i % 2 == 0)) for i in range(80)]
    compute = [S(i / 10, i != 10) for i in range(80)]  # its failure is no identity failure
    changes = [Transition(5.0, 4.75, "keystone", "ctl1", "UP", "DOWN 1/2"),
               Transition(9.0, 8.75, "keystone", "ctl1", "DOWN", "UP")]
    [found] = removals(changes, {"keystone": "identity"},
                       {"version-identity": identity, "version-compute": compute},
                       {"version-identity": "identity", "version-compute": "compute"},
                       fault_start=1.5, origin=0.0)
    assert (found["backend"], found["server"], found["service"]) == (
        "keystone", "ctl1", "identity")
    assert found["first_failure"] == pytest.approx(2.0)
    assert found["down"] == pytest.approx(4.875)
    assert found["seconds"] == pytest.approx(2.875)
    assert found["uncertainty"] == pytest.approx(0.125 + 0.05)
    assert not found["before_any_failure"]


def test_a_server_taken_out_before_any_request_failed_took_no_time():
    samples = [S(i / 10, True) for i in range(50)]
    [found] = removals([Transition(3.0, 2.75, "nova", "ctl2", "UP", "DOWN")],
                       {"nova": "compute"}, {"p": samples}, {"p": "compute"}, 1.0, 0.0)
    assert found["seconds"] == 0 and found["before_any_failure"]
    assert found["first_failure"] is None


def test_failures_before_the_fault_or_an_earlier_change_do_not_count():
    samples = [S(i / 10, i not in (5, 31, 33)) for i in range(60)]
    changes = [Transition(2.0, 1.75, "b", "s", "DOWN", "UP"),
               Transition(4.0, 3.75, "b", "s", "UP", "DOWN")]
    [found] = removals(changes, {"b": "identity"}, {"p": samples}, {"p": "identity"},
                       fault_start=None, origin=0.0)
    assert found["first_failure"] == pytest.approx(3.1)  # not 0.5: before the UP at 2 s


def test_no_load_balancer_in_the_target_no_watch(tmp_path):
    from ExtremeTesting import target

    path = tmp_path / "t.yaml"
    path.write_text("name: t\nservices: {keystone: {api: identity, nodes: [ctl1]}}\n")
    assert lbwatch.from_target(target.load(path), {"identity"}) is None
    path.write_text("name: t\nnodes: {lb: {address: 192.0.2.1}}\n"
                    "load_balancer: {type: haproxy, node: lb, stats_url: 'http://192.0.2.1:8404/'}\n"
                    "services: {keystone: {api: identity, nodes: [ctl1]},\n"
                    "           nova-api: {api: compute, nodes: [ctl1]}}\n")
    watch = lbwatch.from_target(target.load(path), {"identity"})
    assert watch is not None and watch.backends == {"keystone": "identity"}
    assert watch.interval == 0.25 and "stats page" in watch.source

"""Request-loss accounting with fake listings of what the cloud holds."""

import pytest

from ExtremeTesting.monitor.reconcile import (
    Held,
    Write,
    WriteLedger,
    reconcile,
    settle_and_reconcile,
    status_ok,
)


def write(name: str, **state) -> Write:
    return Write(name=name, probe="w", sent=0.0, **state)


def test_a_clean_run_reconciles_clean():
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True, deleted=True),
              write("b", accepted=True, resource_id="2")]
    result = reconcile(writes, [Held("b", "2", "ACTIVE")])
    assert result.clean
    assert (result.checked, result.accepted) == (2, 2)


def test_accepted_but_missing_is_lost():
    writes = [write("a", accepted=True, resource_id="1")]
    result = reconcile(writes, [])
    assert not result.clean
    assert [item["name"] for item in result.lost] == ["a"]
    assert "never deleted" in result.lost[0]["why"]


def test_gone_when_the_monitor_deleted_it_is_lost():
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True,
                    missing_at_delete=True, seen_before_delete=False,
                    create_request_id="req-c1", delete_request_id="req-d1")]
    result = reconcile(writes, [])
    assert [item["why"] for item in result.lost] == [
        "already gone when the monitor deleted it (not there just before our delete)"]
    assert result.lost[0]["request_ids"] == "create req-c1, delete req-d1"
    assert not result.deleted_twice


def test_a_404_to_a_delete_of_something_that_was_there_is_deleted_twice_not_lost():
    # A load balancer re-sent our DELETE: the first attempt deleted it, ours saw 404.
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True,
                    missing_at_delete=True, seen_before_delete=True,
                    delete_request_id="req-d1")]
    result = reconcile(writes, [])
    assert not result.lost and not result.clean
    [item] = result.deleted_twice
    assert item["name"] == "a" and "earlier attempt" in item["why"]
    assert "delete req-d1" in item["request_ids"]


def test_a_404_to_a_delete_unknown_before_stays_lost_and_says_so():
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True,
                    missing_at_delete=True)]
    [item] = reconcile(writes, []).lost
    assert "not known" in item["why"]


def test_each_kind_is_its_own_list():
    writes = [write("lost", accepted=True, resource_id="1"),
              write("dup", accepted=True, resource_id="2", create_request_id="req-2"),
              write("twice", accepted=True, resource_id="3", delete_sent=True,
                    missing_at_delete=True, seen_before_delete=True),
              write("stuck", accepted=True, resource_id="4"),
              write("fine", accepted=True, resource_id="5")]
    held = [Held("dup", "2"), Held("dup", "22"), Held("stuck", "4", "ERROR"),
            Held("fine", "5", "ACTIVE")]
    result = reconcile(writes, held)
    assert ([i["name"] for i in result.lost], [i["name"] for i in result.duplicates],
            [i["name"] for i in result.deleted_twice],
            [i["name"] for i in result.non_recoverable]) == (
        ["lost"], ["dup"], ["twice"], ["stuck"])
    assert result.duplicates[0]["request_ids"] == "create req-2"
    assert result.non_recoverable[0]["why"] == "left in state ERROR"


def test_unconfirmed_delete_of_a_missing_resource_is_not_lost():
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True)]
    assert reconcile(writes, []).clean


def test_created_twice_is_a_duplicate():
    writes = [write("a", accepted=True, resource_id="1")]
    result = reconcile(writes, [Held("a", "1"), Held("a", "9")])
    assert [(d["name"], d["held"]) for d in result.duplicates] == [("a", 2)]


def test_held_under_another_id_after_a_confirmed_delete_is_a_duplicate():
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True, deleted=True)]
    result = reconcile(writes, [Held("a", "9")])
    assert len(result.duplicates) == 1 and result.duplicates[0]["id"] == "9"
    assert not result.lost and not result.non_recoverable


def test_held_under_our_id_after_a_confirmed_delete_is_stuck():
    writes = [write("a", accepted=True, resource_id="1", delete_sent=True, deleted=True)]
    result = reconcile(writes, [Held("a", "1", "ACTIVE")])
    assert not result.duplicates
    assert [i["why"] for i in result.non_recoverable] == [
        "still held after our delete was accepted"]


def test_failed_create_that_took_effect_is_unconfirmed_not_lost():
    writes = [write("a", error="timeout after 1 s")]
    result = reconcile(writes, [Held("a", "5", "ACTIVE")])
    assert result.clean
    assert [u["why"] for u in result.unconfirmed] == ["timeout after 1 s"]


def test_transitional_or_error_state_is_non_recoverable():
    writes = [write("a", accepted=True, resource_id="1"), write("b", accepted=True,
                                                                 resource_id="2")]
    result = reconcile(writes, [Held("a", "1", "BUILD"), Held("b", "2", "ERROR")])
    assert sorted(n["status"] for n in result.non_recoverable) == ["BUILD", "ERROR"]
    assert not result.clean
    assert status_ok("ACTIVE") and status_ok("") and status_ok("DOWN")
    assert not status_ok("PENDING_CREATE")


def test_settling_polls_until_the_transitional_state_clears():
    listings = iter([[Held("a", "1", "BUILD")], [Held("a", "1", "BUILD")],
                     [Held("a", "1", "ACTIVE")]])
    calls = []

    def lister():
        calls.append(1)
        return next(listings)

    result = settle_and_reconcile(lambda: [write("a", accepted=True, resource_id="1")],
                                  lister, settle=5.0, poll=0.01)
    assert result.clean
    assert len(calls) == 3
    assert result.settled_after is not None


def test_settling_gives_up_and_reports_what_stayed_broken():
    result = settle_and_reconcile(lambda: [write("a", accepted=True, resource_id="1")],
                                  lambda: [Held("a", "1", "BUILD")], settle=0.05, poll=0.01)
    assert [n["status"] for n in result.non_recoverable] == ["BUILD"]
    assert result.settled_after is None


def test_a_cloud_that_cannot_be_listed_is_an_error():
    def broken():
        raise RuntimeError("HTTP 503")

    result = settle_and_reconcile(lambda: [write("a", accepted=True)], broken, settle=0.0)
    assert not result.clean
    assert "HTTP 503" in result.error


def test_ledger_is_bounded_by_forgetting_confirmed_deletes():
    ledger = WriteLedger(cap=100)
    for i in range(300):
        ledger.add(write(f"w{i}", accepted=True, delete_sent=True, deleted=True))
    ledger.add(write("open", accepted=True))
    kept = ledger.writes()
    assert len(kept) <= 101
    assert ledger.forgotten >= 199
    assert "open" in {w.name for w in kept}
    ledger.update("open", deleted=True)
    assert next(w for w in ledger.writes() if w.name == "open").deleted
    with pytest.raises(StopIteration):
        next(w for w in ledger.writes() if w.name == "w0")


def test_with_the_monitors_origin_each_entry_says_when_its_create_was_sent():
    # A create that timed out has no request id: its send time finds it in an access log.
    writes = [Write(name="a", probe="w", sent=1005.25, error="timeout after 5 s"),
              Write(name="b", probe="w", sent=1007.5, accepted=True, resource_id="2")]
    held = [Held("a", "1", "ACTIVE"), Held("a", "9", "ACTIVE")]
    result = reconcile(writes, held, origin=1000.0)
    [duplicate] = result.duplicates
    assert (duplicate["name"], duplicate["sent_t"]) == ("a", 5.25)
    assert duplicate["request_ids"] == "no request id"
    [lost] = result.lost
    assert (lost["name"], lost["sent_t"]) == ("b", 7.5)
    assert "sent_t" not in reconcile(writes, held).duplicates[0]

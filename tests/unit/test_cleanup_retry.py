"""The one leftover clean-up (cloud/tracking.py, used by the Cloud and Load libraries):
teardowns ask again while the API answers 5xx or times out, bounded by a deadline; what
is still left is named, and the next run's purge of earlier runs removes it — a server
stuck in BUILD included."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from ExtremeTesting.cloud import tracking
from ExtremeTesting.cloud.apierrors import CloudError
from ExtremeTesting.load import cleanup as load_cleanup

sys.path.insert(0, str(Path(__file__).parent))
from test_cloud_fake import FakeCloud, FakeClock, http_error  # noqa: E402

RUN1, RUN2 = "xt-101010aaaa-", "xt-202020bbbb-"


def server(cloud: FakeCloud, name: str, status: str = "ACTIVE"):
    made = cloud.add("server", name=name, status=status)
    return tracking.Tracked("server", made.id, name)


def deletes(cloud: FakeCloud) -> int:
    return sum(1 for _, method, _, _ in cloud.calls if method == "delete_server")


def test_a_teardown_asks_again_while_the_api_answers_503():
    cloud, clock = FakeCloud(), FakeClock()
    tracked = server(cloud, RUN1 + "vm-1")
    cloud.fail_on("compute", "delete_server", http_error(503, "Service Unavailable"), times=2)
    problems = tracking.clean_up(cloud, [tracked], timedelta(seconds=30),
                                 retry_for=timedelta(seconds=60), sleep=clock.sleep,
                                 clock=clock)
    assert problems == []
    assert cloud.named(RUN1) == []
    assert deletes(cloud) == 3
    assert clock.now < 60


def test_what_is_still_left_at_the_deadline_is_named_and_the_next_purge_removes_it():
    cloud, clock = FakeCloud(), FakeClock()
    stuck = server(cloud, RUN1 + "vm-stuck", status="BUILD")
    cloud.fail_on("compute", "delete_server", http_error(503, "Service Unavailable"))
    problems = tracking.clean_up(cloud, [stuck], timedelta(seconds=30),
                                 retry_for=timedelta(seconds=20), sleep=clock.sleep,
                                 clock=clock)
    assert [t.name for t, _ in problems] == [RUN1 + "vm-stuck"]
    assert "503" in problems[0][1] and RUN1 + "vm-stuck" in problems[0][1]
    assert 2 <= deletes(cloud) <= 6  # asked again, a bounded number of times
    assert clock.now <= 20  # never beyond the deadline
    # the next run: the API answers again; its purge of earlier runs takes the BUILD server
    cloud.failures.clear()
    found, problems = tracking.purge(cloud, "xt-", timedelta(seconds=30),
                                     exclude_prefix=RUN2, sleep=clock.sleep, clock=clock)
    assert [(t.kind, t.name) for t in found] == [("server", RUN1 + "vm-stuck")]
    assert problems == [] and cloud.named("xt-") == []


def test_a_client_error_is_not_retried():
    cloud, clock = FakeCloud(), FakeClock()
    tracked = server(cloud, RUN1 + "vm-locked")
    cloud.fail_on("compute", "delete_server", http_error(409, "locked"))
    problems = tracking.clean_up(cloud, [tracked], timedelta(seconds=30),
                                 sleep=clock.sleep, clock=clock)
    assert len(problems) == 1 and deletes(cloud) == 1 and clock.sleeps == []


def test_listing_leftovers_asks_again_on_5xx_and_timeouts_but_not_on_403():
    cloud, clock = FakeCloud(), FakeClock()
    server(cloud, RUN1 + "vm-1", status="BUILD")
    cloud.fail_on("compute", "servers", http_error(503, "Service Unavailable"), times=1)
    cloud.fail_on("network", "networks", TimeoutError("read timed out"), times=1)
    found = tracking.find_leftovers(cloud, "xt-", sleep=clock.sleep, clock=clock)
    assert [t.name for t in found] == [RUN1 + "vm-1"] and len(clock.sleeps) == 2
    cloud.fail_on("compute", "servers", http_error(403, "Forbidden"))
    with pytest.raises(CloudError, match="403"):
        tracking.find_leftovers(cloud, "xt-", sleep=clock.sleep, clock=clock)


def test_a_listing_that_stays_down_fails_at_the_deadline():
    cloud, clock = FakeCloud(), FakeClock()
    cloud.fail_on("compute", "servers", http_error(503, "Service Unavailable"))
    with pytest.raises(CloudError, match="Listing servers"):
        tracking.find_leftovers(cloud, "xt-", retry_for=timedelta(seconds=15),
                                sleep=clock.sleep, clock=clock)
    assert clock.now <= 15


def test_the_load_library_cleans_up_with_the_same_code(monkeypatch):
    cloud = FakeCloud(delete_polls=0)
    for kind in ("network", "image"):
        cloud.add(kind, name=f"xload-ab12-1-{kind}")
    server(cloud, "xload-ab12-1-server", status="BUILD")
    cloud.add("network", name="production-net")
    used = []
    monkeypatch.setattr(tracking, "purge", lambda *a, **kw: used.append(a) or
                        tracking_purge(*a, **kw))
    report = load_cleanup.clean_up(cloud, "xload-ab12-1-", wait=1)
    assert used and report.clean and report.count == 3
    assert cloud.named("xload-") == [] and cloud.named("production") == [
        ("network", "production-net")]


tracking_purge = tracking.purge

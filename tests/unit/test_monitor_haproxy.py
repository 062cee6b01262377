"""Planting outages through an admin socket (a fake HAProxy on a Unix socket)."""

import pytest

from ExtremeTesting import events
from ExtremeTesting.monitor import haproxy


@pytest.fixture
def admin_socket(haproxy_socket):
    return haproxy_socket(lambda text: "No such backend.\n" if "nosuch" in text else "")


def test_plant_disables_then_enables_and_marks_the_timeline(admin_socket):
    path, commands = admin_socket
    events.clear()
    planted = haproxy.plant_outage(path, "keystone", ["ctl1", "ctl2"], 0.2)
    assert 0.2 <= planted < 1.5  # 0.2 s plus four socket round trips on a busy host
    assert commands == ["disable server keystone/ctl1", "disable server keystone/ctl2",
                        "enable server keystone/ctl1", "enable server keystone/ctl2"]
    assert [e.phase for e in events.between(0)] == ["in effect", "undone"]
    events.clear()


def test_refusals_are_errors_and_servers_come_back(admin_socket):
    path, commands = admin_socket
    with pytest.raises(RuntimeError, match="No such backend"):
        haproxy.plant_outage(path, "nosuch", ["ctl1"], 0.1)
    assert commands[-1] == "enable server nosuch/ctl1"  # the finally still ran
    events.clear()

"""The data plane on the lab, end to end: the Cloud library boots the data plane's guests
from the lab's target (its ``data_plane`` section), the first guest answers on its
floating IP from the client namespace, and a planted block of its traffic (an iptables
rule in cmp1's own network namespace, on the guest's tap, removed after) is measured by
the probe within its stated uncertainty.

Needs the running lab with its data plane (skipped while the lab's target has no
``data_plane`` section). About 1 minute: the boot, 3 s of steady probing, 6 s around the
block; everything booted is deleted at the end (the Cloud library's suite clean-up).
"""

from __future__ import annotations

import ipaddress
import threading
import uuid

import pytest

from ExtremeTesting import target as targets
from ExtremeTesting.cloud import Cloud
from ExtremeTesting.cloud import dataplane as fixture
from ExtremeTesting.lab import paths as lab_paths
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.monitor import dataplane as dp

SCOPE = "lab data-plane test"
BLOCK = 1.37  # seconds the guest's traffic is dropped: on no multiple of the 50 ms period


@pytest.fixture(scope="module")
def guests(running_lab):
    target = targets.load()
    if target.data.get("data_plane") is None:
        pytest.skip("the lab's target has no data_plane section (the lab's data plane is "
                    "not wired yet)")
    cloud = Cloud(str(target.path))
    cloud.ctx.tracker.start("suite", SCOPE)
    try:
        paths = cloud.boot_data_plane_guests()
        yield cloud, paths
    finally:
        made = [str(t) for t in cloud.ctx.tracker.suite_scope().resources]
        cloud.scope_ended("suite", SCOPE, None)
        left = cloud.ctx.tracker.all()
        assert not left, f"not deleted after the test (of {made}): {left}"


def test_a_booted_guest_answers_on_its_floating_ip_from_the_client_namespace(guests):
    cloud, paths = guests
    first = cloud.data_plane.fixture.guests[0]
    assert ipaddress.IPv4Address(first.floating_ip) in ipaddress.IPv4Network(
        topo.EXTERNAL_CIDR), first
    settings = cloud.data_plane.settings()
    assert ipaddress.IPv4Address(first.fixed_ip) in ipaddress.IPv4Network(
        settings.subnets[0]), first
    assert paths["north-south"] == (f"{lab_paths.netns(topo.CLIENT)} -> {first.floating_ip}"
                                    f":{topo.GUEST_ECHO_PORT}")
    server = cloud.get_server(first.server)
    assert server.status == "ACTIVE"
    assert getattr(server, "compute_host", None) in (None, "cmp1")
    # Answering now (ICMP and TCP echo), and for 3 s at the monitor's rate without a loss.
    assert fixture.answers("north-south", paths["north-south"]) == []
    result = dp.measure([dp.parse_path(name, spec) for name, spec in paths.items()], 3.0)
    for name, figures in result["paths"].items():
        assert figures["lost"] == 0, (name, figures["outages"])
        assert figures["samples_per_second"] >= 38, (name, figures)  # ICMP + TCP, 20/s


def test_a_planted_block_of_the_guests_traffic_is_measured_within_its_uncertainty(guests, ssh):
    cloud, paths = guests
    first = cloud.data_plane.fixture.guests[0]
    cmp1 = topo.node("cmp1").address
    tap = "tap" + first.port[:11]
    comment = f"xt-lab-test-{uuid.uuid4().hex[:8]}"
    # Bridged packets cross cmp1's FORWARD chain (br_netfilter, as the Linux bridge
    # agent's security groups need): drop those leaving for the guest's tap.
    rule = f"-m physdev --physdev-out {tap} -m comment --comment {comment} -j DROP"
    planted: dict[str, list[float]] = {}

    def plant() -> None:
        threading.Event().wait(1.5)  # a steady state before the block
        out = ssh(cmp1, f"date +%s.%N; iptables -w -I FORWARD 1 {rule}; date +%s.%N; "
                        f"sleep {BLOCK}; date +%s.%N; iptables -w -D FORWARD {rule}; "
                        f"date +%s.%N", timeout=30).stdout.split()
        planted["wall"] = [float(t) for t in out]

    try:
        result = dp.measure([dp.parse_path("north-south", paths["north-south"])], 7.0,
                            during=plant)
    finally:
        ssh(cmp1, f"while iptables -w -D FORWARD {rule} 2>/dev/null; do :; done",
            check=False)
    assert comment not in ssh(cmp1, "iptables -w -S FORWARD").stdout, "the rule was left"
    figures = result["paths"]["north-south"]
    assert len(figures["outages"]) == 1, (
        f"expected the planted block as one outage, got {figures['outages']} (no outage: "
        f"bridged traffic does not cross cmp1's iptables, is br_netfilter on?)")
    (outage,) = figures["outages"]
    # Where the block began and ended, relative to the monitor's origin (wall clocks of
    # one kernel), each an interval: the rule took effect between the two dates around it.
    origin = result["origin_wall"]
    start_low, start_high, end_low, end_high = (t - origin for t in planted["wall"])
    start_u, end_u = outage["start_uncertainty"], outage["end_uncertainty"]
    assert start_low - start_u <= outage["start"] <= start_high + start_u, (outage, planted)
    assert end_low - end_u <= outage["end"] <= end_high + end_u, (outage, planted)
    shortest, longest = end_low - start_high, end_high - start_low
    assert shortest - outage["uncertainty"] <= outage["duration"] <= \
        longest + outage["uncertainty"], (outage, planted)
    assert outage["uncertainty"] < 0.5, outage  # half a period each side plus the RTT
    assert figures["lost"] >= int(BLOCK * 20), figures  # each probe lost its samples
    assert fixture.answers("north-south", paths["north-south"]) == []  # and answers again

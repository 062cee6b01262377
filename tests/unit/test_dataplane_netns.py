"""The data-plane probe against real guests: a planted iptables block of one guest's
traffic, of a known duration, is measured within the probe's stated uncertainty, and the
probe's sockets live in the namespace they were opened in. Needs root, iproute2, iptables,
udhcpc and dnsmasq-base; runs in about 5 seconds."""

import os
import secrets
import shutil
import socket
import subprocess
import threading
import time

import pytest

from ExtremeTesting.lab import guests
from ExtremeTesting.monitor import dataplane as dp

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or bool(guests.missing_tools()) or not shutil.which("iptables"),
    reason=f"needs root, iptables and the Debian packages {guests.missing_tools()}")


@pytest.fixture
def pair(tmp_path):
    prefix = f"xt-dp-{secrets.token_hex(2)}"
    with guests.Segment(prefix, "10.213.8.0/24", state_root=tmp_path) as segment:
        yield segment.guest(prefix + "a"), segment.guest(prefix + "b")


def iptables(guest: guests.Guest, action: str) -> tuple[float, float]:
    """Adds or deletes a rule dropping everything the guest receives; the monotonic times
    just before and just after (the rule took effect somewhere in between)."""
    before = time.monotonic()
    subprocess.run(["ip", "netns", "exec", guest.name, "iptables", action, "INPUT", "-j",
                    "DROP"], check=True, timeout=10)
    return before, time.monotonic()


def test_a_planted_block_is_measured_within_the_stated_uncertainty(pair):
    a, b = pair
    planted: dict[str, tuple[float, float]] = {}
    block = 0.83  # seconds, on no multiple of the probe's period

    def plant():
        threading.Event().wait(0.6)  # a steady state before the fault
        planted["start"] = iptables(b, "-I")
        threading.Event().wait(block)
        planted["end"] = iptables(b, "-D")

    path = dp.DataPlanePath("east-west", b.ip, a.name, port=7)
    result = dp.measure([path], 2.5, during=plant, tcp_timeout=0.19)
    origin = result["origin_monotonic"]
    figures = result["paths"]["east-west"]
    assert figures["samples_per_second"] >= 38  # two probes of 20/s
    (outage,) = figures["outages"]
    # Where the block began and ended, relative to the monitor's origin, as intervals.
    start_low, start_high = (t - origin for t in planted["start"])
    end_low, end_high = (t - origin for t in planted["end"])
    start_u, end_u = outage["start_uncertainty"], outage["end_uncertainty"]
    assert start_low - start_u <= outage["start"] <= start_high + start_u
    assert end_low - end_u <= outage["end"] <= end_high + end_u
    shortest, longest = end_low - start_high, end_high - start_low
    assert shortest - outage["uncertainty"] <= outage["duration"] <= \
        longest + outage["uncertainty"]
    assert outage["uncertainty"] < 0.2  # half a 20 Hz period each side, plus microseconds
    assert figures["lost"] == outage["failed_samples"] >= int(block * 20)
    for probe in ("east-west icmp", "east-west tcp"):
        assert len(result["probes"][probe]["outages"]) == 1


def test_sockets_belong_to_the_namespace_they_were_opened_in(pair):
    a, b = pair
    inside = dp.IcmpProbe("p", address=b.ip, namespace=a.name, timeout=0.5).check()
    assert inside.ok, inside.error
    with dp.open_socket(b.name, socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((b.ip, 0))  # only b's namespace holds b's address
        assert server.getsockname()[0] == b.ip
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as here, pytest.raises(OSError):
        here.bind((b.ip, 0))  # and this machine's own namespace does not
    with pytest.raises(OSError):
        dp.open_socket("xt-dp-does-not-exist", socket.AF_INET, socket.SOCK_STREAM)


def test_one_thread_makes_a_namespaces_sockets_and_ends_when_none_is_asked(pair, monkeypatch):
    a, _ = pair
    monkeypatch.setattr(dp, "MAKER_IDLE", 0.3)

    def makers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == f"netns-{a.name}"]

    for _ in range(20):
        with dp.open_socket(a.name, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((a.ip, 0))  # made in a's namespace
    assert len(makers()) == 1  # the same thread made all 20
    deadline = time.monotonic() + 5
    while makers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert makers() == [] and a.name not in dp._MAKERS
    with dp.open_socket(a.name, socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((a.ip, 0))  # a new one starts when asked again

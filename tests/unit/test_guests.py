"""Guests on a bridge: a namespace each, an address from a real DHCP server (dnsmasq),
ICMP and a TCP echo answered between two guests, bounded processes, and nothing left
after removal. Needs root, iproute2, udhcpc and dnsmasq-base; runs in about a second."""

import ipaddress
import os
import secrets
import socket
import subprocess
from pathlib import Path

import pytest

from ExtremeTesting.lab import guests
from ExtremeTesting.monitor import dataplane as dp

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or bool(guests.missing_tools()),
    reason=f"needs root and the Debian packages {guests.missing_tools()}")


@pytest.fixture
def segment(tmp_path):
    prefix = f"xt-dp-{secrets.token_hex(2)}"
    with guests.Segment(prefix, "10.213.7.0/24", state_root=tmp_path) as made:
        yield made
    assert not [n for n in _namespaces() if n.startswith(prefix)]


def _namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def _echo(namespace: str, address: str, port: int, payload: bytes) -> bytes:
    with dp.open_socket(namespace, socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect((address, port))
        sock.sendall(payload)
        return sock.recv(100)


def test_two_guests_get_leases_and_answer_each_other(segment, tmp_path):
    a = segment.guest(segment.prefix + "a")
    b = segment.guest(segment.prefix + "b", mac="fa:16:3e:00:00:0b")
    leases = {a.ip, b.ip}
    assert len(leases) == 2
    assert all(ipaddress.ip_address(x) >= segment.network[128]
               for x in leases)  # dnsmasq's range: the upper half
    assert a.router == b.router == segment.server
    assert b.mac == "fa:16:3e:00:00:0b"
    assert "fa:16:3e:00:00:0b" in (tmp_path / f"{segment.prefix}segment" / "leases").read_text()
    # ICMP and the echo service, both ways, from inside the guests' namespaces.
    assert dp.IcmpProbe("p", address=b.ip, namespace=a.name).check().ok
    assert dp.IcmpProbe("p", address=a.ip, namespace=b.name).check().ok
    assert _echo(a.name, b.ip, 7, b"hello b") == b"hello b"
    assert _echo(b.name, a.ip, 7, b"hello a") == b"hello a"
    assert dp.TcpProbe("p", address=b.ip, namespace=a.name).check().ok
    guests.power(b.name, False, tmp_path)
    assert not dp.IcmpProbe("p", address=b.ip, namespace=a.name, timeout=0.2).check().ok
    guests.power(b.name, True, tmp_path)
    assert dp.TcpProbe("p", address=b.ip, namespace=a.name, timeout=1).check().ok
    assert dp.IcmpProbe("p", address=a.ip, namespace=b.name).check().ok  # route back too
    # A router on the way that cannot reach the address answers so, quoting our request.
    guests.run(["ip", "netns", "exec", segment.dhcp_namespace, "sysctl", "-qw",
                "net.ipv4.ip_forward=1"])
    guests.ip(segment.dhcp_namespace, "route", "add", "unreachable", "10.99.0.0/16")
    refused = dp.IcmpProbe("p", address="10.99.0.1", namespace=a.name).check()
    assert not refused.ok and refused.error == "ICMP type 3 code 1"
    missing = dp.IcmpProbe("p", address="10.213.7.99", namespace=a.name, timeout=0.2).check()
    assert not missing.ok and "no echo reply" in missing.error
    # Bounded: two processes per guest, with the limits set.
    pids = guests.processes(a.name)
    assert sorted(pids) == sorted(a.pids.values())
    for pid in pids:
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert any(line.startswith("Max open files") and " 256 " in line
                   for line in limits.splitlines())
    # Removal: processes, namespace, the tap on the bridge and the state all gone.
    guests.remove(a.name, tmp_path)
    assert a.name not in _namespaces()
    assert not any(_alive(pid) for pid in pids)
    assert a.tap not in guests.ip(segment.switch, "-o", "link", "show")
    assert not Path(a.state).exists()
    assert guests.guests(tmp_path) == [b.name]
    guests.remove(a.name, tmp_path)  # removing twice is fine
    assert guests.remove_all(tmp_path) == [b.name]
    assert b.name not in _namespaces() and guests.guests(tmp_path) == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_bad_requests_fail_before_anything_is_made(segment, tmp_path):
    before = _namespaces()
    for options, words in [
            ({"name": "Bad_Name"}, "guest name"),
            ({"name": segment.prefix + "x", "mac": "FA-16"}, "mac"),
            ({"name": segment.prefix + "x", "tap": "a-very-long-interface-name"}, "tap"),
            ({"name": segment.prefix + "x", "bridge": "nobridge"}, "No bridge 'nobridge'"),
            ({"name": segment.switch}, "exists already")]:
        arguments = {"bridge": segment.bridge, "bridge_namespace": segment.switch,
                     "state_root": tmp_path, **options}
        with pytest.raises(guests.GuestError, match=words):
            guests.create(**arguments)
    assert _namespaces() == before
    assert guests.guests(tmp_path) == []


def test_a_guest_without_a_dhcp_server_is_removed_again(tmp_path):
    prefix = f"xt-dp-{secrets.token_hex(2)}"
    switch = prefix + "sw"
    subprocess.run(["ip", "netns", "add", switch], check=True, timeout=10)
    try:
        guests.ip(switch, "link", "add", "br0", "type", "bridge")
        guests.ip(switch, "link", "set", "br0", "up")
        with pytest.raises(guests.GuestError, match="no DHCP lease within 1 s"):
            guests.create(prefix + "g", "br0", bridge_namespace=switch, dhcp_timeout=1,
                          state_root=tmp_path)
        assert prefix + "g" not in _namespaces()
        assert guests.guests(tmp_path) == []
    finally:
        subprocess.run(["ip", "netns", "del", switch], check=True, timeout=10)


def test_the_echo_service_echoes_ahead_of_the_cloud_for_the_cpu():
    """The echo service answers what it is sent, and (as root, as the lab runs it) asks
    for a higher priority than the cloud's processes: a guest stands for a VM's own vCPU."""
    port = _free_port()
    service = subprocess.Popen([os.sys.executable, "-I", "-S", guests.__file__, "echo",
                                str(port), "127.0.0.1"])
    try:
        deadline = 50
        while deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
                    client.sendall(b"ping")
                    assert client.recv(16) == b"ping"
                    break
            except ConnectionRefusedError:
                deadline -= 1
                subprocess.run(["sleep", "0.1"], check=True)
        assert deadline, "the echo service never listened"
        nice = int(Path(f"/proc/{service.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
        assert nice == (guests.ECHO_NICE if os.geteuid() == 0 else 0)
    finally:
        service.terminate()
        service.wait(5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

"""The lab switch CLI, with a fake ``ip`` on PATH (no real interface is touched)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ExtremeTesting.lab import switchcli

CLI = Path(switchcli.__file__)
LINKS = [
    {"ifname": "sw-ctl1", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
     "operstate": "UP", "ifalias": "ctl1"},
    {"ifname": "sw-db", "flags": ["BROADCAST", "MULTICAST"], "operstate": "DOWN",
     "link": "db-eth0"},
    {"ifname": "sw-cmp1", "flags": ["BROADCAST", "UP"], "operstate": "LOWERLAYERDOWN"},
]
FAKE_IP = """#!/bin/sh
echo "$*" >> "{log}"
if [ "$1" = "-j" ]; then cat "{links}"; exit 0; fi
if [ "$1" = "link" ] && [ "$2" = "set" ]; then exit 0; fi
echo "unexpected: $*" >&2; exit 1
"""


@pytest.fixture
def fake_ip(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, links = tmp_path / "ip.log", tmp_path / "links.json"
    links.write_text(json.dumps(LINKS))
    script = bin_dir / "ip"
    script.write_text(FAKE_IP.format(log=log, links=links))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("SWITCH_STATE_FILE", str(tmp_path / "state.json"))
    return log


def cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI as the switch runs it: its own file, the system's Python, no venv."""
    return subprocess.run(["/usr/bin/python3", str(CLI), *args], capture_output=True,
                          text=True, timeout=20, env=os.environ.copy())


def ip_calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_show_ports_table_and_json(fake_ip):
    table = cli("show", "ports")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["PORT", "ADMIN", "OPER", "PEER"]
    assert lines[1].split() == ["sw-cmp1", "up", "lowerlayerdown", "-"]
    assert lines[2].split() == ["sw-ctl1", "up", "up", "ctl1"]
    assert lines[3].split() == ["sw-db", "down", "down", "db-eth0"]
    found = json.loads(cli("show", "ports", "--json").stdout)
    assert [p["name"] for p in found] == ["sw-cmp1", "sw-ctl1", "sw-db"]
    assert ip_calls(fake_ip)[0] == "-j link show master br0"


def test_port_down_and_up(fake_ip):
    assert cli("port", "sw-ctl1", "down").stdout.strip() == "port sw-ctl1 down"
    assert cli("port", "sw-ctl1", "up").returncode == 0
    sets = [c for c in ip_calls(fake_ip) if c.startswith("link set")]
    assert sets == ["link set dev sw-ctl1 down", "link set dev sw-ctl1 up"]


def test_unknown_port_is_refused_without_touching_anything(fake_ip):
    done = cli("port", "eth9", "down")
    assert done.returncode == 2 and "no port eth9" in done.stderr and "sw-ctl1" in done.stderr
    assert not [c for c in ip_calls(fake_ip) if c.startswith("link set")]


def test_restart_returns_at_once_and_a_detached_helper_brings_ports_back(fake_ip, tmp_path):
    started = time.monotonic()
    done = cli("restart", "--down-seconds", "1")
    assert time.monotonic() - started < 5
    assert done.returncode == 0 and "3 ports down" in done.stdout and "in 1 s" in done.stdout
    downs = [c for c in ip_calls(fake_ip) if c.endswith(" down")]
    assert sorted(downs) == [f"link set dev {n} down" for n in ("sw-cmp1", "sw-ctl1", "sw-db")]
    status = json.loads(cli("status", "--json").stdout)
    assert status["restarting"] is True and 0 < status["back_in"] <= 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(
            [c for c in ip_calls(fake_ip) if c.endswith(" up")]) < 3:
        time.sleep(0.1)
    ups = [c for c in ip_calls(fake_ip) if c.endswith(" up")]
    assert sorted(ups) == [f"link set dev {n} up" for n in ("sw-cmp1", "sw-ctl1", "sw-db")]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and json.loads(cli("status", "--json").stdout)[
            "restarting"]:
        time.sleep(0.1)
    assert "restarting" not in cli("status").stdout


@pytest.mark.parametrize("value", ["0", "301", "-5", "ten"])
def test_down_seconds_bounds(fake_ip, value):
    done = cli("restart", "--down-seconds", value)
    assert done.returncode == 2 and "--down-seconds" in done.stderr
    assert not ip_calls(fake_ip)


def test_parser_defaults_and_helper_command():
    args = switchcli.parser().parse_args(["restart"])
    assert args.down_seconds == switchcli.DEFAULT_DOWN == 10
    command = switchcli.helper_command(["a", "b"], 12.5)
    assert command[0] == sys.executable and command[1] == str(CLI)
    assert command[2:] == ["_bring-up", "--until", "12.500", "a", "b"]
    assert switchcli.set_port("sw-db", "up") == ["ip", "link", "set", "dev", "sw-db", "up"]


def test_cli_uses_only_the_standard_library():
    source = CLI.read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from ")) and "__future__" not in line}
    assert imports <= set(sys.stdlib_module_names)

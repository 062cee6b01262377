"""The Switch library's netmiko ``linux`` session against a real sshd on 127.0.0.1,
running the real switch CLI (with a fake ``ip``): prompts, output and exit codes as the
lab's switch will give them. Skipped where sshd cannot run (not root, no openssh-server).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ExtremeTesting.lab import bmc, switchcli
from ExtremeTesting.switch.commands import COMMANDS
from ExtremeTesting.switch.session import SwitchSession, SwitchSpec

sys.path.insert(0, str(Path(__file__).parent))
from test_switch_cli import FAKE_IP, LINKS  # noqa: E402

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(SSHD) or not shutil.which("ssh-keygen"),
    reason="needs root and openssh-server to start a private sshd")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    home = tmp_path_factory.mktemp("sshd")
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(home / name)], check=True, timeout=30)
    (home / "authorized_keys").write_text((home / "client.pub").read_text())
    port = bmc.free_port(1)
    config = home / "sshd_config"
    config.write_text(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {home / 'host'}
PidFile {home / 'sshd.pid'}
AuthorizedKeysFile {home / 'authorized_keys'}
PasswordAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
""")
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                               stderr=open(home / "sshd.log", "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if b"listening" in (home / "sshd.log").read_bytes() or process.poll() is not None:
            break
        time.sleep(0.05)
    assert process.poll() is None, (home / "sshd.log").read_text()
    yield {"port": port, "key": str(home / "client"), "home": home}
    process.terminate()
    process.wait(10)


@pytest.fixture
def session(sshd, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, links = tmp_path / "ip.log", tmp_path / "links.json"
    links.write_text(json.dumps(LINKS))
    (bin_dir / "ip").write_text(FAKE_IP.format(log=log, links=links))
    (bin_dir / "ip").chmod(0o755)
    # The lab installs the CLI as 'switch'; here it runs from the source tree, with the
    # fake ip first on PATH and its own state file.
    (bin_dir / "switch").write_text(
        f"#!/bin/sh\nPATH={bin_dir}:$PATH SWITCH_STATE_FILE={tmp_path / 'state.json'} "
        f"exec /usr/bin/python3 {switchcli.__file__} \"$@\"\n")
    (bin_dir / "switch").chmod(0o755)
    monkeypatch.setenv("EXTREME_TEST_SWITCH_PASSWORD", "unused-with-a-key")
    spec = SwitchSpec("sw1", "linux", "127.0.0.1", sshd["port"], "root",
                      "EXTREME_TEST_SWITCH_PASSWORD", key_file=sshd["key"])
    session = SwitchSession(spec, timeout=20)
    lab = COMMANDS["linux"]
    session.commands = replace(
        lab, restart=f"{bin_dir}/{lab.restart}", show_ports=f"{bin_dir}/{lab.show_ports}",
        port_down=tuple(f"{bin_dir}/{c}" for c in lab.port_down),
        port_up=tuple(f"{bin_dir}/{c}" for c in lab.port_up), status=f"{bin_dir}/{lab.status}")
    return session, log


def test_ports_port_down_and_restart_over_real_ssh(session):
    session, log = session
    ports = session.ports()
    assert [p["name"] for p in ports] == ["sw-cmp1", "sw-ctl1", "sw-db"]
    session.set_port("sw-db", up=False)
    assert "link set dev sw-db down" in log.read_text()
    output = session.restart(1)
    assert "3 ports down" in output
    status = session.status()
    assert status["reachable"] and status["ports"] == 3


def test_cli_error_over_ssh_is_a_switch_error(session):
    from ExtremeTesting.switch.errors import SwitchError

    session, _ = session
    with pytest.raises(SwitchError, match="no port eth9"):
        session.set_port("eth9", up=False)

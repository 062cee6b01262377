"""Run after `extreme lab down`: the lab left nothing behind."""

import os
import subprocess

import pytest

from ExtremeTesting.lab import lab, paths


pytestmark = pytest.mark.skipif(os.environ.get("EXTREME_AFTER_DOWN") != "1",
                                reason="only after 'extreme lab down' (EXTREME_AFTER_DOWN=1)")


def test_no_namespace_link_file_or_process_is_left():
    assert lab.leftover_namespaces() == []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "xt-mgmt" not in links and "xt-oob" not in links
    assert not paths.root().exists()
    procs = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    for marker in ("extreme-lab", "keystone-uwsgi", "nova-api-uwsgi", "mariadbd", "beam.smp",
                   "ExtremeTesting.lab.bmc", "neutron-linuxbridge-agent", "neutron-l3-agent",
                   "neutron-dhcp-agent", "neutron-keepalived-state-change", "privsep-helper",
                   "guests.py echo", "/usr/local/lib/extreme-lab"):
        assert marker not in procs, f"a '{marker}' process survived 'down'"
    mounts = open("/proc/mounts").read()
    assert str(paths.root()) not in mounts


def test_down_twice_says_there_is_nothing_to_remove():
    result = subprocess.run(["extreme", "lab", "down"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert "nothing to remove" in result.stdout

"""The switch keeps its admin account when the host rewrites /etc/passwd.

A package install that adds a system user (dnsmasq-base, measured 2026-12-06) writes a
new /etc/passwd and renames it over the old one. The kernel then detaches every mount
standing on the old file in every namespace: a switch whose admin account was a file
bind mount answered "Invalid user admin" and the switch-restart case failed on a healthy
lab. The same rename, with the file's own content, must leave the switch's login working.
"""

import os
import shutil

import paramiko
import pytest

from ExtremeTesting.lab import topology


def _login(address: str) -> str:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(address, username="admin",
                       password=os.environ["EXTREME_LAB_SWITCH_PASSWORD"], timeout=10,
                       banner_timeout=10, auth_timeout=10, look_for_keys=False,
                       allow_agent=False)
        _, out, _ = client.exec_command("hostname", timeout=10)
        return out.read().decode().strip()
    finally:
        client.close()


def _rewrite_host_passwd() -> None:
    """What adduser does, without changing a byte: a copy renamed over the original."""
    copy = "/etc/passwd.xt-switch-test"
    shutil.copy2("/etc/passwd", copy)
    stat = os.stat("/etc/passwd")
    os.chown(copy, stat.st_uid, stat.st_gid)
    os.rename(copy, "/etc/passwd")


def test_switch_admin_survives_a_host_passwd_rewrite(running_lab):
    address = topology.SWITCH_MGMT_ADDRESS
    assert _login(address) == topology.SWITCH
    _rewrite_host_passwd()
    try:
        assert _login(address) == topology.SWITCH
    except paramiko.AuthenticationException:
        pytest.fail("the switch refused its admin after the host rewrote /etc/passwd: its "
                    "account must not hang on a file bind mount")

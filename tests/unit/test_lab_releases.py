"""Each lab node's own package state and the two releases, offline (no lab, no mirror)."""

from __future__ import annotations

import json
import subprocess

import pytest

from ExtremeTesting.lab import build, lab, nodeinit, releases
from ExtremeTesting.lab.shell import LabError

OLD, NEW = "2:22.0.2-0+deb12u3", "2:22.0.2-0+deb12u6"


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path / "lab"))
    return tmp_path / "lab"


def test_a_node_overlays_the_runners_package_folders_with_layers_of_its_own(lab_dir):
    home = lab_dir / "nodes" / "ctl1"
    mounts = releases.overlay_mounts(home)
    targets = [m[1] for m in mounts]
    assert targets[:3] == ["/usr", "/etc", "/var/lib/dpkg"]
    for source, target, kind in mounts:
        assert kind == "overlay" and source.startswith(str(home / "overlay"))
        assert {p.name for p in (home / "overlay" / source.rsplit("/", 1)[1]).iterdir()} == {
            "upper", "work"}
    policy = home / "overlay" / "usr" / "upper" / "sbin" / "policy-rc.d"
    assert policy.read_text().rstrip().endswith("exit 101") and policy.stat().st_mode & 0o111


def test_overlays_come_before_the_binds_that_land_on_them(lab_dir, monkeypatch):
    monkeypatch.setattr(build, "run", lambda *a, **k: None)
    monkeypatch.setattr(build, "chown", lambda *a, **k: None)
    monkeypatch.setattr(build, "node_config_files", lambda node, values: {})
    node = build.topo.node("ctl1")
    (lab_dir / "nodes" / "ctl1" / "etc" / "keystone").mkdir(parents=True)
    (lab_dir / "nodes" / "ctl1" / "etc" / "nova").mkdir(parents=True)
    (lab_dir / "nodes" / "ctl1" / "etc" / "placement").mkdir(parents=True)
    (lab_dir / "nodes" / "ctl1" / "etc" / "glance").mkdir(parents=True)
    (lab_dir / "nodes" / "ctl1" / "etc" / "neutron").mkdir(parents=True)
    build.lay_out_node(node, {"erlang_cookie": "c"}, {"fernet-keys": {}, "credential-keys": {}},
                       lab_dir / "img")
    mounts = json.loads((lab_dir / "nodes" / "ctl1" / "node.json").read_text())["mounts"]
    kinds = [kind for _, _, kind in mounts]
    assert kinds[:5] == ["overlay"] * 5 and "overlay" not in kinds[5:]
    binds = [target for _, target, kind in mounts if kind == "bind"]
    assert "/etc/keystone" in binds and "/usr/local/sbin" in binds


def test_nodeinit_mounts_an_overlay_over_the_runners_folder(monkeypatch):
    calls = []
    monkeypatch.setattr(nodeinit, "run", lambda *cmd: calls.append(cmd))
    nodeinit.mount_all([["/lab/nodes/ctl1/overlay/usr", "/usr", "overlay"]])
    assert calls[-1] == ("mount", "-t", "overlay", "overlay", "-o",
                         "lowerdir=/usr,upperdir=/lab/nodes/ctl1/overlay/usr/upper,"
                         "workdir=/lab/nodes/ctl1/overlay/usr/work", "/usr")


def test_a_lab_folder_inside_an_overlaid_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", "/var/cache/extreme-lab")
    with pytest.raises(LabError, match="inside /var/cache.*set EXTREME_LAB_DIR"):
        releases.overlay_mounts(tmp_path / "home")


def test_the_older_revision_is_the_newest_below_the_installed_one():
    assert releases.older(NEW, [NEW, OLD, "2:22.0.2-0+deb12u1"]) == OLD
    assert releases.older(OLD, [NEW, OLD]) is None


def test_the_plan_pairs_every_binary_of_a_source(monkeypatch):
    installed = {"keystone": {"keystone": NEW, "python3-keystone": NEW},
                 "nova": {"nova-api": "2:26.2.2-1~deb12u5"}}
    mirror = {"keystone": [NEW, OLD], "python3-keystone": [NEW, OLD],
              "nova-api": ["2:26.2.2-1~deb12u5"]}  # no older nova on this mirror
    monkeypatch.setattr(releases, "installed", lambda source: installed[source])
    monkeypatch.setattr(releases, "mirror_versions", lambda name: mirror[name])
    assert releases.plan() == {"keystone": {
        "from": {"keystone": OLD, "python3-keystone": OLD},
        "to": {"keystone": NEW, "python3-keystone": NEW}}}
    with pytest.raises(LabError, match="no older revision of nova-api.*without --old-release"):
        lab.install_old_release(releases.plan())


def test_a_missing_deb_is_named_with_what_to_do(lab_dir):
    releases.folder().mkdir(parents=True)
    (releases.folder() / "keystone_2%3a22.0.2-0+deb12u3_all.deb").write_text("")
    assert releases.deb_files({"keystone": OLD}) == [
        str(releases.folder() / "keystone_2%3a22.0.2-0+deb12u3_all.deb")]
    with pytest.raises(LabError, match=r"No \.deb of python3-keystone .*without --old-release"):
        releases.deb_files({"python3-keystone": OLD})


def test_the_target_names_the_upgrades_and_installs_from_the_lab_folder(lab_dir):
    upgrades = {"keystone": {"from": {"keystone": OLD}, "to": {"keystone": NEW}}}
    section = releases.target_section(upgrades)
    assert section["package_manager"] == "dpkg"
    assert section["deb_dir"] == str(lab_dir / "packages")
    assert section["upgrades"] == upgrades


def test_install_refuses_while_a_lab_runs(monkeypatch):
    monkeypatch.setattr(lab, "missing_binaries", lambda: ["/usr/bin/keystone-manage"])
    monkeypatch.setattr(lab, "read_state", lambda: {"phase": "up"})
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(LabError, match="lab is running.*'extreme lab down' before"):
        lab.install()
    assert ran == []


def test_up_with_the_other_release_than_the_running_labs_says_so(monkeypatch):
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lab, "missing_binaries", lambda: [])
    monkeypatch.setattr(lab, "read_state", lambda: {"phase": "up", "release": "new"})
    with pytest.raises(LabError, match="up with the new release.*--old-release"):
        lab.up(old_release=True)


def test_old_release_without_an_older_revision_fails_before_anything_is_made(lab_dir,
                                                                              monkeypatch):
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lab, "missing_binaries", lambda: [])
    monkeypatch.setattr(lab, "read_state", lambda: {})
    monkeypatch.setattr(lab, "leftover_namespaces", lambda: [])
    monkeypatch.setattr(releases, "plan", lambda: {"keystone": {"from": {}, "to": {}}})
    with pytest.raises(LabError, match="no older revision of nova-api"):
        lab.up(old_release=True)
    assert not lab_dir.exists()


def test_dpkg_runs_in_the_node_at_the_priority_asked(lab_dir, monkeypatch):
    releases.folder().mkdir(parents=True)
    (releases.folder() / "keystone_2%3a22.0.2-0+deb12u3_all.deb").write_text("")
    ran = []
    monkeypatch.setattr(releases, "in_node", lambda pid, cmd, **kwargs: ran.append((pid, cmd)))
    deb = str(releases.folder() / "keystone_2%3a22.0.2-0+deb12u3_all.deb")
    releases.install_in_node(7, {"keystone": OLD}, nice=10)
    releases.install_in_node(7, {"keystone": OLD})
    assert ran == [(7, ["nice", "-n", "10", "dpkg", "-i", "--force-confold", deb]),
                   (7, ["dpkg", "-i", "--force-confold", deb])]

"""The Changes library offline: INI editing, ledger entries and undo, with a fake node."""

from __future__ import annotations

import os
import re
import shlex
import threading
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ExtremeTesting import loadbalancer
from ExtremeTesting.changes import Changes, fernet, ini, packages, undo
from ExtremeTesting.monitor import zero_impact as verdict
from ExtremeTesting.changes.errors import ChangeError
from ExtremeTesting.changes.remote import Result
from ExtremeTesting.errors import SafetyError, TargetError
from ExtremeTesting.lifecycle import Ledger, handler_for
from ExtremeTesting.monitor import analysis

CONF = """\
# Keystone, as Debian ships it
[DEFAULT]
# debug = false
log_dir = /var/log/keystone

[token]
# provider = fernet
expiration = 3600

[cache]
enabled = true
"""

STAT_HEADER = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,status"


class FakeNodes:
    """Files, packages, HAProxy servers and a command log of a few nodes."""

    def __init__(self):
        self.files: dict[tuple[str, str], bytes] = {}
        self.versions: dict[tuple[str, str], str] = {}
        self.servers: dict[tuple[str, str], list] = {}  # (backend, server) -> [status, scur]
        self.commands: list[tuple[str, str]] = []

    def run(self, node, command, check=True, stdin=b"", timeout=None):
        self.commands.append((node, command))
        out = ""
        if "socat" in command:  # loadbalancer.socket_command's line
            out = self._haproxy(shlex.split(re.search(r"echo (.+?) \| socat", command)[1])[0])
        elif command.startswith("dpkg-query"):
            name = shlex.split(command)[-1]
            if (node, name) not in self.versions:
                return Result(1, "", "not installed")
            out = self.versions[(node, name)]
        elif "apt-get install" in command:
            for spec in shlex.split(command.split("--force-confold", 1)[1]):
                name, version = spec.split("=", 1)
                self.versions[(node, name)] = version
        elif command.startswith("rm -f"):
            self.files.pop((node, shlex.split(command)[-1]), None)
        return Result(0, out, "")

    def _haproxy(self, text):
        if text == "show stat":
            rows = [STAT_HEADER] + [f"{b},{s},0,0,{scur},0,,0,0,0,{status}"
                                    for (b, s), (status, scur) in self.servers.items()]
            rows += ["keystone,BACKEND,0,0,0,0,,0,0,0,UP"]
            return "\n".join(rows) + "\n"
        match = re.fullmatch(r"set server (\S+)/(\S+) state (\w+)", text)
        if not match or (match[1], match[2]) not in self.servers:
            return "No such server."
        self.servers[(match[1], match[2])][0] = {"drain": "DRAIN", "ready": "UP",
                                                 "maint": "MAINT"}[match[3]]
        return ""

    def read_file(self, node, path):
        return self.files.get((node, path))

    def write_file(self, node, path, data):
        self.files[(node, path)] = data

    def close(self, node=None):
        pass


@pytest.fixture
def target_file(tmp_path):
    data = {
        "name": "fake", "destructive": True,
        "ssh": {"username": "root", "private_key_file": "key"},
        "nodes": {"lb": {"address": "192.0.2.10", "roles": ["loadbalancer"]},
                  "ctl1": {"address": "192.0.2.11", "services": ["keystone", "nova-api",
                                                                 "nova-conductor"]},
                  "ctl2": {"address": "192.0.2.12", "services": ["keystone"]}},
        "services": {"keystone": {"nodes": ["ctl1", "ctl2"], "port": 5000, "api": "identity",
                                  "packages": ["keystone", "python3-keystone"]},
                     "nova-api": {"nodes": ["ctl1"], "port": 8774, "api": "compute",
                                  "packages": ["nova-api", "python3-nova"]},
                     "nova-conductor": {"nodes": ["ctl1"],
                                        "packages": ["nova-conductor", "python3-nova"]}},
        "load_balancer": {"type": "haproxy", "node": "lb", "admin_socket": "/run/haproxy.sock"},
        "changes": {"restart": "service {service} restart"},
        "expectations": {"rolling_changes": {"latency_factor": 2}},
    }
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def fake(monkeypatch):
    nodes = FakeNodes()
    monkeypatch.setattr(undo, "connect", lambda target, timeout=60.0: nodes)
    return nodes


def start_test(lib, name="Case"):
    """What Robot tells the library's (the lifecycle's) listener when a test starts."""
    listener = lib.ROBOT_LIBRARY_LISTENER
    listener.start_suite(None, SimpleNamespace(name="Suite", full_name="Suite", parent=None))
    listener.start_test(None, SimpleNamespace(name=name, full_name=f"Suite.{name}"))


def end_test(lib, name="Case"):
    """Ends the test as Robot does; returns its result (status, message)."""
    result = SimpleNamespace(name=name, full_name=f"Suite.{name}", status="PASS", message="")
    lib.ROBOT_LIBRARY_LISTENER.end_test(None, result)
    return result


def test_set_option_replaces_the_line_and_keeps_everything_else():
    changed = ini.set_option(CONF, "token", "expiration", "7200")
    assert changed == CONF.replace("expiration = 3600", "expiration = 7200")


def test_set_option_appends_to_its_section_before_the_blank_line():
    changed = ini.set_option(CONF, "token", "provider", "fernet")
    assert "expiration = 3600\nprovider = fernet\n\n[cache]" in changed
    assert "# provider = fernet" in changed  # a commented default is not the option
    assert changed.count("\n") == CONF.count("\n") + 1


def test_set_option_adds_a_missing_section_at_the_end():
    changed = ini.set_option(CONF, "oslo_policy", "enforce_scope", "true")
    assert changed == CONF + "\n[oslo_policy]\nenforce_scope = true\n"


def test_default_section_before_any_header():
    text = "debug = false\n\n[token]\nexpiration = 1\n"
    assert ini.set_option(text, "DEFAULT", "debug", "true").startswith("debug = true\n\n[token]")
    assert ini.get_option(text, "token", "expiration") == "1"
    assert ini.get_option(text, "DEFAULT", "expiration") is None


def test_an_explicit_default_header_is_the_default_section():
    # keystone.conf and nova.conf begin with [DEFAULT]: its options are found and set there
    text = "[DEFAULT]\ndebug = false\n\n[token]\nexpiration = 1\n"
    assert ini.get_option(text, "DEFAULT", "debug") == "false"
    changed = ini.set_option(text, "DEFAULT", "debug", "true")
    assert changed == "[DEFAULT]\ndebug = true\n\n[token]\nexpiration = 1\n"
    added = ini.set_option(text, "DEFAULT", "verbose", "true")
    assert added == "[DEFAULT]\ndebug = false\nverbose = true\n\n[token]\nexpiration = 1\n"


def test_remove_option_keeps_comments_and_other_sections():
    changed, removed = ini.remove_option(CONF, "token", "expiration")
    assert removed
    assert changed == CONF.replace("expiration = 3600\n", "")
    assert ini.remove_option(CONF, "token", "missing") == (CONF, False)
    assert ini.remove_option(CONF, "cache", "log_dir") == (CONF, False)  # other section


@pytest.mark.parametrize("section, option", [("a]b", "x"), ("s", "a=b"), ("s", ""),
                                             ("s", " x"), ("s", "#x")])
def test_bad_names_are_refused(section, option):
    with pytest.raises(ini.IniError):
        ini.set_option(CONF, section, option, "1")


def test_config_change_is_kept_0600_in_the_ledgers_folder_and_undone_at_test_end(
        target_file, fake):
    fake.files[("ctl1", "/etc/keystone/keystone.conf")] = CONF.encode()
    lib = Changes(str(target_file))
    start_test(lib)
    lib.set_config_option("ctl1", "/etc/keystone/keystone.conf", "token", "expiration",
                          "7200", services=["keystone"])
    assert fake.files[("ctl1", "/etc/keystone/keystone.conf")] == \
        CONF.replace("3600", "7200").encode()
    [entry] = lib.changes.ledger().open_entries()
    assert entry.undo.action == undo.RESTORE_FILE
    backup = entry.undo.args["backup"]
    folder = lib.changes.ledger().path.with_name("target.ledger.backups")
    assert os.path.dirname(backup) == str(folder)
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert open(backup, "rb").read() == CONF.encode()
    assert end_test(lib).status == "PASS"
    assert fake.files[("ctl1", "/etc/keystone/keystone.conf")] == CONF.encode()
    assert not os.path.exists(backup)
    assert lib.changes.ledger().open_entries() == []
    assert ("ctl1", "service keystone restart") in fake.commands


def test_a_crashed_runs_config_change_is_undone_through_the_registered_handler(
        target_file, fake):
    path = "/etc/nova/nova.conf"
    lib = Changes(str(target_file))
    start_test(lib)
    lib.set_config_option("ctl1", path, "api", "max_limit", "5")  # a file that did not exist
    assert fake.files[("ctl1", path)] == b"[api]\nmax_limit = 5\n"
    [entry] = Ledger(lib.changes.ledger().path).open_entries()
    handler_for(entry.undo.action)(entry.undo, lib.target)  # what 'extreme recover' calls
    assert ("ctl1", path) not in fake.files


def test_drain_is_in_the_ledger_and_returned_at_test_end(target_file, fake):
    fake.servers = {("keystone", "ctl1"): ["UP", 3], ("nova-api", "ctl1"): ["UP", 0]}
    lib = Changes(str(target_file))
    start_test(lib)
    lib.drain_node_from_load_balancer("ctl1")
    assert fake.servers[("keystone", "ctl1")][0] == "DRAIN"
    assert fake.servers[("nova-api", "ctl1")][0] == "DRAIN"
    assert {e.undo.action for e in lib.changes.ledger().open_entries()} == {undo.LB_READY}
    with pytest.raises(ChangeError, match="keystone DRAIN with 3 session"):
        lib.wait_until_node_is_drained("ctl1", "keystone", timeout=_seconds(0.3))
    fake.servers[("keystone", "ctl1")][1] = 0
    assert lib.wait_until_node_is_drained("ctl1") < 1
    assert end_test(lib).status == "PASS"
    assert fake.servers[("keystone", "ctl1")][0] == "UP"
    assert lib.changes.ledger().open_entries() == []


def test_return_node_closes_its_drain(target_file, fake):
    fake.servers = {("keystone", "ctl2"): ["UP", 0]}
    lib = Changes(str(target_file))
    start_test(lib)
    lib.drain_node_from_load_balancer("ctl2", "keystone")
    lib.return_node_to_load_balancer("ctl2", "keystone")
    assert fake.servers[("keystone", "ctl2")][0] == "UP"
    assert lib.changes.ledger().open_entries() == []


def test_packages_record_previous_versions_restart_their_services_and_go_back(
        target_file, fake):
    for name in ("nova-api", "python3-nova", "nova-conductor"):
        fake.versions[("ctl1", name)] = "2:26.2.2-1~deb12u4"
    lib = Changes(str(target_file))
    start_test(lib)
    lib.upgrade_package("ctl1", "python3-nova=2:26.2.2-1~deb12u5",
                        "nova-api=2:26.2.2-1~deb12u5")
    assert fake.versions[("ctl1", "python3-nova")] == "2:26.2.2-1~deb12u5"
    assert lib.get_package_version("ctl1", "nova-api") == "2:26.2.2-1~deb12u5"
    restarts = [c for n, c in fake.commands if "restart" in c]
    assert restarts == ["service nova-api restart", "service nova-conductor restart"]
    [entry] = lib.changes.ledger().open_entries()
    assert entry.undo.args["packages"] == {"python3-nova": "2:26.2.2-1~deb12u4",
                                           "nova-api": "2:26.2.2-1~deb12u4"}
    assert end_test(lib).status == "PASS"
    assert fake.versions[("ctl1", "python3-nova")] == "2:26.2.2-1~deb12u4"
    assert fake.versions[("ctl1", "nova-api")] == "2:26.2.2-1~deb12u4"
    assert lib.changes.ledger().open_entries() == []


@pytest.mark.parametrize("pairs", [(), ("keystone",), ("keystone=1 2",), ("=1",)])
def test_bad_package_pairs_fail_before_anything(target_file, fake, pairs):
    with pytest.raises(ChangeError, match="name=version"):
        Changes(str(target_file)).upgrade_package("ctl1", *pairs)
    assert fake.commands == []


def test_a_target_not_marked_destructive_is_refused_before_anything(target_file, fake):
    data = yaml.safe_load(target_file.read_text())
    data["destructive"] = False
    target_file.write_text(yaml.safe_dump(data))
    fake.files[("ctl1", "/etc/x.conf")] = b""
    lib = Changes(str(target_file))
    start_test(lib)
    with pytest.raises(SafetyError):
        lib.set_config_option("ctl1", "/etc/x.conf", "a", "b", "c")
    with pytest.raises(SafetyError):
        lib.drain_node_from_load_balancer("ctl1")
    assert fake.commands == []
    assert fake.files[("ctl1", "/etc/x.conf")] == b""


def test_dpkg_installs_from_the_deb_folder(target_file):
    from ExtremeTesting import target as targets

    data = yaml.safe_load(target_file.read_text())
    data["changes"] = {"package_manager": "dpkg", "deb_dir": "/srv/debs",
                       "package_env": {"RUNLEVEL": "1"}}
    target_file.write_text(yaml.safe_dump(data))
    command = packages.install_command(targets.load(target_file),
                                       {"keystone": "2:22.0.2-0+deb12u3"}, True)
    assert command == ("env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 nice -n 10 dpkg -i "
                       "--force-confold /srv/debs/keystone_2%3a22.0.2-0+deb12u3_*.deb")


def test_the_old_lab_key_is_no_load_balancer_any_more(target_file, fake):
    # the lab writes load_balancer now (lab/targetfile.py); lab.haproxy_socket is gone
    data = yaml.safe_load(target_file.read_text())
    del data["load_balancer"]
    data["lab"] = {"haproxy_socket": "/lab/lb/admin.sock"}
    target_file.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetError, match=r"needs 'load_balancer: \{type: haproxy") as error:
        Changes(str(target_file)).drain_node_from_load_balancer("ctl1", "keystone")
    assert "\n" not in str(error.value)
    assert fake.commands == []


def test_a_load_balancer_with_only_a_stats_page_cannot_be_changed(target_file, fake):
    data = yaml.safe_load(target_file.read_text())
    data["load_balancer"] = {"type": "haproxy", "node": "lb", "stats_url": "http://lb:8404/"}
    target_file.write_text(yaml.safe_dump(data))
    lib = Changes(str(target_file))
    start_test(lib)
    with pytest.raises(TargetError, match="admin_socket"):
        lib.drain_node_from_load_balancer("ctl1", "keystone")
    assert fake.commands == []
    assert lib.changes.ledger().open_entries() == []


def test_the_commands_go_to_the_admin_socket_on_the_load_balancer_node(target_file, fake):
    fake.servers = {("keystone", "ctl1"): ["UP", 0]}
    lib = Changes(str(target_file))
    lib.return_node_to_load_balancer("ctl1", "keystone")
    [(node, line)] = fake.commands
    assert node == "lb"
    assert line == loadbalancer.socket_command("/run/haproxy.sock",
                                               "set server keystone/ctl1 state ready")


def test_a_backend_named_otherwise_is_found_through_the_target(target_file, fake):
    data = yaml.safe_load(target_file.read_text())
    data["load_balancer"]["backends"] = {"nova-api": "compute"}
    target_file.write_text(yaml.safe_dump(data))
    fake.servers = {("compute", "ctl1"): ["UP", 0]}
    lib = Changes(str(target_file))
    start_test(lib)
    lib.drain_node_from_load_balancer("ctl1", "nova-api")
    assert fake.servers[("compute", "ctl1")][0] == "DRAIN"
    assert [s["status"] for s in lib.load_balancer_servers()
            if (s["backend"], s["name"], s["node"]) == ("compute", "ctl1", "ctl1")] == ["DRAIN"]
    with pytest.raises(ChangeError, match="compute DRAIN with 0 session"):
        lib.wait_until_node_is_up_in_load_balancer("ctl1", "nova-api", timeout=_seconds(0.3))
    assert end_test(lib).status == "PASS"
    assert fake.servers[("compute", "ctl1")][0] == "UP"


def test_haproxy_refusing_a_command_is_its_answer(target_file, fake):
    lib = Changes(str(target_file))
    start_test(lib)
    with pytest.raises(ChangeError, match="refused 'set server keystone/ctl1 state drain': "
                                          "No such server"):
        lib.drain_node_from_load_balancer("ctl1", "keystone")
    [entry] = lib.changes.ledger().entries()
    assert entry.closed == "failed"
    with pytest.raises(ChangeError, match="no server ctl1 in backend"):
        lib.wait_until_node_is_drained("ctl1", "keystone", timeout=_seconds(1))


def test_fernet_primary_and_listing():
    keys = fernet.keys_of("0\taaa\n1\tbbb\n12\tccc\n")
    assert keys == {"0": "aaa", "1": "bbb", "12": "ccc"}
    assert fernet.primary_of(keys) == "12"


def test_zero_impact_figures():
    ok = [SimpleNamespace(ok=True, latency=v / 100) for v in range(1, 101)]
    split = analysis.Phases(analysis.FaultWindow(0, 1), {
        "before": ok, "during": ok[:50] + [SimpleNamespace(ok=False, latency=0)]})
    figures = verdict.judge(split, 2)
    assert figures["failed_during"] == 1
    assert figures["p95_before"] == pytest.approx(0.9505)
    assert figures["ratio"] == pytest.approx(0.4755 / 0.9505)


def _seconds(value):
    from datetime import timedelta

    return timedelta(seconds=value)


def test_the_change_is_in_the_ledger_on_disk_before_it_is_made(target_file, fake):
    fake.files[("ctl1", "/etc/x.conf")] = b"[a]\nb = 1\n"
    lib = Changes(str(target_file))
    start_test(lib)
    seen = []
    write = fake.write_file

    def write_file(node, path, data):
        seen.extend(Ledger(lib.changes.ledger().path).open_entries())  # read back from disk
        write(node, path, data)

    fake.write_file = write_file
    lib.set_config_option("ctl1", "/etc/x.conf", "a", "b", "c")
    assert [e.undo.action for e in seen] == [undo.RESTORE_FILE]
    assert seen[0].test == "Suite.Case"
    folder = lib.changes.ledger().path.with_name("target.ledger.backups")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_an_undo_that_fails_fails_its_test_and_stays_for_recover(target_file, fake):
    fake.files[("ctl1", "/etc/x.conf")] = b"[a]\nb = 1\n"
    lib = Changes(str(target_file))
    start_test(lib)
    lib.set_config_option("ctl1", "/etc/x.conf", "a", "b", "2", services="keystone")
    run = fake.run

    def broken_restart(node, command, **kwargs):
        if "restart" in command:
            raise ChangeError("'service keystone restart' failed on ctl1 (status 1): boom")
        return run(node, command, **kwargs)

    fake.run = broken_restart
    result = end_test(lib)
    assert result.status == "FAIL"
    assert result.message.startswith("could not undo config ctl1 change=[a] b = 2 "
                                     "file=/etc/x.conf: ")
    assert "the cloud may be left broken — run `extreme recover`" in result.message
    assert "boom" in result.message
    [entry] = lib.changes.ledger().open_entries()
    assert entry.failures and "boom" in entry.failures[0]
    assert lib.changes.pending == []  # recover's now


def test_extreme_recover_undoes_a_crashed_runs_changes(target_file, fake):
    from ExtremeTesting.faults import cli

    fake.files[("ctl1", "/etc/x.conf")] = b"[a]\nb = 1\n"
    fake.servers = {("keystone", "ctl2"): ["UP", 0]}
    lib = Changes(str(target_file))
    lib.set_config_option("ctl1", "/etc/x.conf", "a", "b", "2")
    lib.drain_node_from_load_balancer("ctl2", "keystone")
    backup = Path(lib.changes.ledger().open_entries()[0].undo.args["backup"])
    for entry in lib.changes.ledger().open_entries():  # as if the runner was killed
        lib.changes.forget(entry)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ExtremeTesting.faults.cli.pid_alive", lambda pid, host: False)
        said = []
        assert cli.recover(str(target_file), None, out=said.append) == 0, said
    assert fake.files[("ctl1", "/etc/x.conf")] == b"[a]\nb = 1\n"
    assert fake.servers[("keystone", "ctl2")][0] == "UP"
    assert not backup.exists()
    assert lib.changes.ledger().open_entries() == []


def test_recover_knows_every_undo_of_the_changes_library():
    from ExtremeTesting.lifecycle import registered  # Changes is imported: registered

    assert {undo.LB_READY, undo.RESTORE_FILE, undo.INSTALL_PACKAGES} <= set(registered())


def test_a_restart_is_written_to_the_ledger_and_closed(target_file, fake):
    lib = Changes(str(target_file))
    start_test(lib)
    lib.restart_service_on_node("ctl1", "keystone")
    [entry] = lib.changes.ledger().entries()
    assert (entry.step.describe(), entry.closed) == ("restart keystone on ctl1", "completed")
    assert ("ctl1", "service keystone restart") in fake.commands
    assert end_test(lib).status == "PASS"


def test_zero_impact_publishes_expectation_records(target_file, monkeypatch):
    from ExtremeTesting import results, target

    published = []
    monkeypatch.setattr(results, "publish", lambda kind, data, *a, **k: published.append(
        (kind, data)))

    class Monitor:  # the Monitor library's public view: its `phases`
        def phases(self, probe, name):
            assert (probe, name) == ("keystone", "default")
            events = [{"phase": "requested", "monotonic": 10.0},
                      {"phase": "undone", "monotonic": 20.0}]
            fast = [SimpleNamespace(ok=True, latency=0.1, start=t, end=t + 0.1, monotonic=t)
                    for t in range(0, 30)]
            return analysis.phases(fast + [SimpleNamespace(ok=False, latency=0.1, start=15.5,
                                                           end=15.6, monotonic=15.5)], events)

    with pytest.raises(verdict.ZeroImpactError, match="The change was seen: keystone: 1 failed"):
        verdict.zero_impact(target.load(target_file), Monitor().phases("keystone", "default"),
                            None, "keystone", "default")
    records = results.expectation_records(published)
    assert [(r["keyword"], r["what"], r["subject"], r["limit"], r["measured"], r["passed"])
            for r in records] == [
        ("Change Should Have Zero Impact", "failed samples during the change", "keystone",
         0, 1, False),
        ("Change Should Have Zero Impact", "p95 latency during / before the change",
         "keystone", 2, 1.0, True)]
    assert "Change Should Have Zero Impact" in results.VERDICT_KEYWORDS


OLD, NEW = "2:22.0.2-0+deb12u3", "2:22.0.2-0+deb12u6"


def with_upgrade(target_file):
    data = yaml.safe_load(target_file.read_text())
    data["changes"]["upgrades"] = {"keystone": {
        "from": {"keystone": OLD, "python3-keystone": OLD},
        "to": {"keystone": NEW, "python3-keystone": NEW}}}
    target_file.write_text(yaml.safe_dump(data))
    return target_file


def test_the_upgrade_of_a_service_comes_from_the_target(target_file):
    lib = Changes(str(with_upgrade(target_file)))
    assert lib.get_upgrade_of("keystone") == (
        [f"keystone={OLD}", f"python3-keystone={OLD}"],
        [f"keystone={NEW}", f"python3-keystone={NEW}"])
    with pytest.raises(TargetError, match=r"no upgrade of 'nova-api'.*changes\.upgrades"
                                          r"\.nova-api.*declared: keystone"):
        lib.get_upgrade_of("nova-api")


def test_installed_packages_are_checked_and_every_difference_named(target_file, fake):
    fake.versions.update({("ctl1", "keystone"): OLD, ("ctl1", "python3-keystone"): NEW})
    lib = Changes(str(target_file))
    lib.packages_should_be_installed("ctl1", f"keystone={OLD}")
    with pytest.raises(ChangeError, match=f"ctl1 runs python3-keystone {re.escape(NEW)} "
                                          f"\\(expected {re.escape(OLD)}\\)"):
        lib.packages_should_be_installed("ctl1", f"keystone={OLD}", f"python3-keystone={OLD}")
    with pytest.raises(ChangeError, match="nova-api is not installed on ctl1"):
        lib.packages_should_be_installed("ctl1", "nova-api=1")


def test_a_rollback_closes_the_upgrade_it_reverts(target_file, fake):
    for name in ("keystone", "python3-keystone"):
        fake.versions[("ctl1", name)] = OLD
    lib = Changes(str(with_upgrade(target_file)))
    start_test(lib)
    old, new = lib.get_upgrade_of("keystone")
    lib.upgrade_package("ctl1", *new)
    [upgrade] = lib.changes.ledger().open_entries()
    lib.downgrade_package("ctl1", *old)
    assert fake.versions[("ctl1", "keystone")] == OLD
    assert lib.changes.ledger().open_entries() == []  # nothing left to undo: rolled back
    closed = [r for r in lib.changes.ledger().records() if r.get("id") == upgrade.id
              and r.get("op") != "inject"]
    assert closed and "rolled back" in str(closed[-1])
    installs = [c for _, c in fake.commands if "install" in c]
    assert len(installs) == 2
    assert end_test(lib).status == "PASS"
    assert len([c for _, c in fake.commands if "install" in c]) == 2  # no undo at test end


def test_a_partial_rollback_is_a_change_of_its_own(target_file, fake):
    for name in ("keystone", "python3-keystone"):
        fake.versions[("ctl1", name)] = OLD
    lib = Changes(str(target_file))
    start_test(lib)
    lib.upgrade_package("ctl1", f"keystone={NEW}", f"python3-keystone={NEW}")
    lib.downgrade_package("ctl1", f"keystone={OLD}")
    assert len(lib.changes.ledger().open_entries()) == 2
    assert end_test(lib).status == "PASS"
    assert {fake.versions[("ctl1", n)] for n in ("keystone", "python3-keystone")} == {OLD}


def test_undo_all_changes_undoes_everything_before_the_test_ends(target_file, fake):
    fake.servers[("keystone", "ctl1")] = ["UP", 0]
    fake.versions[("ctl1", "keystone")] = OLD
    lib = Changes(str(target_file))
    start_test(lib)
    lib.drain_node_from_load_balancer("ctl1", "keystone")
    lib.upgrade_package("ctl1", f"keystone={NEW}")
    lib.undo_all_changes()
    assert fake.servers[("keystone", "ctl1")][0] == "UP"
    assert fake.versions[("ctl1", "keystone")] == OLD
    assert lib.changes.ledger().open_entries() == []
    commands = len(fake.commands)
    assert end_test(lib).status == "PASS"
    assert len(fake.commands) == commands  # nothing left for the listener


class CpuNodes:
    """A node whose CPU use (cores) is read from a list, one figure per measurement."""

    def __init__(self, uses):
        self.uses = list(uses)
        self.calls = 0

    def run(self, node, command, check=True, stdin=b"", timeout=None):
        assert "SC_CLK_TCK" in command and node == "ctl1"
        self.calls += 1
        return Result(0, str(self.uses.pop(0)) if self.uses else "", "")


def test_a_node_settles_when_its_cpu_use_is_back_near_before():
    from ExtremeTesting.changes import settle

    nodes = CpuNodes([1.7, 0.9, 0.35])
    assert settle.wait_settled(nodes, "ctl1", 0.1, 0.3, 60)[:2] == (True, 0.35)
    assert nodes.calls == 3
    busy = CpuNodes([1.5] * 50)
    settled, use, waited = settle.wait_settled(busy, "ctl1", 0.1, 0.3, 0)
    assert (settled, use) == (False, 1.5) and busy.calls == 1
    assert settle.wait_settled(CpuNodes([]), "ctl1", None, 0.3, 60) == (True, None, 0.0)
    assert settle.cpu_use(CpuNodes(["no python3 here"]), "ctl1") is None


# --- the roll-out gate --------------------------------------------------------------------

class BrokenNode:
    """A node's Keystone that answers its health URL (``GET /``, what the load balancer and
    `Wait Until Service Serves On Node` ask) and its version document, and answers every
    real request (token validation, reads) with HTTP 500."""

    def __init__(self, broken: bool = True):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        node = self
        self.broken = broken
        self.paths: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                node.paths.append(self.path)
                path = self.path.split("?", 1)[0].rstrip("/")
                real = path not in ("", "/v3")
                status = 500 if (real and node.broken) else 200
                body = b'{"version": {}}' if status == 200 else b'{"error": "boom"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Openstack-Request-Id", f"req-node-{len(node.paths)}")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gated(target_file, fake, monkeypatch):
    """The fake target with Keystone on ctl1 and ctl2 at a local node that fails real
    requests, the cloud's login at a fake cloud, and Roll Out Change's run_keyword."""
    from ExtremeTesting.changes.keywords import rollout as rollout_keywords
    from ExtremeTesting.monitor.fakecloud import FakeCloud

    for name in ("OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_CLOUD", "OS_AUTH_URL"):
        monkeypatch.delenv(name, raising=False)
    node = BrokenNode()
    cloud = FakeCloud().__enter__()
    (target_file.parent / "clouds.yaml").write_text(yaml.safe_dump({"clouds": {"fake": {
        "auth": {"auth_url": f"{cloud.url}/v3", "username": "admin",
                 "password": cloud.password, "project_name": "admin",
                 "user_domain_name": "Default", "project_domain_name": "Default"}}}}))
    data = yaml.safe_load(target_file.read_text())
    data.update(cloud="fake", clouds_yaml="clouds.yaml",
                endpoints={"identity": "http://192.0.2.10:5000/v3"},
                probes={"timeout": 1, "reads": ["projects"]})
    data["nodes"]["ctl1"]["address"] = data["nodes"]["ctl2"]["address"] = "127.0.0.1"
    data["services"]["keystone"]["port"] = node.port
    data["expectations"]["rolling_changes"]["gate_window"] = "1 s"
    target_file.write_text(yaml.safe_dump(data))
    fake.servers = {("keystone", "ctl1"): ["UP", 0], ("keystone", "ctl2"): ["UP", 0]}

    class Keywords:  # what Robot's BuiltIn does for Roll Out Change's change keyword
        def __init__(self, lib):
            self.lib = lib

        def run_keyword(self, name, node, *args):
            assert name == "Set Config Option"
            named = dict(a.split("=", 1) for a in args if "=" in a)
            self.lib.set_config_option(node, *[a for a in args if "=" not in a], **named)

    monkeypatch.setattr(rollout_keywords, "BuiltIn", lambda: Keywords(gated.lib))
    gated.node = node
    yield gated
    node.close()
    cloud.__exit__(None, None, None)


def test_a_node_that_fails_real_requests_stops_the_roll_out_before_the_next_is_drained(
        target_file, fake, gated):
    lib = gated.lib = Changes(str(target_file))
    fake.files[("ctl1", "/etc/keystone/keystone.conf")] = CONF.encode()
    fake.files[("ctl2", "/etc/keystone/keystone.conf")] = CONF.encode()
    start_test(lib)
    change = lib.prepare_config_change("/etc/keystone/keystone.conf", "token", expiration="7200")
    with pytest.raises(ChangeError) as failure:
        lib.roll_out_change("keystone", change)
    message = str(failure.value)
    assert message.startswith("Roll-out of keystone stopped at ctl1: ")
    assert "real requests to keystone on ctl1" in message
    assert "HTTP 500" in message and "request ids req-node-" in message
    assert "ctl1 is out of rotation again" in message and "ctl2 not touched." in message
    # the next node was never drained, nor its file touched
    assert not any("keystone/ctl2" in command for _, command in fake.commands)
    assert fake.servers[("keystone", "ctl2")][0] == "UP"
    assert fake.files[("ctl2", "/etc/keystone/keystone.conf")] == CONF.encode()
    # the broken node: out of rotation, its change undone (and its service restarted)
    assert fake.servers[("keystone", "ctl1")][0] == "DRAIN"
    assert fake.files[("ctl1", "/etc/keystone/keystone.conf")] == CONF.encode()
    assert fake.commands[-1] == ("ctl1", "service keystone restart")
    # the requests went to the node itself: its health URL and real ones
    assert any(path.startswith("/v3/auth/tokens") for path in gated.node.paths)
    assert any(path.startswith("/v3/auth/projects") for path in gated.node.paths)
    assert end_test(lib).status == "PASS"  # the drain returned at the end, nothing else
    assert fake.servers[("keystone", "ctl1")][0] == "UP"


def test_a_node_that_serves_real_requests_passes_the_gate_and_the_roll_out_goes_on(
        target_file, fake, gated):
    gated.node.broken = False
    lib = gated.lib = Changes(str(target_file))
    for node in ("ctl1", "ctl2"):
        fake.files[(node, "/etc/keystone/keystone.conf")] = CONF.encode()
    start_test(lib)
    # the old form, a keyword name and its arguments: deprecated until 1.0, still works
    lib.roll_out_change("keystone", "Set Config Option", "/etc/keystone/keystone.conf",
                        "token", "expiration", "7200", services="keystone")
    assert all(b"expiration = 7200" in fake.files[(n, "/etc/keystone/keystone.conf")]
               for n in ("ctl1", "ctl2"))
    assert [s for s, _ in fake.servers.values()] == ["UP", "UP"]
    assert sum(path.startswith("/v3/auth/tokens") for path in gated.node.paths) >= 4


def test_return_node_to_load_balancer_is_gated_too(target_file, fake, gated):
    lib = gated.lib = Changes(str(target_file))
    start_test(lib)
    lib.drain_node_from_load_balancer("ctl2", "keystone")
    with pytest.raises(ChangeError, match=r"of \d+ real requests to keystone on ctl2"):
        lib.return_node_to_load_balancer("ctl2", "keystone")
    assert fake.servers[("keystone", "ctl2")][0] == "DRAIN"
    lib.return_node_to_load_balancer("ctl2", "keystone", gate=False)
    assert fake.servers[("keystone", "ctl2")][0] == "UP"
    assert end_test(lib).status == "PASS"


# -- Roll Out Change: what to apply is a prepared change, never a keyword name
def test_a_config_change_is_checked_before_anything_and_changes_nothing(target_file, fake):
    lib = Changes(str(target_file))
    with pytest.raises(ChangeError, match="sets no option"):
        lib.prepare_config_change("/etc/keystone/keystone.conf", "token")
    with pytest.raises(ValueError):
        lib.prepare_config_change("/etc/keystone/keystone.conf", "bad]section", x="1")
    change = lib.prepare_config_change("/etc/keystone/keystone.conf", "token", services="a, b",
                               expiration=7200)
    assert (change.options, change.services) == ((("expiration", "7200"),), ("a", "b"))
    assert fake.commands == [] and lib.changes.pending == []


def test_roll_out_change_refuses_what_is_not_a_change_before_touching_anything(
        target_file, fake):
    lib = Changes(str(target_file))
    change = lib.prepare_package_upgrade("keystone=2")
    with pytest.raises(ChangeError, match="got arguments after the change"):
        lib.roll_out_change("keystone", change, "extra")
    with pytest.raises(ChangeError, match="needs a change from `Prepare Config Change`"):
        lib.roll_out_change("keystone", 42)
    with pytest.raises(ChangeError, match="not name=version"):
        lib.prepare_package_upgrade("keystone")
    assert fake.commands == [] and lib.changes.ledger().entries() == []


def test_the_old_form_warns_that_it_is_deprecated(target_file, fake, monkeypatch):
    from ExtremeTesting.changes.keywords import rollout as rollout_keywords

    warned = []
    monkeypatch.setattr(rollout_keywords.logger, "warn", warned.append)
    monkeypatch.setattr(rollout_keywords, "roll_out", lambda *a, **k: None)
    monkeypatch.setattr(rollout_keywords, "BuiltIn", lambda: SimpleNamespace(run_keyword=None))
    Changes(str(target_file)).roll_out_change("keystone", "Restart Service On Node",
                                              "keystone")
    assert warned and "deprecated until 1.0" in warned[0]

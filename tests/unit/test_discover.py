"""`extreme target discover` and `--check` against a fake cloud: nodes answering SSH
with their hostname, processes and ports, HAProxy's configuration, the catalog."""

from __future__ import annotations

import copy
import fnmatch

import pytest
import yaml
from ExtremeTesting import cli as extreme_cli
from ExtremeTesting.discover import build, check, gather, render
from ExtremeTesting.discover import cli as discover_cli

VIP = "10.0.0.100"
HAPROXY_CFG = """\
global
    stats socket /run/haproxy/admin.sock mode 600 level admin
listen stats
    bind 10.0.0.10:8404
    stats enable
    stats uri /
listen mariadb
    bind 10.0.0.100:3306
    server ctl1 10.0.0.11:3306 check
    server ctl2 10.0.0.12:3306 check backup
frontend keystone
    bind 10.0.0.100:5000
backend keystone_internal
    server ctl1 10.0.0.11:5000 check
    server ctl2 10.0.0.12:5000 check
backend nova_api
    server ctl1 10.0.0.11:8774 check   # the compute API
    server ctl2 10.0.0.12:8774 check
backend grafana
    server mon1 10.0.0.40:3000 check
"""
CONTROLLER = ["/usr/bin/uwsgi --ini /etc/keystone/keystone-uwsgi.ini",
              "/usr/bin/uwsgi --ini /etc/nova/nova-api-uwsgi.ini",
              "/usr/sbin/mariadbd --defaults-file=/etc/mysql/my.cnf",
              "/usr/bin/python3 /usr/bin/nova-conductor --config-file /etc/nova/nova.conf",
              "pgrep -f nova-scheduler",  # another tool's command: not a service
              "bash -c hostname -s; echo @@extr''eme@@; ps -eo args="]
NODES = {
    "10.0.0.10": ("lb", ["10.0.0.10", VIP], ["/usr/sbin/haproxy -db -f /etc/haproxy/lab.cfg"],
                  [8404, 5000]),
    "10.0.0.11": ("ctl1", ["10.0.0.11"], CONTROLLER, [5000, 8774, 3306]),
    "10.0.0.12": ("ctl2", ["10.0.0.12"], CONTROLLER, [5000, 8774, 3306]),
    "10.0.0.31": ("cmp1", ["10.0.0.31"], ["/usr/bin/python3 /usr/bin/nova-compute"], [],
                  ["ssh", "nova-compute"]),
}
LOG_FILES = {"10.0.0.11": ["/var/log/keystone/keystone.log", "/var/log/nova/nova-api.log",
                           "/var/log/kolla/nova/nova-api.log"],
             "10.0.0.12": ["/var/log/keystone/keystone.log", "/var/log/nova/nova-api.log"]}
CLOUD = gather.CloudView(
    endpoints={"identity": f"http://{VIP}:5000/v3", "compute": f"http://{VIP}:8774/v2.1"},
    compute_services=[("nova-conductor", "ctl1"), ("nova-conductor", "ctl2"),
                      ("nova-compute", "cmp1"), ("nova-compute", "cmp9")],
    hypervisors=[("cmp1.example.org", "10.0.0.31")])


def node_output(name, addresses, processes, ports, units=()) -> str:
    inet = "\n".join(f"2: eth0    inet {a}/24 scope global eth0" for a in addresses)
    listen = "\n".join(f"LISTEN 0 128 {addresses[0]}:{p} 0.0.0.0:*" for p in ports)
    separator = gather.SEPARATOR
    running = [f"{u}.service loaded active running {u}" for u in units]
    return "\n".join([name, separator, inet, separator, *processes, separator, listen,
                      separator, *running])


def fake_runner(down=(), nodes=None):
    calls = []
    nodes = NODES if nodes is None else nodes

    def run(address, line, timeout):
        calls.append((address, line))
        assert timeout > 0
        if address in down or address not in nodes:
            raise OSError(f"timed out connecting to {address}")
        if line.startswith("for f in "):
            files = LOG_FILES.get(address, [])
            return "".join(f"{f}\n" for f in files if any(
                fnmatch.fnmatchcase(f, c.rstrip(";")) for c in line.split()))
        if line.startswith("cat "):
            assert line == "cat /etc/haproxy/lab.cfg"
            return HAPROXY_CFG
        assert line == gather.NODE_COMMAND
        return node_output(*nodes[address])

    return run, calls


def discover(**options):
    run, calls = fake_runner(options.pop("down", ()))
    found = build.discover(build.Options(cloud="c", ssh_key="/k", lb="10.0.0.10", **options),
                           CLOUD, run)
    return found, calls


def test_discovery_finds_nodes_services_ports_and_the_load_balancer():
    found, calls = discover()
    data = found.data
    assert set(data["nodes"]) == {"lb", "ctl1", "ctl2", "cmp1"}
    assert data["nodes"]["ctl1"] == {
        "address": "10.0.0.11", "roles": ["controller", "database"],
        "services": ["mariadb", "keystone", "nova-api", "nova-conductor"]}
    assert data["nodes"]["lb"]["address"] == "10.0.0.10"  # not the VIP it also holds
    assert data["nodes"]["cmp1"]["roles"] == ["compute"]
    assert data["services"]["keystone"] == {"nodes": ["ctl1", "ctl2"],
                                            "grep": "keystone-uwsgi", "expected_downtime": 5,
                                            "port": 5000, "api": "identity"}
    assert data["services"]["nova-api"]["port"] == 8774
    assert "nova-scheduler" not in data["services"]  # a pgrep is not a service
    assert data["services"]["mariadb"]["port"] == 3306 and "api" not in data["services"][
        "mariadb"]
    assert data["load_balancer"] == {
        "type": "haproxy", "node": "lb", "admin_socket": "/run/haproxy/admin.sock",
        "stats_url": "http://10.0.0.10:8404/",
        "backends": {"keystone": "keystone_internal", "nova-api": "nova_api"}}
    assert data["vip"] == VIP and data["endpoints"]["identity"].endswith(":5000/v3")
    notes = "\n".join(found.notes)
    assert "backend 'grafana'" in notes and "node cmp9" in notes and "--node cmp9=" in notes
    assert "SSH to 10.0.0.40 failed" in notes  # a backend server that does not answer
    assert data["logs"] == {"keystone": {"files": ["/var/log/keystone/keystone.log"]},
                            "nova-api": {"files": ["/var/log/nova/nova-api.log"]},
                            "nova-compute": {"unit": "nova-compute"}}  # journald
    assert "logs: no log file found for mariadb, nova-conductor: add" in notes
    # 5 nodes once each, HAProxy's configuration once, log files on the 3 nodes with services
    assert len(calls) == 5 + 1 + 3


def test_a_node_ssh_cannot_read_keeps_what_the_load_balancer_says():
    found, _ = discover(down={"10.0.0.12"})
    assert found.data["services"]["keystone"]["nodes"] == ["ctl1", "ctl2"]
    assert "ctl2" in found.data["nodes"] and "node ctl2: SSH to 10.0.0.12 failed" in \
        "\n".join(found.notes)


def test_the_written_file_has_comments_no_secret_and_reads_back():
    found, _ = discover(bmcs={"ctl1": ("redfish", "10.1.0.11")}, bmc_user="admin")
    text = render.render(found, "c")
    assert text.startswith("# Target file written by `extreme target discover`")
    assert "# The safety interlock" in text and "# FILL IN: switches" in text
    assert "FILL IN: HAProxy backend 'grafana'" in text
    data = yaml.safe_load(text)
    for key in ("nodes", "services", "load_balancer", "endpoints", "vip", "ssh", "logs"):
        assert data[key] == found.data[key]
    assert data["destructive"] is False
    assert data["bmcs"] == {"ctl1": {"protocol": "redfish", "address": "10.1.0.11",
                                     "port": 443, "username": "admin",
                                     "password_env": "EXTREME_BMC_PASSWORD"}}
    assert "password:" not in text and "secret" not in text.lower()


def test_the_written_file_is_a_valid_target(tmp_path):
    from ExtremeTesting import target

    found, _ = discover()
    file = tmp_path / "discovered.yaml"
    file.write_text(render.render(found, "c"))
    assert target.load(file).data["nodes"]["ctl2"]["address"] == "10.0.0.12"


def test_check_of_what_was_discovered_finds_no_difference():
    found, _ = discover()
    assert check.differences(copy.deepcopy(found.data), found) == []


def test_check_names_every_planted_difference():
    found, _ = discover()
    planted = copy.deepcopy(found.data)
    planted["nodes"]["ctl2"]["services"].remove("keystone")
    planted["services"]["keystone"]["nodes"] = ["ctl1"]
    planted["services"]["nova-api"]["port"] = 8775
    planted["services"]["mariadb"]["grep"] = "mysqld-wrong"
    planted["nodes"]["ctl3"] = {"address": "10.0.0.13", "services": []}
    del planted["nodes"]["cmp1"]
    planted["load_balancer"]["admin_socket"] = "/var/run/other.sock"
    planted["endpoints"]["compute"] = f"http://{VIP}:8774/v2"
    diffs = "\n".join(check.differences(planted, found))
    assert "keystone runs on ctl2, but the target does not list it there." in diffs
    assert "nova-api: the target says port 8775, the cloud serves it on 8774." in diffs
    assert ("the target places mariadb on ctl1, but it does not run there (its pattern "
            "'mysqld-wrong' matches no process on ctl1).") in diffs
    assert "node ctl3 (10.0.0.13) is in the target, but the cloud shows no such node" in diffs
    assert "node cmp1 (10.0.0.31) runs nova-compute, but the target does not list it." in diffs
    assert "load_balancer.admin_socket: the target says /var/run/other.sock" in diffs
    assert "endpoints.compute: the target says" in diffs
    assert len(check.differences(planted, found)) == 8


def test_check_seeds_discovery_from_the_target():
    data = {"cloud": "prod", "ssh": {"username": "ops", "port": 2222},
            "nodes": {"lb": {"address": "10.0.0.10"}, "ctl1": {"address": "10.0.0.11"}},
            "load_balancer": {"type": "haproxy", "node": "lb"}}
    options = check.options_from_target(data, build.Options())
    assert (options.cloud, options.ssh_user, options.ssh_port, options.lb) == (
        "prod", "ops", 2222, "10.0.0.10")
    assert options.nodes == {"lb": "10.0.0.10", "ctl1": "10.0.0.11"}


@pytest.mark.parametrize("argv, needle", [
    (["--node", "ctl1"], "--node 'ctl1': write NAME=ADDRESS"),
    (["--bmc", "=10.0.0.1"], "--bmc '=10.0.0.1': write NAME=ADDRESS"),
    (["--ssh-key", "/nonexistent/key"], "--ssh-key /nonexistent/key: no such file"),
])
def test_bad_input_is_one_clear_line_before_anything_is_asked(argv, needle, capsys,
                                                               monkeypatch):
    monkeypatch.setattr(discover_cli, "read_cloud", lambda *a, **k: pytest.fail("asked"))
    assert extreme_cli.main(["target", "discover", *argv]) == 2
    assert needle in capsys.readouterr().err


def test_an_existing_output_is_not_overwritten_without_force(tmp_path, capsys, monkeypatch):
    out = tmp_path / "t.yaml"
    out.write_text("keep")
    monkeypatch.setattr(discover_cli, "read_cloud", lambda *a, **k: pytest.fail("asked"))
    assert extreme_cli.main(["target", "discover", "-o", str(out)]) == 2
    assert "exists: give --force" in capsys.readouterr().err and out.read_text() == "keep"


def test_the_command_writes_the_file_and_check_exits_with_the_differences(
        tmp_path, capsys, monkeypatch):
    run, _ = fake_runner()
    monkeypatch.setattr(discover_cli, "read_cloud", lambda *a, **k: CLOUD)
    monkeypatch.setattr(discover_cli, "ssh_runner", lambda options: run)
    out = tmp_path / "t.yaml"
    assert extreme_cli.main(["target", "discover", "--cloud", "c", "--lb", "10.0.0.10",
                             "-o", str(out)]) == 0
    assert "4 nodes" in capsys.readouterr().err  # mon1 (no SSH, no service) is a note
    assert extreme_cli.main(["target", "discover", "--check", str(out)]) == 0
    assert "no difference" in capsys.readouterr().out
    data = yaml.safe_load(out.read_text())
    data["services"]["nova-api"]["nodes"] = ["ctl1"]
    data["nodes"]["ctl2"]["services"].remove("nova-api")
    out.write_text(yaml.safe_dump(data))
    assert extreme_cli.main(["target", "discover", "--check", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "DIFFERENCE: nova-api runs on ctl2, but the target does not list it there." in printed
    assert "1 difference " in printed


def test_parsers():
    view = gather.parse_node("10.0.0.11", node_output(*NODES["10.0.0.11"]))
    assert view.name == "ctl1" and view.listening == {5000, 8774, 3306}
    assert not any("pgrep" in p or "bash -c" in p for p in view.processes)
    assert gather.parse_node("a", node_output(*NODES["10.0.0.31"])).units == [
        "ssh", "nova-compute"]
    assert gather.haproxy_config_path(gather.parse_node("a", node_output(*NODES["10.0.0.10"])
                                                        )) == "/etc/haproxy/lab.cfg"
    balancer = gather.parse_haproxy(HAPROXY_CFG, "10.0.0.10")
    assert [b.name for b in balancer.backends] == ["mariadb", "keystone_internal", "nova_api",
                                                   "grafana"]
    assert balancer.backends[2].servers[0] == ("ctl1", "10.0.0.11", 8774)
    assert gather.vip_of(CLOUD.endpoints) == VIP


def test_check_names_a_log_file_the_target_lists_but_a_node_lacks():
    found, _ = discover()
    run, _ = fake_runner()
    data = copy.deepcopy(found.data)
    assert check.log_differences(data, found, run, 5) == []
    data["logs"]["keystone"]["files"] = ["/var/log/keystone/keystone-all.log"]
    data["logs"]["nova-api"] = {"files": ["/var/log/nova/api.log"], "nodes": ["ctl2"]}
    assert check.log_differences(data, found, run, 5) == [
        "logs.keystone: /var/log/keystone/keystone-all.log is not on ctl1 (no readable file "
        "there): its evidence would hold nothing from it.",
        "logs.keystone: /var/log/keystone/keystone-all.log is not on ctl2 (no readable file "
        "there): its evidence would hold nothing from it.",
        "logs.nova-api: /var/log/nova/api.log is not on ctl2 (no readable file there): "
        "its evidence would hold nothing from it."]


def test_a_log_file_on_only_some_nodes_is_a_note():
    files = {"10.0.0.11": ["/var/log/keystone/keystone.log"],
             "10.0.0.12": ["/var/log/kolla/keystone/keystone.log"]}
    run, _ = fake_runner()

    def partial(address, line, timeout):
        if line.startswith("for f in "):
            return "".join(f"{f}\n" for f in files.get(address, []))
        return run(address, line, timeout)

    found = build.discover(build.Options(cloud="c", lb="10.0.0.10"), CLOUD, partial)
    assert found.data["logs"]["keystone"] == {"files": ["/var/log/keystone/keystone.log"]}
    assert ("logs.keystone: /var/log/keystone/keystone.log is not on ctl2: give "
            "logs.keystone.files the path there too.") in found.notes


def test_os_faults_gets_every_node_and_each_service_with_a_systemd_unit():
    found, _ = discover()
    section = found.data["os_faults"]
    assert section["node_discover"]["args"][0] == {
        "ip": "10.0.0.31", "fqdn": "cmp1", "auth": {"username": "root",
                                                   "private_key_file": "/k"}}
    assert section["services"] == {"nova-compute": {
        "driver": "system_service",
        "args": {"service_name": "nova-compute", "grep": "/usr/bin/nova-compute"},
        "hosts": ["10.0.0.31"]}}
    assert any(n.startswith("os_faults.services: no systemd unit found for mariadb")
               for n in found.notes)

"""`extreme lab add-node` / `remove-node` without a lab: the spare nodes' topology, the
target file written with an added node and without it, the scale section, the command
line's refusals, lab.json's record of added nodes (status, down), the order of a removal,
and HAProxy's run-time servers for a controller.
Nothing here touches a namespace, a process or the network: every such step is a fake."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from ExtremeTesting.lab import build, config, lab, scaling, targetfile
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.lab.shell import LabError
from types import SimpleNamespace as Case

from ExtremeTesting.report.model import _declared
from ExtremeTesting.target import NO_SCALE, SCALE_CASES, load, parse_scale

SECRETS = {"admin": "A-pw", "service": "S-pw", "db": "D-pw", "rabbit": "R-pw",
           "bmc": "B-pw", "switch": "W-pw", "erlang_cookie": "C-pw"}
UPGRADES = {"keystone": {"from": {"keystone": "1"}, "to": {"keystone": "2"}}}


def service(name, added=()):
    return next(s for s in topo.services(added) if s.name == name)


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    monkeypatch.setattr(scaling.os, "geteuid", lambda: 0)
    (tmp_path / "secrets.json").write_text(json.dumps(SECRETS))
    lab.write_state(phase="up", bmcs={"ctl1": 11})
    return tmp_path


def write_up_target(root: Path) -> None:
    """target.yaml and os-faults.yaml as `up` writes them (with upgrades declared)."""
    files = {"clouds.yaml": str(root / "clouds.yaml"), "os-faults": str(root / "os-faults.yaml")}
    targetfile.write_yaml(root / "os-faults.yaml", targetfile.os_faults_config())
    targetfile.write_yaml(root / "target.yaml", targetfile.target(files, UPGRADES),
                          comments=targetfile.COMMENTS)


# ------------------------------------------------------------------ topology
def test_cmp2_is_built_like_cmp1_and_ctl3_runs_the_api_services_without_clusters():
    assert [s.name for s in topo.services_of("cmp2")] == \
        [s.name for s in topo.services_of("cmp1")] == ["neutron-linuxbridge-agent",
                                                         "nova-compute"]
    assert [s.name for s in topo.services_of("ctl3")] == [
        "keystone", "placement", "glance-api", "nova-api", "neutron-server",
        "nova-conductor", "nova-scheduler"]
    assert topo.role_of("cmp2") == "compute" and topo.role_of("ctl3") == "controller"
    with pytest.raises(KeyError, match="cmp2, ctl3"):
        topo.role_of("cmp1")


def test_spare_nodes_have_their_own_addresses_bmcs_and_one_switch_port():
    everything = topo.NODES + topo.SPARE_NODES
    assert len({n.address for n in everything}) == len(everything)
    assert len({n.bmc_address for n in everything}) == len(everything)
    assert topo.node("cmp2").address == "198.18.0.32"
    assert topo.node("ctl3").address == "198.18.0.13"
    assert topo.switch_ports("cmp2") == ["cmp2"] and topo.switch_ports("ctl3") == ["ctl3"]
    assert "cmp2" not in [n.name for n in topo.NODES]  # never made at `up`


def test_added_nodes_join_the_node_lists_of_their_services_only():
    assert topo.services() == list(topo.SERVICES)
    assert service("nova-compute", ["cmp2"]).nodes == ("cmp1", "cmp2")
    assert service("neutron-linuxbridge-agent", ["cmp2"]).nodes == ("ctl1", "ctl2", "cmp1",
                                                                     "cmp2")
    assert service("keystone", ["cmp2"]).nodes == ("ctl1", "ctl2")
    assert service("keystone", ["ctl3", "cmp2"]).nodes == ("ctl1", "ctl2", "ctl3")
    assert service("mariadb", ["ctl3"]).nodes == ("ctl1", "ctl2", "db")
    assert ("Linux bridge agent", "cmp2") in topo.agents(["cmp2"])
    assert ("Linux bridge agent", "cmp2") not in topo.agents()
    assert [n.name for n in topo.nodes(["ctl3", "cmp2"])][-2:] == ["ctl3", "cmp2"]


def test_an_added_controller_is_in_haproxy_and_every_node_resolves_the_spare_names():
    text = config.haproxy_cfg("/sock", ["ctl3"])
    assert "server ctl3 198.18.0.13:5000 check" in text
    assert "server ctl3 198.18.0.13:9696 check" in text
    assert "ctl3" not in config.haproxy_cfg("/sock")
    hosts = config.hosts_file()
    assert "198.18.0.32 cmp2" in hosts and "198.18.0.13 ctl3" in hosts


def test_a_new_controller_gets_keystones_keys_as_ctl1_has_them_now(lab_dir, monkeypatch):
    for repo in build.KEY_REPOSITORIES:
        folder = lab_dir / "nodes" / "ctl1" / "etc" / "keystone" / repo
        folder.mkdir(parents=True)
        for index in ("0", "1", "2"):
            (folder / index).write_text(f"{repo}-{index}")
    seen = {}
    monkeypatch.setattr(build, "lay_out_node",
                        lambda node, values, keys, images: seen.update(node=node.name,
                                                                       keys=keys))
    build.lay_out_added(topo.node("ctl3"), SECRETS)
    assert seen["node"] == "ctl3"
    assert seen["keys"]["fernet-keys"] == {"0": "fernet-keys-0", "1": "fernet-keys-1",
                                           "2": "fernet-keys-2"}
    build.lay_out_added(topo.node("cmp2"), SECRETS)
    assert seen == {"node": "cmp2", "keys": {}}


def test_a_new_controller_without_keys_to_copy_is_refused(lab_dir):
    with pytest.raises(LabError, match="No Keystone keys"):
        build.lay_out_added(topo.node("ctl3"), SECRETS)


# ------------------------------------------------------------------ the target file
def test_the_target_file_lists_an_added_compute_node_everywhere(lab_dir):
    files = {"clouds.yaml": "clouds.yaml", "os-faults": "os-faults.yaml"}
    path = lab_dir / "target.yaml"
    path.write_text(yaml.safe_dump(targetfile.target(files, added=["cmp2"])))
    target = load(path)
    assert target.node("cmp2") == {"address": "198.18.0.32", "roles": ["compute"],
                                   "services": ["neutron-linuxbridge-agent", "nova-compute"]}
    services = target.section("services")
    assert services["nova-compute"]["nodes"] == ["cmp1", "cmp2"]
    assert services["neutron-linuxbridge-agent"]["nodes"][-1] == "cmp2"
    assert target.section("bmcs")["cmp2"]["address"] == topo.node("cmp2").bmc_address
    assert "cmp2" in target.section("switches")["sw1"]["ports"]
    assert target.section("data_plane")["guests"]["compute_nodes"] == ["cmp1", "cmp2"]
    assert target.section("lab")["added_nodes"] == ["cmp2"]
    faults = targetfile.os_faults_config(["cmp2"])
    assert "198.18.0.32" in faults["services"]["nova-compute"]["hosts"]
    assert "198.18.0.32" not in faults["services"]["keystone"]["hosts"]
    assert {"ip": "198.18.0.32", "fqdn": "cmp2"}.items() <= \
        faults["node_discover"]["args"][-1].items()


def test_the_lab_target_describes_its_deploy_tool_in_a_scale_section(lab_dir):
    data = targetfile.target({"clouds.yaml": "c", "os-faults": "o"})
    settings = parse_scale(data, "lab")
    assert settings.run_on is None  # local
    assert settings.add.line("cmp2", "compute").endswith(
        "extreme lab add-node cmp2 --role compute")
    assert settings.remove.line("ctl3", "controller").endswith("extreme lab remove-node ctl3")
    assert settings.cell_discovery == "command"
    assert settings.nova_manage_node == "ctl1"
    assert settings.nova_manage == "runuser -u nova -- nova-manage"
    assert (settings.boot_image, settings.boot_flavor, settings.boot_network) == \
        ("cirros-fake", "m1.tiny", None)
    assert settings.migration == ("live", "cold")
    assert settings.add.timeout >= 600 and settings.ready_within >= 180
    assert 0 < settings.settle <= settings.ready_within


def test_rewrite_adds_the_node_then_takes_it_out_keeping_the_upgrades(lab_dir):
    write_up_target(lab_dir)
    before = (lab_dir / "target.yaml").read_text()
    assert "cmp2" not in yaml.safe_load(before)["nodes"]
    files = targetfile.rewrite(["cmp2"])
    assert files["target"] == str(lab_dir / "target.yaml")
    text = (lab_dir / "target.yaml").read_text()
    data = yaml.safe_load(text)
    assert "cmp2" in data["nodes"] and data["changes"]["upgrades"] == UPGRADES
    assert "# scale: adding and removing nodes" in text  # the keys explained above it
    assert "198.18.0.32" in (lab_dir / "os-faults.yaml").read_text()
    load(lab_dir / "target.yaml")
    targetfile.rewrite([])
    data = yaml.safe_load((lab_dir / "target.yaml").read_text())
    assert "cmp2" not in data["nodes"] and data["changes"]["upgrades"] == UPGRADES
    assert "198.18.0.32" not in (lab_dir / "os-faults.yaml").read_text()
    assert not list(lab_dir.glob("*.new"))


def test_rewrite_without_a_target_file_says_the_lab_is_not_up(lab_dir):
    with pytest.raises(LabError, match="is the lab up"):
        targetfile.rewrite(["cmp2"])


# ------------------------------------------------------------------ not applicable
def test_a_target_without_scale_declares_the_scale_cases_not_applicable(tmp_path):
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump({"name": "other", "nodes": {"ctl1": {"address": "a"}}}))
    declared = load(path).data["not_applicable"]
    assert {"test": SCALE_CASES, "reason": NO_SCALE} in declared
    for name in ("Suites.Changes.Scale.A New Compute Node Is Usable At Once",
                 "Scale.A Controller Is Drained Before It Leaves"):
        case = Case(name=name.rsplit(".", 1)[1], full_name=name)
        assert _declared(case, declared) == NO_SCALE
    other = Case(name="Rolling Restart Of Keystone With Drain",
                 full_name="Suites.Changes.Rolling Restart.Rolling Restart Of Keystone With Drain")
    assert _declared(other, declared) == ""


def test_a_target_with_scale_declares_nothing_of_it(lab_dir):
    write_up_target(lab_dir)
    declared = load(lab_dir / "target.yaml").data.get("not_applicable") or []
    assert not [e for e in declared if e.get("test") == SCALE_CASES]


# ------------------------------------------------------------------ the command line
@pytest.mark.parametrize("argv, message", [
    (["lab", "add-node", "cmp2"], "--role"),
    (["lab", "add-node", "cmp2", "--role", "storage"], "invalid choice"),
    (["lab", "remove-node"], "name"),
])
def test_cli_refuses_bad_arguments_before_touching_anything(argv, message, capsys):
    from ExtremeTesting.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name, expected", [
    ("ctl1", "made by 'extreme lab up'"), ("cmp1", "'extreme lab down' removes the whole lab"),
    ("sw1", "made by 'extreme lab up'"), ("cmp7", "No node 'cmp7' was added")])
def test_remove_node_refuses_a_node_up_made_or_never_added(name, expected, lab_dir, capsys):
    from ExtremeTesting.cli import main

    assert main(["lab", "remove-node", name]) == 1
    err = capsys.readouterr().err
    assert expected in err and err.startswith("extreme lab remove-node: ")


@pytest.mark.parametrize("name, role, expected", [
    ("cmp2", "controller", "cmp2 is a compute node: run 'extreme lab add-node cmp2 --role "
                           "compute'"),
    ("ctl1", "controller", "ctl1 is already a node of the lab"),
    ("cmp9", "compute", "cannot add a node named 'cmp9'. Nodes it adds: cmp2 (--role "
                        "compute), ctl3 (--role controller)"),
])
def test_add_node_refuses_what_it_cannot_add(name, role, expected, lab_dir):
    with pytest.raises(LabError) as error:
        scaling.add_node(name, role)
    assert expected in str(error.value)
    assert lab.added_nodes() == []


def test_add_node_refuses_a_lab_that_is_not_up_and_a_node_already_added(lab_dir):
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}})
    with pytest.raises(LabError, match="cmp2 is already added .up.: 'extreme lab remove-node"):
        scaling.add_node("cmp2", "compute")
    lab.write_state(phase="building")
    with pytest.raises(LabError, match="the lab is not up"):
        scaling.add_node("ctl3", "controller")


def test_ssh_and_power_name_a_spare_node_only_once_added(lab_dir, capsys):
    from ExtremeTesting.cli import main

    assert main(["lab", "power", "cmp2", "status"]) == 1
    assert "'extreme lab add-node cmp2 --role compute' adds it" in capsys.readouterr().err


# ------------------------------------------------------------------ lab.json
def test_an_added_node_is_recorded_before_it_is_built_and_the_target_rewritten(lab_dir,
                                                                           monkeypatch):
    seen = []

    def built(node, role, values, state):
        seen.append((node.name, role, lab.read_state()["added"]["cmp2"]["phase"]))

    rewritten = []
    monkeypatch.setattr(scaling, "_add", built)
    monkeypatch.setattr(targetfile, "rewrite",
                        lambda added: rewritten.append(list(added)) or {"target": "t"})
    entry = scaling.add_node("cmp2", "compute")
    assert seen == [("cmp2", "compute", "adding")]
    assert rewritten == [["cmp2"]]
    assert entry["role"] == "compute" and entry["phase"] == "up"
    assert entry["add_seconds"] >= 0
    state = lab.read_state()
    assert state["added"]["cmp2"]["phase"] == "up" and state["files"]["target"] == "t"
    assert state["bmcs"] == {"ctl1": 11}  # the others' BMCs kept


def test_a_failed_add_removes_what_it_made(lab_dir, monkeypatch):
    def broken(node, role, values, state):
        raise LabError("nova-compute did not start")

    removed = []
    monkeypatch.setattr(scaling, "_add", broken)
    monkeypatch.setattr(scaling, "_remove", lambda name, role, quiet=False:
                        removed.append((name, role, quiet)) or ([], []))
    monkeypatch.delenv("EXTREME_LAB_KEEP_FAILED", raising=False)
    with pytest.raises(LabError, match="nova-compute did not start"):
        scaling.add_node("cmp2", "compute")
    assert removed == [("cmp2", "compute", True)]


def test_removing_a_node_not_added_is_a_no_op(lab_dir, monkeypatch, capsys):
    monkeypatch.setattr(lab, "leftover_namespaces", lambda: [])
    monkeypatch.setattr(scaling, "_remove", lambda *a, **k: pytest.fail("removed something"))
    scaling.remove_node("cmp2")
    assert "cmp2 is not in the lab: nothing to remove" in capsys.readouterr().out


class Steps:
    """Fakes for every step of a removal, recording their order."""

    def __init__(self, monkeypatch, on=True, left=()):
        self.events = []
        steps = self

        class FakeMachine:
            def __init__(self, name):
                self.name = name

            def is_on(self):
                return on

            def power_off(self):
                steps.events.append(("power off", self.name))

        monkeypatch.setattr(scaling, "Machine", FakeMachine)
        monkeypatch.setattr(lab, "node_pid", lambda name: 77)
        monkeypatch.setattr(lab, "remove_guests",
                            lambda names: self.events.append(("guests", *names)) or [])
        monkeypatch.setattr(scaling, "in_node",
                            lambda pid, cmd, *a: self.events.append(("in node", pid, cmd[-1])))
        monkeypatch.setattr(build, "set_autostart",
                            lambda name, value: self.events.append(("autostart", value)))
        monkeypatch.setattr(scaling, "forget",
                            lambda name, values: self.events.append(("forget", name))
                            or list(left))
        monkeypatch.setattr(lab, "stop_bmc", lambda pid: self.events.append(("bmc", pid)))
        monkeypatch.setattr(scaling, "remove_namespace",
                            lambda name: self.events.append(("namespace", name)))
        monkeypatch.setattr(targetfile, "rewrite",
                            lambda added: self.events.append(("target", list(added))))
        monkeypatch.setattr(scaling, "leave_haproxy",
                            lambda name, rest: self.events.append(("haproxy", name, rest)))


def test_a_compute_node_is_removed_in_order_and_forgotten_by_the_cloud(lab_dir, monkeypatch):
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}},
                    bmcs={"ctl1": 11, "cmp2": 42})
    (lab_dir / "nodes" / "cmp2").mkdir(parents=True)
    (lab_dir / "bmc" / "cmp2").mkdir(parents=True)
    steps = Steps(monkeypatch)
    scaling.remove_node("cmp2")
    assert steps.events == [("autostart", False), ("guests", "cmp2"),
                            ("in node", 77, "stop-all"), ("power off", "cmp2"),
                            ("forget", "cmp2"), ("bmc", 42), ("namespace", "cmp2"),
                            ("target", [])]
    state = lab.read_state()
    assert state["added"] == {} and state["bmcs"] == {"ctl1": 11}
    assert not (lab_dir / "nodes" / "cmp2").exists() and not (lab_dir / "bmc" / "cmp2").exists()


def test_removing_an_added_node_never_stops_the_base_nodes_shared_bmc(lab_dir, monkeypatch):
    """Should an added node ever be mapped to the base nodes' BMC process, removing it
    forgets the mapping and leaves the process serving the others."""
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}},
                    bmcs={"ctl1": 11, "ctl2": 11, "cmp2": 11})
    (lab_dir / "nodes" / "cmp2").mkdir(parents=True)
    steps = Steps(monkeypatch)
    scaling.remove_node("cmp2")
    assert not [event for event in steps.events if event[0] == "bmc"]
    assert lab.read_state()["bmcs"] == {"ctl1": 11, "ctl2": 11}


def test_a_controller_leaves_haproxy_first(lab_dir, monkeypatch):
    lab.write_state(added={"ctl3": {"role": "controller", "phase": "up"},
                           "cmp2": {"role": "compute", "phase": "up"}})
    (lab_dir / "nodes" / "ctl3").mkdir(parents=True)
    steps = Steps(monkeypatch)
    scaling.remove_node("ctl3")
    assert steps.events[0] == ("haproxy", "ctl3", ["cmp2"])
    assert ("guests", "ctl3") not in steps.events
    assert steps.events[-1] == ("target", ["cmp2"])
    assert lab.added_nodes() == ["cmp2"]


def test_what_the_cloud_still_lists_fails_the_removal_after_the_rest(lab_dir, monkeypatch):
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}})
    steps = Steps(monkeypatch, on=False, left=["nova-compute on cmp2 (HTTP 409)"])
    with pytest.raises(LabError, match="the cloud still lists nova-compute on cmp2 .HTTP 409"):
        scaling.remove_node("cmp2")
    assert ("namespace", "cmp2") in steps.events and lab.added_nodes() == []


def test_a_step_that_fails_is_named_after_every_other_step_ran(lab_dir, monkeypatch):
    lab.write_state(added={"ctl3": {"role": "controller", "phase": "up"}})
    steps = Steps(monkeypatch, on=False)

    def refused(name, rest):
        raise LabError("HAProxy kept keystone/ctl3: Server still has connections")

    monkeypatch.setattr(scaling, "leave_haproxy", refused)
    with pytest.raises(LabError, match="HAProxy: HAProxy kept keystone/ctl3.* did not succeed"):
        scaling.remove_node("ctl3")
    assert steps.events[-1] == ("target", []) and lab.added_nodes() == []


def test_status_lists_the_added_nodes(lab_dir, monkeypatch):
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}})

    class Off:
        def __init__(self, name):
            self.init_pid = None

        def is_on(self):
            return False

    monkeypatch.setattr(lab, "Machine", Off)
    nodes = {n["name"]: n for n in lab.status()["nodes"]}
    assert nodes["cmp2"]["added"] == "up" and nodes["cmp2"]["roles"] == ["compute"]
    assert "added" not in nodes["cmp1"] and "ctl3" not in nodes


def test_down_removes_an_added_node_and_its_bmc_too(lab_dir, monkeypatch):
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}},
                    bmcs={"cmp2": 4242})
    (lab_dir / "nodes" / "cmp2").mkdir(parents=True)
    events = []

    class FakeMachine:
        def __init__(self, name):
            self.name = name
            self.init_pid = None

        def power_off(self):
            events.append(("power off", self.name))

    monkeypatch.setattr(lab, "Machine", FakeMachine)
    monkeypatch.setattr(lab, "stop_bmc", lambda pid: events.append(("bmc", pid)))
    monkeypatch.setattr(lab, "ip", lambda *args, check=True: type(
        "Done", (), {"returncode": 1, "stdout": "xt-cmp2\nxt-ctl3\n"})())
    monkeypatch.setattr(lab, "namespace_pids", lambda ns: [])
    monkeypatch.setattr(lab, "remove_guests", lambda: events.append(("guests",)) or [])
    lab.down(quiet=True)
    assert ("bmc", 4242) in events and ("power off", "cmp2") in events
    assert {"xt-cmp2", "xt-ctl3"} <= set(lab.leftover_namespaces())
    assert not lab_dir.exists()


def test_guests_are_removed_on_added_compute_nodes_too(lab_dir, monkeypatch):
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "up"}})
    asked = []

    class FakeMachine:
        def __init__(self, name):
            self.init_pid = None
            asked.append(name)

    monkeypatch.setattr(lab, "Machine", FakeMachine)
    for name in ("cmp1", "cmp2"):
        (lab_dir / "nodes" / name).mkdir(parents=True)
    lab.remove_guests()
    assert asked == ["cmp1", "cmp2"]


# ------------------------------------------------------------------ HAProxy
def test_a_controller_joins_every_backend_of_its_apis_health_checked(lab_dir, monkeypatch):
    sent = []

    def fake(text, timeout=5.0):
        sent.append(text)
        return "New server registered." if text.startswith("add server") else ""

    monkeypatch.setattr(scaling, "haproxy", fake)
    scaling.join_haproxy("ctl3", ["ctl3"])
    backends = [s.name for s in topo.api_services()]
    assert [t for t in sent if t.startswith("add server")] == [
        f"add server {b}/ctl3 198.18.0.13:{service(b).port} {scaling.DYNAMIC_SERVER}"
        for b in backends]
    assert sent[1:3] == ["enable health keystone/ctl3", "set server keystone/ctl3 state ready"]
    cfg = (lab_dir / "nodes" / "lb" / "etc" / "haproxy" / "haproxy.cfg").read_text()
    assert "server ctl3 198.18.0.13:8774 check" in cfg


def test_haproxy_refusing_a_server_fails_the_join(lab_dir, monkeypatch):
    monkeypatch.setattr(scaling, "haproxy", lambda text, timeout=5.0: "Unknown backend.")
    with pytest.raises(LabError, match="HAProxy refused 'add server keystone/ctl3"):
        scaling.join_haproxy("ctl3", ["ctl3"])


def test_a_controller_leaves_haproxy_once_its_connections_ended(lab_dir, monkeypatch):
    sent, busy = [], {"keystone": 2}

    def fake(text, timeout=5.0):
        sent.append(text)
        if text.startswith("del server"):
            backend = text.split()[2].split("/")[0]
            if busy.get(backend):
                busy[backend] -= 1
                return "Server still has connections attached to it, cannot remove it."
            return "Server deleted."
        return ""

    monkeypatch.setattr(scaling, "haproxy", fake)
    monkeypatch.setattr(scaling.time, "sleep", lambda s: None)
    scaling.leave_haproxy("ctl3", [])
    maint = [i for i, t in enumerate(sent) if t.endswith("state maint")]
    first_delete = min(i for i, t in enumerate(sent) if t.startswith("del server"))
    assert len(maint) == len(topo.api_services()) and max(maint) < first_delete
    assert "disable health nova-api/ctl3" in sent
    assert sent.count("del server keystone/ctl3") == 3
    cfg = (lab_dir / "nodes" / "lb" / "etc" / "haproxy" / "haproxy.cfg").read_text()
    assert "ctl3" not in cfg


class Opener:
    """urllib's opener as warm_up uses it: every request answers ``code``."""

    def __init__(self, code):
        self.code, self.asked = code, []

    def open(self, request, timeout):
        self.asked.append((request.full_url, request.get_header("X-auth-token")))
        if self.code >= 400:
            raise scaling.urllib.error.HTTPError(request.full_url, self.code, "", {}, None)
        return open(__file__)  # a context manager, as a response is


@pytest.mark.parametrize("code", [200, 401])
def test_a_new_controller_is_warmed_up_on_its_own_address(code, monkeypatch):
    opener = Opener(code)
    monkeypatch.setattr(scaling.urllib.request, "build_opener", lambda *handlers: opener)
    scaling.warm_up("ctl3")
    assert len(opener.asked) == 5 * 2 * scaling.WARM_UP_ROUNDS
    assert ("http://198.18.0.13:5000/v3", None) in opener.asked
    assert all(url.startswith("http://198.18.0.13:") for url, _ in opener.asked)


def test_a_new_controller_serves_the_monitors_real_requests_before_it_joins(monkeypatch):
    opener = Opener(200)
    monkeypatch.setattr(scaling.urllib.request, "build_opener", lambda *handlers: opener)
    scaling.warm_up("ctl3", token="t0ken")
    real = {url for url, token in opener.asked if token == "t0ken"}
    assert real == {"http://198.18.0.13:5000/v3/auth/tokens",
                    "http://198.18.0.13:5000/v3/auth/projects",
                    "http://198.18.0.13:8774/v2.1/servers?limit=1",
                    "http://198.18.0.13:9292/v2/images?limit=1",
                    "http://198.18.0.13:9696/v2.0/networks?limit=1",
                    "http://198.18.0.13:8778/resource_providers"}
    assert len(opener.asked) == (5 + 6) * 2 * scaling.WARM_UP_ROUNDS


def test_an_api_that_does_not_serve_keeps_the_controller_out_of_haproxy(monkeypatch):
    monkeypatch.setattr(scaling.urllib.request, "build_opener", lambda *handlers: Opener(503))
    with pytest.raises(LabError, match="http://198.18.0.13:5000/v3 did not answer before "
                                       "ctl3 joins HAProxy: HTTP 503"):
        scaling.warm_up("ctl3")


def test_status_says_which_nodes_were_added(capsys):
    from ExtremeTesting.lab import cli

    node = {"address": "a", "power": "on", "roles": ["compute"], "services": []}
    cli.print_status({"phase": "up", "dir": "/lab", "vip": "v", "nodes": [
        {"name": "cmp1", **node}, {"name": "cmp2", "added": "up", **node}]})
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].rstrip().endswith("compute") and "added" not in lines[1]
    assert lines[2].endswith("(added by add-node: up)")


class Build:
    """Fakes for every step of an addition (up's own functions), recording their order."""

    def __init__(self, monkeypatch, lab_dir):
        self.events = []
        record = self.events.append

        class FakeMachine:
            def __init__(self, name):
                self.name = name

            def power_on(self):
                record(("power on", self.name))

        class FakeApi:
            token = "t0ken"

            def wait_until(self, what, check, timeout):
                record(("wait", what, check(), timeout))

            def compute_host_up(self, host):
                return host == "cmp2"

            def wait_agents(self, wanted, timeout):
                record(("agents", wanted))

        monkeypatch.setattr(build, "lay_out_added", lambda node, values: record(("files",
                                                                                node.name)))
        monkeypatch.setattr(lab, "node_link_up", lambda *args: record(("link", *args)))
        monkeypatch.setattr(lab, "start_bmc", lambda node, values: 4321)
        monkeypatch.setattr(lab, "wait_port", lambda address, port, timeout, what:
                            record(("port", address, port)))
        monkeypatch.setattr(scaling, "Machine", FakeMachine)
        monkeypatch.setattr(lab, "node_pid", lambda name: 99)
        monkeypatch.setattr(scaling.releases, "preseed", lambda pid, node: record(("preseed",
                                                                                   pid)))
        monkeypatch.setattr(lab, "install_old_release",
                            lambda upgrades, nodes, nice=0: record((
                                "old release", upgrades, [n.name for n in nodes], nice)))
        monkeypatch.setattr(lab, "service", lambda node, name, nice=0:
                            record(("start", node, name)) if nice == scaling.BUILD_NICE
                            else pytest.fail(f"{name} started at priority {nice}"))
        monkeypatch.setattr(scaling, "logged_in", lambda values: FakeApi())
        monkeypatch.setattr(scaling, "warm_up", lambda name, token="": record(("warm up",
                                                                                  name, token)))
        monkeypatch.setattr(scaling, "join_haproxy", lambda name, added: record(("haproxy",
                                                                                 name, added)))
        monkeypatch.setattr(build, "set_autostart", lambda name, value: record(("autostart",
                                                                                value)))


def test_a_compute_node_is_built_with_ups_steps_and_ready_once_nova_and_neutron_see_it(
        lab_dir, monkeypatch):
    steps = Build(monkeypatch, lab_dir)
    lab.write_state(added={"cmp2": {"role": "compute", "phase": "adding"}})
    scaling._add(topo.node("cmp2"), "compute", SECRETS, {"release": "new"})
    assert steps.events == [
        ("files", "cmp2"), ("link", "xt-sw1", "cmp2", "198.18.0.32", 24),
        ("port", topo.node("cmp2").bmc_address, 8000), ("power on", "cmp2"),
        ("port", "198.18.0.32", 22), ("preseed", 99),
        ("start", "cmp2", "neutron-linuxbridge-agent"), ("start", "cmp2", "nova-compute"),
        ("wait", "cmp2 reported up by the compute API", True, scaling.REPORT_WITHIN),
        ("agents", [("Linux bridge agent", "cmp2")]), ("autostart", True)]
    assert lab.read_state()["bmcs"] == {"ctl1": 11, "cmp2": 4321}


def test_a_controller_joins_haproxy_after_its_services_serve_and_gets_the_old_release(
        lab_dir, monkeypatch):
    steps = Build(monkeypatch, lab_dir)
    write_up_target(lab_dir)
    lab.write_state(added={"ctl3": {"role": "controller", "phase": "adding"}})
    scaling._add(topo.node("ctl3"), "controller", SECRETS, {"release": "old"})
    names = [e[0] for e in steps.events]
    # its dpkg at the build's lower priority, as its services: on the lab the new node
    # shares the running controllers' CPUs
    assert ("old release", UPGRADES, ["ctl3"], scaling.BUILD_NICE) in steps.events
    starts = [e[2] for e in steps.events if e[0] == "start"]
    assert starts == [s.name for s in topo.services_of("ctl3")]
    assert names.index("warm up") > max(i for i, n in enumerate(names) if n == "start")
    assert ("warm up", "ctl3", "t0ken") in steps.events  # with the monitor's real requests
    assert steps.events[-2:] == [("haproxy", "ctl3", ["ctl3"]), ("autostart", True)]
    assert "wait" not in names


class _NetworkProxy:
    """openstacksdk's network proxy: its endpoint already ends in /v2.0."""

    def __init__(self):
        self.paths: list[str] = []

    def request(self, path, method, raise_exc=False, **kwargs):
        self.paths.append(path)

        class Answer:
            status_code = (404 if path.startswith("/v2.0/") else
                           204 if method == "DELETE" else 200)
            text = ""

            @staticmethod
            def json():
                return {"agents": [{"id": "a1", "agent_type": "Linux bridge agent",
                                    "alive": True, "host": "cmp2"}]}
        return Answer()


def test_network_agents_are_asked_for_relative_to_the_network_endpoint():
    from ExtremeTesting.changes.scale import SdkCloud

    proxy = _NetworkProxy()
    conn = type("Conn", (), {"network": proxy, "has_service": lambda self, name: True})()
    cloud = SdkCloud(conn)
    assert cloud.agents("cmp2") == [{"id": "a1", "type": "Linux bridge agent", "alive": True}]
    cloud.delete_agent("a1")
    assert proxy.paths == ["/agents?host=cmp2", "/agents/a1"]


class _Flaky:
    """A proxy answering 503 a number of times, then 200."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, []

    def request(self, path, method, raise_exc=False, **kwargs):
        self.calls.append(method)
        code = 503 if len(self.calls) <= self.failures else 200
        body = {"hypervisors": []}
        return type("Answer", (), {"status_code": code, "text": "Service Unavailable",
                                   "json": staticmethod(lambda: body)})()


def _flaky_cloud(failures: int):
    from ExtremeTesting.changes.scale import SdkCloud

    proxy, now = _Flaky(failures), [0.0]
    conn = type("Conn", (), {"compute": proxy})()
    cloud = SdkCloud(conn, clock=lambda: now[0],
                     sleep=lambda s: now.__setitem__(0, now[0] + s))
    return cloud, proxy, now


def test_a_scale_call_answered_503_is_asked_again_for_a_bounded_time_but_never_a_post():
    from ExtremeTesting.changes.scale import ScaleError

    cloud, proxy, _ = _flaky_cloud(failures=3)  # a Keystone coming back: 6 s of 503
    assert cloud.hypervisors("cmp2") == []
    assert len(proxy.calls) == 4
    cloud, proxy, now = _flaky_cloud(failures=1000)  # never back: fails naming the answer
    with pytest.raises(ScaleError, match="answered HTTP 503"):
        cloud.hypervisors("cmp2")
    assert cloud.TRANSIENT_FOR <= now[0] <= cloud.TRANSIENT_FOR + 2
    cloud, proxy, _ = _flaky_cloud(failures=1)
    with pytest.raises(ScaleError, match="answered HTTP 503"):
        cloud._call("compute", "POST", "/servers")
    assert proxy.calls == ["POST"]


@pytest.mark.skipif(os.geteuid() != 0, reason="setting a priority back to 0 needs root")
def test_a_node_built_at_low_priority_gets_the_normal_one_back_except_its_own_choices():
    """reprioritize(): what runs at BUILD_NICE goes back to 0 (the node serves); a process
    that chose another priority (a guest's echo service) keeps it."""
    import subprocess

    def sleeper(nice: int) -> subprocess.Popen:
        return subprocess.Popen(["sleep", "30"],
                                preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, nice))

    built, chosen = sleeper(scaling.BUILD_NICE), sleeper(3)
    try:
        assert os.getpriority(os.PRIO_PROCESS, built.pid) == scaling.BUILD_NICE
        assert scaling.reprioritize(0, pids=[built.pid, chosen.pid, 999_999_999]) == 1
        assert os.getpriority(os.PRIO_PROCESS, built.pid) == 0
        assert os.getpriority(os.PRIO_PROCESS, chosen.pid) == 3
    finally:
        for proc in (built, chosen):
            proc.kill()
            proc.wait()


def test_a_nodes_processes_are_those_of_its_pid_namespace(tmp_path):
    proc = tmp_path / "proc"
    for pid, ns in ((1, "pid:[111]"), (50, "pid:[222]"), (51, "pid:[222]"), (60, "pid:[111]")):
        (proc / str(pid) / "ns").mkdir(parents=True)
        (proc / str(pid) / "ns" / "pid").symlink_to(ns)
    (proc / "self").mkdir()
    assert sorted(scaling.node_processes(50, str(proc))) == [50, 51]
    assert scaling.node_processes(7, str(proc)) == []  # a node not running

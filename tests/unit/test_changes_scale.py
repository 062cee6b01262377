"""Adding and removing nodes offline: the scale keywords of the Changes library over a fake
cloud (Nova, Placement, Neutron as plain dicts), fake nodes (nova-manage, HAProxy) and a
fake deploy tool; the ledger's add <-> remove pairing; the target's scale section."""

from __future__ import annotations

import re
import shlex
from types import SimpleNamespace

import pytest
import yaml

from ExtremeTesting import results
from ExtremeTesting import target as targets
from ExtremeTesting.changes import Changes, scale, undo
from ExtremeTesting.changes.gate import GateResult
from ExtremeTesting.changes.remote import Result
from ExtremeTesting.errors import TargetError

STAT_HEADER = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,status"
SCALE = {
    "run_on": "local",
    "add": {"command": "deploy add {node} --role {role}", "timeout": "30 min"},
    "remove": {"command": "deploy remove {node}", "timeout": "20 min"},
    "cell_discovery": "command",
    "nova_manage": {"node": "ctl1", "command": "nova-manage", "timeout": "2 min"},
    "boot": {"image": "cirros", "flavor": "m1.tiny"},
    "ready_within": "60 s",
    "settle": "30 s",
}


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.01)


class FakeCloud:
    """Nova, Placement and Neutron of a small cloud, as the scale checks see them."""

    def __init__(self):
        self.services: dict[str, list[dict]] = {}
        self.hypervisors_: dict[str, list[dict]] = {}
        self.inventory: dict[str, dict] = {}
        self.zones: dict[str, str] = {}
        self.aggregates: dict[str, list[str]] = {}
        self.servers: dict[str, dict] = {}
        self.agents_: dict[str, list[dict]] = {}
        self.boot_fault = ""  # the fault a targeted server goes to ERROR with
        self.boot_refused = ""  # the compute API's 4xx answer to a targeted boot
        self.still_running: set[str] = set()  # hosts whose nova-compute registers again
        self.keep_providers = False  # placement keeps a deleted compute's provider
        self.stuck: set[str] = set()  # servers no migration moves
        self.booted: list[tuple[str, str]] = []
        self.calls: list[str] = []
        self._deleted: set[str] = set()

    def register(self, host: str, inventory=None) -> None:
        self.services[host] = [{"id": f"svc-{host}", "binary": "nova-compute", "host": host,
                                "state": "up", "status": "enabled"}]
        self.hypervisors_[host] = [{"id": f"rp-{host}", "name": f"{host}.example"}]
        self.inventory[f"rp-{host}"] = dict(inventory or {"VCPU": 4, "MEMORY_MB": 8192,
                                                          "DISK_GB": 40})
        self.agents_[host] = [{"id": f"agent-{host}", "type": "Linux bridge agent",
                               "alive": True}]

    # the SdkCloud interface
    def compute_services(self, host):
        if host in self.still_running and host in self._deleted and not self.services.get(host):
            self.register(host)  # a running nova-compute creates its service again
        return [dict(s) for s in self.services.get(host, [])]

    def set_service_enabled(self, service_id, enabled, reason=""):
        self.calls.append(f"{'enable' if enabled else 'disable'} {service_id}")
        for services in self.services.values():
            for service in services:
                if service["id"] == service_id:
                    service["status"] = "enabled" if enabled else "disabled"

    def delete_service(self, service_id):
        self.calls.append(f"delete service {service_id}")
        for host, services in self.services.items():
            if any(s["id"] == service_id for s in services):
                self.services[host] = [s for s in services if s["id"] != service_id]
                self._deleted.add(host)
                if not self.keep_providers:
                    for hypervisor in self.hypervisors_.pop(host, []):
                        self.inventory.pop(hypervisor["id"], None)

    def hypervisors(self, host):
        return [dict(h) for h in self.hypervisors_.get(host, [])]

    def inventories(self, provider):
        return self.inventory.get(provider)

    def provider_ids(self, name):
        return [h["id"] for hs in self.hypervisors_.values() for h in hs if h["name"] == name
                and h["id"] in self.inventory]

    def provider_exists(self, provider):
        return provider in self.inventory

    def zone_of(self, host):
        return self.zones.get(host, "nova")

    def aggregate_hosts(self, name):
        return self.aggregates.get(name)

    def servers_on(self, host):
        return [dict(s) for s in self.servers.values() if s["host"] == host]

    def server(self, server_id):
        found = self.servers.get(server_id)
        return dict(found) if found else None

    def migrate(self, server_id, how):
        self.calls.append(f"{how} migrate {server_id}")
        if server_id in self.stuck:
            raise scale.ScaleError("No valid host was found.")
        self.servers[server_id]["host"] = "cmp1"

    def confirm_resize(self, server_id):
        pass

    def boot_on_host(self, name, host, image, flavor, network):
        if self.boot_refused:
            raise scale.BootRefused(self.boot_refused)
        server_id = f"srv-{len(self.booted)}"
        self.booted.append((name, host))
        self.servers[server_id] = {"id": server_id, "name": name, "host": host,
                                   "status": "ERROR" if self.boot_fault else "ACTIVE",
                                   "fault": self.boot_fault}
        return server_id

    def delete_server(self, server_id):
        self.servers.pop(server_id, None)

    def agents(self, host):
        return [dict(a) for a in self.agents_.get(host, [])]

    def delete_agent(self, agent_id):
        self.calls.append(f"delete agent {agent_id}")
        for host in self.agents_:
            self.agents_[host] = [a for a in self.agents_[host] if a["id"] != agent_id]


class FakeNodes:
    """nova-manage's host mappings on ctl1 and HAProxy's servers on lb."""

    def __init__(self):
        self.mapped: set[str] = {"cmp1"}
        self.discoverable: set[str] = set()
        self.servers: dict[tuple[str, str], list] = {}  # (backend, server) -> [status, scur]
        self.commands: list[tuple[str, str]] = []
        self.target = None

    def run(self, node, command, check=True, stdin=b"", timeout=None):
        self.commands.append((node, command))
        out = ""
        if "cell_v2 list_hosts" in command:
            rows = "".join(f"| cell1 | 5d1b-uuid | {h} |\n" for h in sorted(self.mapped))
            out = ("+-------+-----------+----------+\n| Cell Name | Cell UUID | Hostname |\n"
                   "+-------+-----------+----------+\n" + rows)
        elif "cell_v2 discover_hosts" in command:
            self.mapped |= self.discoverable
        elif "socat" in command:
            text = shlex.split(re.search(r"echo (.+?) \| socat", command)[1])[0]
            out = self._haproxy(text)
        return Result(0, out, "")

    def _haproxy(self, text):
        if text == "show stat":
            rows = [STAT_HEADER] + [f"{b},{s},0,0,{scur},0,,0,0,0,{status}"
                                    for (b, s), (status, scur) in self.servers.items()]
            return "\n".join(rows) + "\n"
        match = re.fullmatch(r"set server (\S+)/(\S+) state (\w+)", text)
        if not match or (match[1], match[2]) not in self.servers:
            return "No such server."
        self.servers[(match[1], match[2])][0] = {"drain": "DRAIN", "ready": "UP",
                                                 "maint": "MAINT"}[match[3]]
        return ""

    def close(self, node=None):
        pass


class Deploy:
    """The operator's deploy tool: what each command does to the fake cloud."""

    def __init__(self, cloud: FakeCloud, nodes: FakeNodes):
        self.cloud, self.nodes = cloud, nodes
        self.lines: list[str] = []
        self.on_add = True  # the added compute registers and can be discovered

    def __call__(self, argv, **kwargs):
        line = argv[-1]
        self.lines.append(line)
        words = shlex.split(line)
        node = words[2]
        if words[1] == "add" and node.startswith("cmp") and self.on_add:
            self.cloud.register(node)
            self.nodes.discoverable.add(node)
        if words[1] == "add" and node.startswith("ctl"):
            self.nodes.servers[("keystone", node)] = ["UP", 0]
        if words[1] == "remove" and node.startswith("ctl"):
            self.nodes.servers.pop(("keystone", node), None)
        return SimpleNamespace(returncode=0, stdout="", stderr="")


@pytest.fixture
def target_file(tmp_path):
    data = {
        "name": "fake", "destructive": True, "cloud": "fake",
        "ssh": {"username": "root", "private_key_file": "key"},
        "nodes": {name: {"address": f"192.0.2.{i}"} for i, name in
                  enumerate(["lb", "ctl1", "ctl2", "ctl3", "cmp1", "cmp2"], 10)},
        "services": {"keystone": {"nodes": ["ctl1", "ctl2", "ctl3"], "port": 5000,
                                  "api": "identity"}},
        "load_balancer": {"type": "haproxy", "node": "lb", "admin_socket": "/run/h.sock"},
        "scale": SCALE,
    }
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def world(monkeypatch, target_file):
    cloud, nodes, clock = FakeCloud(), FakeNodes(), Clock()
    cloud.register("cmp1")
    nodes.servers = {("keystone", "ctl1"): ["UP", 0], ("keystone", "ctl2"): ["UP", 0]}
    deploy = Deploy(cloud, nodes)
    monkeypatch.setattr(undo, "connect", lambda target, timeout=60.0: nodes)
    monkeypatch.setattr(undo, "open_cloud", lambda target: cloud)
    monkeypatch.setattr(scale.subprocess, "run", deploy)  # the undo path's deploy tool
    records = []
    monkeypatch.setattr(results, "publish", lambda kind, data, *a, **k: records.append(data))
    lib = Changes(str(target_file))
    lib.ctx.scale_clock, lib.ctx.scale_sleep, lib.ctx.scale_runner = clock, clock.sleep, deploy
    listener = lib.ROBOT_LIBRARY_LISTENER
    listener.start_suite(None, SimpleNamespace(name="Suite", full_name="Suite", parent=None))
    listener.start_test(None, SimpleNamespace(name="Case", full_name="Suite.Case"))
    return SimpleNamespace(lib=lib, cloud=cloud, nodes=nodes, deploy=deploy, clock=clock,
                           records=records, listener=listener)


def end_test(world):
    result = SimpleNamespace(name="Case", full_name="Suite.Case", status="PASS", message="")
    world.listener.end_test(None, result)
    return result


def failure(call) -> str:
    with pytest.raises(scale.ScaleError) as caught:
        call()
    return str(caught.value)


# --- a new compute -----------------------------------------------------------------

def test_add_compute_node_runs_the_deploy_tool_discovers_and_checks_everything(world):
    world.lib.add_compute_node("cmp2")
    assert world.deploy.lines == ["deploy add cmp2 --role compute"]
    assert ("ctl1", "nova-manage cell_v2 discover_hosts --verbose") in world.nodes.commands
    assert world.cloud.booted == [(f"xt-{world.lib.ctx.run_id}-scale-cmp2", "cmp2")]
    assert world.cloud.servers == {}  # the targeted server is deleted again
    what = {r["what"]: r for r in world.records}
    assert {"compute service up", "host mapped to a cell", "VCPU inventory",
            "MEMORY_MB inventory", "DISK_GB inventory",
            "server booted targeted at the host ACTIVE"} <= set(what)
    assert all(r["passed"] and r["keyword"] == "Add Compute Node" for r in world.records)
    assert what["VCPU inventory"]["measured"] == 4
    [entry] = world.lib.changes.pending
    assert (entry.step.action, entry.undo.action, entry.undo.args) == \
        ("add node", undo.REMOVE_NODE, {"role": "compute"})


def test_an_unmapped_host_is_named_with_host_mapping_not_found(world, target_file):
    data = yaml.safe_load(target_file.read_text())
    data["scale"] = {**SCALE, "cell_discovery": "periodic", "periodic_within": "2 min"}
    target_file.write_text(yaml.safe_dump(data))
    message = failure(lambda: world.lib.add_compute_node("cmp2"))
    assert "cmp2 is not mapped to a cell after 120 s" in message
    assert "HostMappingNotFound" in message and "discover_hosts_in_cells_interval" in message
    assert not any("discover_hosts" in c for _, c in world.nodes.commands)  # periodic
    assert world.cloud.booted == []  # no server is sent to an unmapped host
    mapped = next(r for r in world.records if r["what"] == "host mapped to a cell")
    assert mapped["passed"] is False and mapped["measured"] is None
    assert world.clock.now - 1000.0 >= 120  # it waited the whole periodic window


def test_a_targeted_server_in_error_names_the_unmapped_host(world):
    world.cloud.boot_fault = "Host 'cmp2' is not mapped to any cell"
    message = failure(lambda: world.lib.add_compute_node("cmp2"))
    assert "went to ERROR (Host 'cmp2' is not mapped to any cell)" in message
    assert "HostMappingNotFound: cmp2 is not mapped to a cell" in message
    assert world.cloud.servers == {}  # deleted even so


def test_a_refused_targeted_boot_is_named(world):
    world.cloud.boot_refused = "HTTP 400: Compute host cmp2 could not be found."
    message = failure(lambda: world.lib.add_compute_node("cmp2"))
    assert "the compute API refused a server targeted at cmp2" in message
    assert "HostMappingNotFound" in message


def test_missing_inventory_zone_and_aggregate_are_each_named(world, target_file):
    data = yaml.safe_load(target_file.read_text())
    data["scale"] = {**SCALE, "availability_zone": "az-new", "aggregate": "new-hw"}
    target_file.write_text(yaml.safe_dump(data))
    world.cloud.aggregates["new-hw"] = ["cmp1"]
    world.deploy.on_add = False
    world.cloud.register("cmp2", {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 0})
    world.nodes.discoverable.add("cmp2")
    message = failure(lambda: world.lib.add_compute_node("cmp2"))
    assert "has no DISK_GB inventory (it has: DISK_GB 0, MEMORY_MB 8192, VCPU 4)" in message
    assert "cmp2 is not in availability zone az-new (it is in nova)" in message
    assert "cmp2 is not in aggregate new-hw (its hosts: cmp1)" in message


def test_a_compute_service_that_never_comes_up_is_named(world):
    world.deploy.on_add = False
    message = failure(lambda: world.lib.add_compute_node("cmp2"))
    assert "nova-compute on cmp2 is not up and enabled after 60 s (seen: not registered)" \
        in message
    assert [r["what"] for r in world.records] == ["compute service up"]


# --- a compute going away --------------------------------------------------------------

def removable(world, host="cmp2"):
    world.cloud.register(host)
    world.nodes.mapped.add(host)
    world.cloud.servers["s1"] = {"id": "s1", "name": "web", "host": host, "status": "ACTIVE",
                                 "fault": ""}


def test_remove_compute_node_disables_moves_removes_and_leaves_nothing(world):
    removable(world)
    world.nodes.mapped.discard("cmp2")  # deleting the service deletes its mapping (Nova)
    world.lib.remove_compute_node("cmp2")
    calls = world.cloud.calls
    assert calls.index("disable svc-cmp2") < calls.index("live migrate s1") \
        < calls.index("delete service svc-cmp2")
    assert world.cloud.servers["s1"]["host"] == "cmp1"
    assert world.deploy.lines == ["deploy remove cmp2"]
    assert "delete agent agent-cmp2" in calls
    assert {r["what"] for r in world.records} == {
        "resource providers left", "host mappings left", "network agents left",
        "services registered again within the settle window"}
    assert all(r["passed"] for r in world.records)
    [entry] = world.lib.changes.pending  # the disable is closed: only the removal is left
    assert (entry.step.action, entry.undo.action) == ("remove node", undo.ADD_NODE)


def test_a_leftover_resource_provider_and_host_mapping_are_named(world):
    removable(world)
    world.cloud.keep_providers = True
    message = failure(lambda: world.lib.remove_compute_node("cmp2"))
    assert "resource provider(s) rp-cmp2 of cmp2 left in placement" in message
    assert "openstack resource provider delete" in message
    assert "cmp2 is still mapped to a cell" in message
    assert "nova-manage cell_v2 delete_host --cell_uuid <cell> --host cmp2" in message


def test_a_leftover_agent_is_named(world, monkeypatch):
    removable(world)
    world.nodes.mapped.discard("cmp2")
    monkeypatch.setattr(world.cloud, "delete_agent", lambda agent_id: None)  # refused
    message = failure(lambda: world.lib.remove_compute_node("cmp2"))
    assert "network agent(s) left on cmp2: Linux bridge agent agent-cmp2" in message


def test_a_service_that_registers_again_is_named(world):
    removable(world)
    world.nodes.mapped.discard("cmp2")
    world.cloud.still_running.add("cmp2")
    message = failure(lambda: world.lib.remove_compute_node("cmp2"))
    assert "nova-compute, Linux bridge agent agent on cmp2 registered again" in message
    assert "the remove command must stop it" in message
    record = next(r for r in world.records if r["what"].startswith("services registered"))
    assert record["measured"] == 2 and record["passed"] is False


def test_a_server_that_cannot_move_stops_the_removal_before_its_command(world):
    removable(world)
    world.cloud.stuck.add("s1")
    with pytest.raises(scale.ScaleError, match=r"Could not move 1 server\(s\) off cmp2.*"
                                               r"web \(ACTIVE; live: No valid host"):
        world.lib.remove_compute_node("cmp2")
    assert world.deploy.lines == []
    end_test(world)  # the disable's undo enables the service again
    assert world.cloud.services["cmp2"][0]["status"] == "enabled"


# --- the ledger: an added node's undo is its removal, and the other way round ----------

def test_an_added_compute_is_removed_when_the_test_ends(world):
    world.lib.add_compute_node("cmp2")
    world.nodes.mapped.discard("cmp2")
    result = end_test(world)
    assert result.status == "PASS", result.message
    assert world.deploy.lines == ["deploy add cmp2 --role compute", "deploy remove cmp2"]
    assert world.cloud.services.get("cmp2") == []
    assert world.lib.changes.ledger().open_entries() == []


def test_a_removed_compute_is_added_again_when_the_test_ends(world):
    removable(world)
    world.nodes.mapped.discard("cmp2")
    world.lib.remove_compute_node("cmp2")
    result = end_test(world)
    assert result.status == "PASS", result.message
    assert world.deploy.lines == ["deploy remove cmp2", "deploy add cmp2 --role compute"]
    assert world.cloud.services["cmp2"][0]["state"] == "up"
    assert world.lib.changes.ledger().open_entries() == []


def test_add_then_remove_in_one_test_leaves_nothing_to_undo(world):
    world.lib.add_compute_node("cmp2")
    world.nodes.mapped.discard("cmp2")
    world.lib.remove_compute_node("cmp2")
    assert world.lib.changes.pending == []
    end_test(world)
    assert world.deploy.lines == ["deploy add cmp2 --role compute", "deploy remove cmp2"]
    assert world.lib.changes.ledger().open_entries() == []


def test_the_undo_actions_are_registered_for_recover():
    from ExtremeTesting.lifecycle import handler_for

    assert handler_for(undo.ADD_NODE) is undo.add_node
    assert handler_for(undo.REMOVE_NODE) is undo.remove_node


# --- controllers -------------------------------------------------------------------

class FakeGate:
    def __init__(self, node, service, warmup=(), failures=()):
        self.result = GateResult(node, service, "http://192.0.2.13:5000/v3", 5.0,
                                 requests=20, warmup=list(warmup), failures=list(failures),
                                 warmed=True)

    def run(self):
        return self.result


def failed_request(probe="identity-version", error="ConnectionRefused"):
    return {"probe": probe, "status": None, "error": error, "request_id": "req-1"}


def test_a_controller_joins_only_once_it_serves(world, monkeypatch):
    states = []
    world.lib.ctx.gate = lambda target, node, service: (
        states.append(world.nodes.servers[("keystone", node)][0]) or FakeGate(node, service))
    world.lib.add_controller("ctl3")
    assert states == ["DRAIN"]  # the gate's requests went to it while out of rotation
    assert world.nodes.servers[("keystone", "ctl3")][0] == "UP"
    assert all(r["passed"] for r in world.records)
    [entry] = world.lib.changes.pending  # the drain is closed, the addition is open
    assert (entry.undo.action, entry.undo.args) == (undo.REMOVE_NODE, {"role": "controller"})


def test_a_controller_in_rotation_before_it_served_is_named(world):
    world.lib.ctx.gate = lambda target, node, service: FakeGate(
        node, service, warmup=[failed_request()] * 3)
    message = failure(lambda: world.lib.add_controller("ctl3"))
    assert "ctl3 was in rotation in the load balancer (keystone UP) right after the add " \
           "command, before it served" in message
    assert "identity-version: ConnectionRefused" in message
    early = next(r for r in world.records if r["what"].startswith("servers in rotation"))
    assert early["measured"] == 1 and not early["passed"]


def test_a_controller_that_does_not_serve_stays_out_of_rotation(world):
    world.lib.ctx.gate = lambda target, node, service: FakeGate(
        node, service, failures=[failed_request("token-validate", "HTTP 500")])
    message = failure(lambda: world.lib.add_controller("ctl3"))
    assert "ctl3 did not serve, so it was kept out of rotation" in message
    assert world.nodes.servers[("keystone", "ctl3")][0] == "DRAIN"


def test_remove_controller_drains_first_and_checks_the_rotation(world):
    world.nodes.servers[("keystone", "ctl3")] = ["UP", 0]
    world.lib.remove_controller("ctl3")
    socket_lines = [c for _, c in world.nodes.commands if "set server" in c]
    assert "keystone/ctl3 state drain" in socket_lines[0]
    assert world.deploy.lines == ["deploy remove ctl3"]
    assert [p.undo.action for p in world.lib.changes.pending] == [undo.ADD_NODE]
    assert all(r["passed"] for r in world.records)


def test_a_removed_controller_left_in_rotation_is_named(world, monkeypatch):
    world.nodes.servers[("keystone", "ctl3")] = ["UP", 0]
    original = world.deploy.__class__.__call__

    def keep_it(self, argv, **kwargs):
        answer = original(self, argv, **kwargs)
        self.nodes.servers[("keystone", "ctl3")] = ["UP", 0]  # the tool forgot HAProxy
        return answer

    monkeypatch.setattr(Deploy, "__call__", keep_it)
    message = failure(lambda: world.lib.remove_controller("ctl3"))
    assert "the load balancer still sends requests to the removed ctl3" in message


# --- the target's scale section ----------------------------------------------------------

BAD_SCALE = {
    "no add": ({k: v for k, v in SCALE.items() if k != "add"}, "scale.add is missing"),
    "unknown key": ({**SCALE, "discovery": "x"}, "scale has unknown keys discovery"),
    "no node": ({**SCALE, "add": {"command": "deploy add", "timeout": "1 min"}},
                "scale.add.command does not name the node; put {node}"),
    "placeholder": ({**SCALE, "remove": {"command": "rm {node} {host}", "timeout": "1 min"}},
                    "scale.remove.command has unknown placeholders {host}; use only {node}"),
    "no timeout": ({**SCALE, "add": {"command": "deploy {node}"}},
                   "scale.add.timeout is missing; every command needs one"),
    "bad timeout": ({**SCALE, "add": {"command": "deploy {node}", "timeout": "soon"}},
                    "scale.add.timeout is not a time above 0 s"),
    "discovery": ({**SCALE, "cell_discovery": "auto"},
                  "scale.cell_discovery must be command or periodic"),
    "manage node": ({**SCALE, "nova_manage": {"node": "ctl9"}},
                    "scale.nova_manage.node must name a controller of nodes:"),
    "run_on": ({**SCALE, "run_on": "deployhost"},
               "scale.run_on names 'deployhost', which is not in nodes:"),
    "migration": ({**SCALE, "migration": ["evacuate"]},
                  "scale.migration must list live and/or cold"),
    "boot": ({**SCALE, "boot": {"image": "cirros"}}, "scale.boot.flavor is missing"),
    "not a mapping": (["add"], "'scale' must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCALE))
def test_a_bad_scale_section_is_one_line_naming_the_key_and_the_fix(tmp_path, case):
    section, words = BAD_SCALE[case]
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "nodes": {"ctl1": {}}, "scale": section}))
    with pytest.raises(TargetError) as caught:
        targets.load(path)
    message = str(caught.value)
    assert words in message and str(path) in message and "\n" not in message
    assert "example-3-controllers.yaml" in message


def test_the_example_targets_scale_section_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "variables/example-3-controllers.yaml"
    found = scale.settings(targets.load(example))
    assert found.cell_discovery == "command" and found.nova_manage_node == "ctl1"
    assert found.add.line("cmp 3", "compute").endswith("--limit 'cmp 3'")  # quoted


def test_a_scale_keyword_without_the_section_names_it(tmp_path, monkeypatch):
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "destructive": True,
                                    "nodes": {"cmp2": {}}}))
    with pytest.raises(TargetError, match="has no 'scale' section"):
        Changes(str(path)).add_compute_node("cmp2")


def test_the_deploy_command_timeout_is_named(world):
    import subprocess

    def slow(argv, **kwargs):
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    world.lib.ctx.scale_runner = slow
    message = failure(lambda: world.lib.add_compute_node("cmp2"))
    assert "ran longer than its timeout (1800 s, scale.add.timeout)" in message
    [entry] = world.lib.changes.pending  # a half-made addition is undone at scope end
    assert entry.undo.action == undo.REMOVE_NODE


def test_list_hosts_table_is_parsed():
    text = ("+-----------+--------------------------------------+----------+\n"
            "| Cell Name |              Cell UUID               | Hostname |\n"
            "+-----------+--------------------------------------+----------+\n"
            "|   cell1   | 1794d657-7ae4-4b1e-8ef4-1f8e0e0b2b11 |   cmp1   |\n"
            "+-----------+--------------------------------------+----------+\n")
    assert scale.parse_list_hosts(text) == {"cmp1"}

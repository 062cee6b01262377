"""The lab's Neutron data plane and guests, without a lab: the agents where the decisions
put them, what each agent's configuration needs on its node, the external network on the
switch's bridge and the client namespace, the guest driver's install into cmp1's overlay
and its plugging logic (with a fake guests module), the target's data_plane section, and
`lab down` removing guests and the client namespace."""

import configparser
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from ExtremeTesting.lab import api as lab_api
from ExtremeTesting.lab import build, config, lab, machine, nova_guest_driver, targetfile
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.target import load

SECRETS = {"admin": "A-pw", "service": "S-pw", "db": "D-pw", "rabbit": "R-pw",
           "bmc": "B-pw", "switch": "W-pw", "erlang_cookie": "C-pw"}
LAB = Path(__file__).parents[2] / "libraries" / "ExtremeTesting" / "lab"
AGENTS = ("neutron-linuxbridge-agent", "neutron-dhcp-agent", "neutron-l3-agent")


def parse(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def service(name):
    return next(s for s in topo.SERVICES if s.name == name)


# ------------------------------------------------------------------ topology
def test_agents_run_where_the_decisions_put_them():
    assert service("neutron-linuxbridge-agent").nodes == ("ctl1", "ctl2", "cmp1")
    assert service("neutron-dhcp-agent").nodes == ("ctl1", "ctl2")
    assert service("neutron-l3-agent").nodes == ("ctl1", "ctl2")
    assert topo.agents() == [
        ("DHCP agent", "ctl1"), ("DHCP agent", "ctl2"), ("L3 agent", "ctl1"),
        ("L3 agent", "ctl2"), ("Linux bridge agent", "cmp1"), ("Linux bridge agent", "ctl1"),
        ("Linux bridge agent", "ctl2")]
    for node in ("lb", "db"):
        assert not {s.name for s in topo.services_of(node)} & set(AGENTS)


def test_agents_start_after_neutron_server_and_before_nova_compute_on_cmp1():
    order = [s.name for s in topo.SERVICES]
    for agent in AGENTS:
        assert order.index(agent) > order.index("neutron-server")
        assert service(agent).stop_timeout == 15  # Debian's units: TimeoutStopSec=15
        assert service(agent).grep == f"/usr/bin/{agent}"
    cmp1 = [s.name for s in topo.services_of("cmp1")]
    assert cmp1 == ["neutron-linuxbridge-agent", "nova-compute"]


def test_controllers_have_an_external_port_on_the_switch_and_others_do_not():
    assert topo.switch_ports("ctl1") == ["ctl1", "ctl1-ext"]
    assert topo.switch_ports("ctl2") == ["ctl2", "ctl2-ext"]
    assert topo.switch_ports("cmp1") == ["cmp1"]
    assert topo.CLIENT_ADDRESS == "203.0.113.1"  # RFC 5737: never routed anywhere
    start, end = topo.FLOATING_POOL
    assert start.startswith("203.0.113.") and end.startswith("203.0.113.")
    assert topo.CLIENT_ADDRESS not in (start, end)


# ------------------------------------------------------------------ configuration
def test_neutron_server_runs_ml2_with_ha_routers_and_two_dhcp_agents_per_network():
    conf = parse(config.neutron_conf(SECRETS, "198.18.0.11"))
    default = conf["DEFAULT"]
    assert default["core_plugin"] == "ml2" and default["service_plugins"] == "router"
    assert default["l3_ha"] == "true" and default["max_l3_agents_per_router"] == "2"
    assert default["dhcp_agents_per_network"] == "2"
    # rpc_workers 0 still means one RPC worker (neutron raises it to 1), which takes the
    # agents' state reports (no separate reports worker)
    assert default["rpc_workers"] == "0" and default["rpc_state_report_workers"] == "0"
    # an agent is declared dead only after missing at least two reports
    assert int(default["agent_down_time"]) >= 2 * int(conf["agent"]["report_interval"])
    assert int(default["agent_down_time"]) <= 75  # faster than neutron's default
    # the agents are root: no sudo, no rootwrap in front of their commands
    assert conf["agent"]["root_helper"] == ""


def test_ml2_has_vxlan_tenant_networks_a_flat_external_network_and_linuxbridge():
    ml2 = parse(config.ml2_conf())
    assert ml2["ml2"]["mechanism_drivers"] == "linuxbridge,l2population"
    assert set(ml2["ml2"]["type_drivers"].split(",")) >= {"flat", "vxlan"}
    assert ml2["ml2"]["tenant_network_types"] == "vxlan"
    assert ml2["ml2_type_flat"]["flat_networks"] == "external"
    assert ml2["ml2_type_vxlan"]["vni_ranges"] == topo.VNI_RANGES


@pytest.mark.parametrize("node", ["ctl1", "ctl2", "cmp1"])
def test_each_linuxbridge_agent_tunnels_from_its_own_address(node):
    ini = parse(config.linuxbridge_agent_ini(node))
    assert ini["vxlan"]["enable_vxlan"] == "true"
    assert ini["vxlan"]["local_ip"] == topo.node(node).address
    assert ini["vxlan"]["l2_population"] == "true"
    assert ini["securitygroup"]["firewall_driver"] == "iptables"
    mapping = ini["linux_bridge"].get("physical_interface_mappings")
    assert mapping == ("external:eth1" if node in ("ctl1", "ctl2") else None)


@pytest.mark.parametrize("agent", AGENTS)
def test_privsep_daemons_start_without_sudo_with_the_agents_own_files(agent):
    text = {"neutron-linuxbridge-agent": config.linuxbridge_agent_ini("ctl1"),
            "neutron-dhcp-agent": config.dhcp_agent_ini(),
            "neutron-l3-agent": config.l3_agent_ini()}[agent]
    ini = parse(text)
    wanted = ("privsep-helper --config-file /etc/neutron/neutron.conf "
              f"--config-file /etc/neutron/{config.AGENT_INI[agent]}")
    # every privileged context neutron defines (neutron/privileged/__init__.py)
    for section in ("privsep", "privsep_dhcp_release", "privsep_ovs_vsctl",
                    "privsep_namespace", "privsep_conntrack", "privsep_link"):
        assert ini[section]["helper_command"] == wanted
    assert "sudo" not in text and "rootwrap" not in text


def test_dhcp_and_l3_agents_plug_into_linux_bridges_and_serve_no_metadata():
    dhcp = parse(config.dhcp_agent_ini())["DEFAULT"]
    assert dhcp["interface_driver"] == "linuxbridge"
    assert dhcp["enable_isolated_metadata"] == "false"
    l3 = parse(config.l3_agent_ini())["DEFAULT"]
    assert l3["interface_driver"] == "linuxbridge"
    assert l3["enable_metadata_proxy"] == "false"


def test_cmp1_boots_guests_and_the_controllers_keep_the_fake_driver():
    cmp1 = parse(config.nova_conf(SECRETS, "198.18.0.31", compute=True))["DEFAULT"]
    assert cmp1["compute_driver"] == "extreme_lab_guests.GuestDriver"
    assert cmp1["resume_guests_state_on_host_boot"] == "true"
    assert cmp1["vif_plugging_timeout"] == "0" and cmp1["vif_plugging_is_fatal"] == "false"
    ctl = parse(config.nova_conf(SECRETS, "198.18.0.11"))["DEFAULT"]
    assert ctl["compute_driver"] == "fake.FakeDriver"
    assert "resume_guests_state_on_host_boot" not in ctl


def test_each_node_gets_the_files_of_its_own_agents(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    ctl1 = build.node_config_files(topo.node("ctl1"), SECRETS)
    for path in ("neutron/neutron.conf", "neutron/plugins/ml2/ml2_conf.ini",
                 "neutron/plugins/ml2/linuxbridge_agent.ini", "neutron/dhcp_agent.ini",
                 "neutron/l3_agent.ini"):
        assert path in ctl1, path
    cmp1 = build.node_config_files(topo.node("cmp1"), SECRETS)
    assert "neutron/neutron.conf" in cmp1
    assert parse(cmp1["neutron/plugins/ml2/linuxbridge_agent.ini"][0])["vxlan"]["local_ip"] \
        == "198.18.0.31"
    for absent in ("neutron/dhcp_agent.ini", "neutron/l3_agent.ini",
                   "neutron/plugins/ml2/ml2_conf.ini"):
        assert absent not in cmp1
    assert "extreme_lab_guests" in cmp1["nova/nova.conf"][0]
    assert "extreme_lab_guests" not in ctl1["nova/nova.conf"][0]
    assert not build.node_config_files(topo.node("db"), SECRETS).keys() & {
        "neutron/neutron.conf"}


def test_agents_and_nova_compute_run_as_root_with_their_config_files():
    for agent in AGENTS:
        spec = build.service_spec(service(agent), topo.node("ctl1"))
        assert spec["user"] == "root"
        assert spec["command"] == [f"/usr/bin/{agent}", "--config-file",
                                   "/etc/neutron/neutron.conf", "--config-file",
                                   f"/etc/neutron/{config.AGENT_INI[agent]}"]
        assert spec["log"] == f"/var/log/neutron/{agent}.out"
    compute = build.service_spec(service("nova-compute"), topo.node("cmp1"))
    assert compute["user"] == "root"
    assert compute["env"] == {"PYTHONPATH": "/usr/local/lib/extreme-lab"}
    # neutron-server beside the root agents keeps its folders
    server = build.service_spec(service("neutron-server"), topo.node("ctl1"))
    assert server["user"] == "neutron"


def test_a_folder_stays_its_service_users_when_root_agents_share_it():
    assert build.folder_owners(topo.services_of("ctl1"))["neutron"] == "neutron"
    assert build.folder_owners(topo.services_of("cmp1")) == {"neutron": "root",
                                                             "nova": "nova"}


def test_the_guest_driver_goes_into_cmp1s_usr_overlay_only(tmp_path):
    home = tmp_path / "nodes" / "cmp1"
    target = build.install_guest_driver(home)
    upper = home / "overlay" / "usr" / "upper"
    assert target == upper / "local" / "lib" / "extreme-lab"
    for name in ("nova_guest_driver.py", "guests.py"):
        assert (target / name).read_bytes() == (LAB / name).read_bytes()
    shim = upper / "lib" / "python3" / "dist-packages" / "nova" / "virt" / \
        "extreme_lab_guests.py"
    assert "from nova_guest_driver import GuestDriver" in shim.read_text()
    assert config.GUEST_DRIVER == "extreme_lab_guests.GuestDriver"
    assert config.GUEST_SHIM == "/usr/lib/python3/dist-packages/nova/virt/extreme_lab_guests.py"
    compile(shim.read_text(), str(shim), "exec")


# ------------------------------------------------------------------ network
class Recorder:
    def __init__(self, listed=""):
        self.calls = []
        self.listed = listed

    def __call__(self, *args, check=True):
        self.calls.append(list(args))

        class Done:
            returncode = 0
            stdout = self.listed if args[:2] == ("netns", "list") else ""
        return Done()


def test_controllers_external_links_and_the_client_share_the_switch_bridge(monkeypatch):
    record = Recorder()
    monkeypatch.setattr(lab, "ip", record)
    lab.external_up("xt-sw1")
    calls = record.calls
    for node in ("ctl1", "ctl2"):
        assert ["-n", "xt-sw1", "link", "add", f"{node}-ext", "type", "veth", "peer", "name",
                "eth1", "netns", f"xt-{node}"] in calls
        assert ["-n", "xt-sw1", "link", "set", f"{node}-ext", "master", "br0", "up"] in calls
        assert ["-n", f"xt-{node}", "link", "set", "eth1", "up"] in calls
    # eth1 has no address: the Linux bridge agent bridges it
    assert not [c for c in calls if "addr" in c and "eth1" in c]
    assert ["netns", "add", "xt-client"] in calls
    assert ["-n", "xt-sw1", "link", "set", "client", "master", "br0", "up"] in calls
    assert ["-n", "xt-client", "addr", "add", "203.0.113.1/24", "dev", "eth0"] in calls
    assert not [c for c in calls if "route" in c]  # no way out of the lab


def test_powering_a_controller_off_takes_its_external_link_down_too(monkeypatch):
    record = Recorder()
    monkeypatch.setattr(machine, "ip", record)
    machine.Machine("ctl1")._port("down")
    machine.Machine("cmp1")._port("up")
    assert record.calls == [["-n", "xt-sw1", "link", "set", "ctl1", "down"],
                            ["-n", "xt-sw1", "link", "set", "ctl1-ext", "down"],
                            ["-n", "xt-sw1", "link", "set", "cmp1", "up"]]


def test_each_node_has_its_own_shared_run_netns(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("nodeinit", LAB / "nodeinit.py")
    nodeinit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nodeinit)
    calls = []
    monkeypatch.setattr(nodeinit, "run", lambda *cmd: calls.append(list(cmd)))
    folder = tmp_path / "run" / "netns"
    nodeinit.netns_dir(str(folder))
    assert folder.is_dir()
    assert calls == [["mount", "--bind", str(folder), str(folder)],
                     ["mount", "--make-shared", str(folder)]]
    # made after the node's own /run (a tmpfs in its private mount namespace)
    text = (LAB / "nodeinit.py").read_text()
    assert text.index("mount_all(node[\"mounts\"])") < text.index("    netns_dir()")
    assert "--make-rprivate" in text


# ------------------------------------------------------------------ the guest driver
class FakeGuests:
    """The guests module as the driver uses it."""

    GuestError = RuntimeError

    def __init__(self):
        self.made, self.links, self.calls = {}, set(), []
        self.broken = set()

    def guests(self):
        return sorted(self.made)

    def healthy(self, name):
        return name in self.made and name not in self.broken

    def load(self, name):
        class Guest:
            powered = self.made[name]["powered"]
        return Guest

    def ip(self, namespace, *args, check=True):
        self.calls.append(("ip", *args))
        if args[:2] == ("link", "show"):
            return f"{args[2]}: <UP>" if args[2] in self.links else ""
        if args[:2] == ("link", "add"):
            self.links.add(args[2])
        if args[:2] == ("link", "del"):
            self.links.discard(args[2])
        return ""

    def create(self, name, bridge, **options):
        self.calls.append(("create", name, bridge, options))
        self.made[name] = {"bridge": bridge, "powered": True, **options}

    def power(self, name, on):
        self.calls.append(("power", name, on))
        self.made[name]["powered"] = on

    def remove(self, name):
        self.calls.append(("remove", name))
        self.made.pop(name, None)
        self.broken.discard(name)


UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
VIF = {"id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "address": "fa:16:3e:12:34:56",
       "devname": "tap5e6f7a8b-9c", "network": {"id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                                                "bridge": "brq1a2b3c4d-5e"}}


def test_guests_are_named_as_nova_names_instances_taps_and_bridges():
    assert nova_guest_driver.guest_name(UUID) == "guest-0f1e2d3c4b5a6978"
    assert nova_guest_driver.tap_name(VIF) == "tap5e6f7a8b-9c"
    assert nova_guest_driver.tap_name({"id": VIF["id"]}) == "tap5e6f7a8b-9c"
    assert nova_guest_driver.bridge_name(VIF) == "brq1a2b3c4d-5e"
    assert nova_guest_driver.bridge_name({"network": {"id": VIF["network"]["id"]}}) == \
        "brq1a2b3c4d-5e"
    assert all(len(x) <= 15 for x in (nova_guest_driver.tap_name(VIF),
                                      nova_guest_driver.bridge_name(VIF)))


def test_spawn_plugs_the_first_vif_with_the_ports_mac_and_does_not_wait_for_dhcp():
    fake = FakeGuests()
    plumbing = nova_guest_driver.Plumbing(fake)
    assert plumbing.start(UUID, [VIF, {**VIF, "id": "other"}]) == "guest-0f1e2d3c4b5a6978"
    assert ("ip", "link", "add", "brq1a2b3c4d-5e", "type", "bridge", "forward_delay",
            "0") in fake.calls
    made = fake.made["guest-0f1e2d3c4b5a6978"]
    assert made == {"bridge": "brq1a2b3c4d-5e", "powered": True, "tap": "tap5e6f7a8b-9c",
                    "mac": "fa:16:3e:12:34:56", "wait_lease": False, "instance": UUID}
    assert len([c for c in fake.calls if c[0] == "create"]) == 1  # one VIF plugged
    assert plumbing.running(UUID) is True


def test_a_bridge_the_agent_made_already_is_used_as_it_is():
    fake = FakeGuests()
    fake.links.add("brq1a2b3c4d-5e")
    nova_guest_driver.Plumbing(fake).start(UUID, [VIF])
    assert not [c for c in fake.calls if c[:3] == ("ip", "link", "add")]


def test_no_vif_no_guest():
    fake = FakeGuests()
    assert nova_guest_driver.Plumbing(fake).start(UUID, []) is None
    assert nova_guest_driver.Plumbing(fake).start(UUID, None) is None
    assert fake.calls == []


def test_power_off_then_on_keeps_the_guest_and_a_broken_one_is_made_again():
    fake = FakeGuests()
    plumbing = nova_guest_driver.Plumbing(fake)
    plumbing.start(UUID, [VIF])
    plumbing.stop(UUID)
    assert plumbing.running(UUID) is False
    plumbing.start(UUID, [VIF])  # power on / the end of a reboot
    assert plumbing.running(UUID) is True
    assert [c[0] for c in fake.calls if c[0] in ("create", "power", "remove")] == \
        ["create", "power", "power"]
    fake.broken.add("guest-0f1e2d3c4b5a6978")  # its echo service died
    assert plumbing.running(UUID) is None
    fake.links.add("tap5e6f7a8b-9c")  # and its tap outlived it
    plumbing.start(UUID, [VIF])
    assert [c[0] for c in fake.calls if c[0] in ("create", "remove")][-2:] == \
        ["remove", "create"]
    assert ("ip", "link", "del", "tap5e6f7a8b-9c") in fake.calls
    plumbing.remove(UUID)
    assert plumbing.running(UUID) is None and fake.made == {}


def test_stopping_an_instance_without_a_guest_is_harmless():
    fake = FakeGuests()
    nova_guest_driver.Plumbing(fake).stop(UUID)
    assert fake.calls == []


def test_the_guests_command_removes_every_guest_for_lab_down(tmp_path, capsys):
    from ExtremeTesting.lab import guests

    assert guests.main(["remove-all", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == "removed 0 guest(s)"
    assert guests.main(["list", str(tmp_path)]) == 0
    assert guests.main(["frobnicate"]) == 2


# ------------------------------------------------------------------ bootstrap
class FakeResponse:
    def __init__(self, status, body):
        self.status_code, self._body, self.text = status, body, json.dumps(body)

    def json(self):
        return self._body


class FakeNeutron:
    def __init__(self):
        self.networks, self.subnets, self.posts = [], [], []

    def request(self, method, url, headers=None, timeout=None, json=None):
        assert timeout
        if method == "GET" and "/networks?" in url:
            return FakeResponse(200, {"networks": self.networks})
        if method == "GET" and "/subnets?" in url:
            return FakeResponse(200, {"subnets": self.subnets})
        self.posts.append((url.rsplit("/", 1)[1], json))
        if url.endswith("/networks"):
            self.networks.append({"id": "net-1", **json["network"]})
            return FakeResponse(201, {"network": self.networks[-1]})
        self.subnets.append({"id": "sub-1", **json["subnet"]})
        return FakeResponse(201, {"subnet": self.subnets[-1]})


def test_the_external_network_is_made_once_as_a_flat_external_unshared_network():
    api = lab_api.Api("pw")
    api.session = FakeNeutron()
    assert api.ensure_external_network() == {"network_id": "net-1",
                                             "subnet_cidr": "203.0.113.0/24"}
    (kind, network), (_, subnet) = api.session.posts
    assert network["network"] == {
        "name": "external", "router:external": True, "shared": False,
        "provider:network_type": "flat", "provider:physical_network": "external",
        "description": "the lab's external network (extreme lab up)"}
    body = subnet["subnet"]
    assert body["network_id"] == "net-1" and body["cidr"] == "203.0.113.0/24"
    assert body["gateway_ip"] == "203.0.113.1" and body["enable_dhcp"] is False
    assert body["allocation_pools"] == [{"start": "203.0.113.10", "end": "203.0.113.250"}]
    api.ensure_external_network()  # idempotent
    assert len(api.session.posts) == 2


def test_agents_not_alive_are_named(monkeypatch):
    api = lab_api.Api("pw")
    monkeypatch.setattr(api, "agents", lambda: [
        {"agent_type": "L3 agent", "host": "ctl1", "alive": True},
        {"agent_type": "L3 agent", "host": "ctl2", "alive": False}])
    assert api.missing_agents([("L3 agent", "ctl1"), ("L3 agent", "ctl2"),
                               ("DHCP agent", "ctl1")]) == ["L3 agent on ctl2 (dead)",
                                                            "DHCP agent on ctl1"]
    monkeypatch.setattr(lab_api.time, "sleep", lambda s: None)
    with pytest.raises(lab.LabError, match="L3 agent on ctl2 \\(dead\\)"):
        api.wait_agents([("L3 agent", "ctl2")], 0.01)


# ------------------------------------------------------------------ target
def test_the_target_describes_the_data_plane_with_its_keys_commented(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    files = {"clouds.yaml": str(tmp_path / "clouds.yaml"),
             "os-faults": str(tmp_path / "os-faults.yaml")}
    path = tmp_path / "target.yaml"
    targetfile.write_yaml(path, targetfile.target(files),
                          comments={"data_plane": targetfile.data_plane_comment()})
    text = path.read_text()
    section = load(path).section("data_plane")
    assert section["probe_namespace"] == "xt-client"
    assert section["external_network"] == "external"
    assert section["image"] == "cirros-fake" and section["flavor"] == "m1.tiny"
    assert section["tcp_port"] == 7 and section["probe_host"] == "local"
    assert section["paths"] == {}  # the monitor reads data_plane.paths
    for key in section:
        assert f"#   {key}: " in text, key  # each key explained above the section
    assert text.index("# data_plane:") < text.index("\ndata_plane:")
    raw = yaml.safe_load(text)
    assert raw["switches"]["sw1"]["ports"] == ["lb", "ctl1", "ctl1-ext", "ctl2", "ctl2-ext",
                                               "db", "cmp1", "client"]
    for agent in AGENTS:
        assert raw["services"][agent]["nodes"] == list(service(agent).nodes)
        assert raw["logs"][agent] == {"files": [f"/var/log/neutron/{agent}.log"]}


# ------------------------------------------------------------------ down
def test_down_removes_the_guests_inside_cmp1_before_its_power_and_the_client(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    for name in lab.ALL_NODES:
        (tmp_path / "nodes" / name).mkdir(parents=True)
    events = []

    class FakeMachine:
        def __init__(self, name):
            self.name = name
            self.init_pid = 4242 if name == "cmp1" else None

        def power_off(self):
            events.append(("power off", self.name))

    def fake_in_node(pid, cmd, **options):
        events.append(("in node", pid, cmd))

        class Done:
            stdout, stderr = "removed 2 guest(s): guest-a guest-b", ""
        return Done()

    record = Recorder(listed="xt-sw1\nxt-ctl1\nxt-client (id: 3)\nsomeone-else\n")
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    monkeypatch.setattr(lab, "Machine", FakeMachine)
    monkeypatch.setattr(lab, "in_node", fake_in_node)
    monkeypatch.setattr(lab, "ip", record)
    monkeypatch.setattr(lab, "namespace_pids", lambda ns: [])
    lab.down(quiet=True)
    assert events[0] == ("in node", 4242, ["/usr/bin/python3",
                                           "/usr/local/lib/extreme-lab/guests.py",
                                           "remove-all"])
    assert ("power off", "cmp1") in events[1:]
    assert ["netns", "delete", "xt-client"] in record.calls
    assert ["netns", "delete", "someone-else"] not in record.calls
    assert not tmp_path.exists()


# ------------------------------------------------------------------ check-data-plane
class FakeApi:
    def __init__(self, bodies=None):
        self.calls, self.bodies = [], bodies or {}

    def call(self, method, url, expect=(200,), **options):
        self.calls.append((method, url.split("/v2", 1)[1]))
        body = next((b for suffix, b in self.bodies.items() if url.endswith(suffix)), {})

        class Response:
            status_code = 404 if method == "GET" and "/servers/" in url else 200

            def json(self):
                return body
        return Response()

    def wait_until(self, what, check, timeout):
        assert check()


def test_check_data_plane_removes_what_it_made_in_reverse():
    from ExtremeTesting.lab import dpcheck

    api = FakeApi()
    check = dpcheck.Check(api, "xt-dpcheck-t")
    check.ids = {"network": "n", "subnet": "s", "router": "r", "security_group": "g",
                 "server": "v", "port": "p", "floatingip": "f"}
    assert check.clean_up() == []
    assert [c for c in api.calls if c[0] != "GET"] == [
        ("DELETE", ".0/floatingips/f"), ("DELETE", ".1/servers/v"),
        ("PUT", ".0/routers/r/remove_router_interface"), ("DELETE", ".0/routers/r"),
        ("DELETE", ".0/networks/n"), ("DELETE", ".0/security-groups/g")]
    api.calls.clear()
    check.ids = {"network": "n"}  # it stopped early: only the network to remove
    assert check.clean_up() == [] and api.calls == [("DELETE", ".0/networks/n")]


def test_check_data_plane_says_where_the_data_plane_broke():
    from ExtremeTesting.lab import dpcheck

    api = FakeApi({
        "/ports/p": {"port": {"status": "DOWN", "binding:host_id": "cmp1"}},
        "/l3-agents": {"agents": [{"host": "ctl1", "ha_state": "active", "alive": True},
                                  {"host": "ctl2", "ha_state": "standby", "alive": False}]},
        "/dhcp-agents": {"agents": [{"host": "ctl1"}, {"host": "ctl2"}]}})
    check = dpcheck.Check(api)
    check.ids = {"port": "p", "router": "r", "network": "n"}
    text = check.diagnosis()
    assert "port: status DOWN on host cmp1" in text
    assert "router's L3 agents: ctl1 active, ctl2 standby (dead)" in text
    assert "network's DHCP agents: ctl1, ctl2" in text


def test_the_cli_knows_check_data_plane():
    from ExtremeTesting.lab import cli

    args = cli.parser().parse_args(["check-data-plane", "--keep", "--timeout", "60"])
    assert args.keep is True and args.timeout == 60


# ------------------------------------------------------------------ privsep in-process
def test_agents_may_make_their_privileged_calls_in_process(monkeypatch):
    monkeypatch.delenv("EXTREME_LAB_PRIVSEP", raising=False)
    spec = build.service_spec(service("neutron-l3-agent"), topo.node("ctl1"))
    assert spec["command"][0] == "/usr/bin/neutron-l3-agent"  # upstream's daemons
    monkeypatch.setenv("EXTREME_LAB_PRIVSEP", "in-process")
    spec = build.service_spec(service("neutron-l3-agent"), topo.node("ctl1"))
    assert spec["command"][:2] == ["/usr/local/sbin/neutron-agent-inprocess",
                                   "/usr/bin/neutron-l3-agent"]
    assert spec["grep"] in " ".join(spec["command"])  # stop and status still find it
    monkeypatch.setenv("EXTREME_LAB_PRIVSEP", "threads")
    with pytest.raises(lab.LabError, match="EXTREME_LAB_PRIVSEP='threads': use one of "
                                           "daemons, in-process"):
        build.service_spec(service("neutron-l3-agent"), topo.node("ctl1"))


def test_the_in_process_launcher_is_installed_where_agents_run(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    def fake_run(cmd, **options):  # no ssh-keygen; cp -a of a package folder: empty
        if cmd[:2] == ["cp", "-a"]:
            Path(cmd[-1]).mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(build, "run", fake_run)
    monkeypatch.setattr(build, "chown", lambda *a: None)
    monkeypatch.setattr(build.releases, "overlay_mounts", lambda home: [])
    keys = {"fernet-keys": {}, "credential-keys": {}}
    for name in ("ctl1", "cmp1", "db"):
        (tmp_path / "nodes" / name / "ssh_host_ed25519_key").parent.mkdir(parents=True)
        (tmp_path / "nodes" / name / "ssh_host_ed25519_key").touch()
        build.lay_out_node(topo.node(name), SECRETS, keys, tmp_path / "images")
    launcher = "sbin/neutron-agent-inprocess"
    assert (tmp_path / "nodes" / "ctl1" / launcher).read_bytes() == \
        (LAB / "agentinprocess.py").read_bytes()
    assert (tmp_path / "nodes" / "cmp1" / launcher).exists()
    assert not (tmp_path / "nodes" / "db" / launcher).exists()
    # cmp1's guest driver, in its own overlay
    assert (tmp_path / "nodes" / "cmp1" / "overlay" / "usr" / "upper" / "local" / "lib" /
            "extreme-lab" / "nova_guest_driver.py").exists()
    assert not (tmp_path / "nodes" / "ctl1" / "overlay").exists()
    services = json.loads((tmp_path / "nodes" / "cmp1" / "sbin" / "services.json").read_text())
    assert services["order"] == ["neutron-linuxbridge-agent", "nova-compute"]

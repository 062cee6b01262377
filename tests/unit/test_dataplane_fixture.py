"""The data-plane fixture without a cloud: the Cloud library's keywords over a fake
openstacksdk connection (what is created, in which order, tracked where, deleted how),
the target's data_plane section, and a target without one (not applicable)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from ExtremeTesting import target as targets
from ExtremeTesting.cloud import Cloud, dataplane, survivors, tracking
from ExtremeTesting.cloud.apierrors import CloudError, CloudTimeout
from ExtremeTesting.errors import TargetError
from ExtremeTesting.report import cli as report_cli
from openstack import exceptions as sdk
from robot.api import SkipExecution

sys.path.insert(0, str(Path(__file__).parent))
from test_cloud_fake import FakeClock, Obj  # noqa: E402

BOOT = """name: operator
cloud: preprod
nodes:
  ctl1: {address: 10.20.0.11}
  ctl2: {address: 10.20.0.12}
data_plane:
  probe_namespace: xt-client
  image: cirros
  flavor: m1.tiny
  external_network: external
  tcp_port: 7
  guest_ready_timeout: 2 min
  guests:
    compute_nodes: [cmp1]
    init_pid_file: PIDS/{node}/init.pid
    namespace_prefix: guest-
    netns_dir: /run/netns
"""
# The lab's target as its branch writes it (lab/targetfile.py's data_plane_section()).
LAB_SECTION = {
    "probe_host": "local", "probe_namespace": "xt-client", "external_network": "external",
    "external_subnet": "203.0.113.0/24", "floating_ip_range": ["203.0.113.10",
                                                               "203.0.113.250"],
    "image": "cirros-fake", "flavor": "m1.tiny", "tenant_network": None, "tcp_port": 7,
    "security_group_ingress": [{"protocol": "icmp"}, {"protocol": "tcp", "port": 7}],
    "guest_ready_timeout": 60,
    "guests": {"driver": "nova_guest_driver.GuestDriver", "compute_nodes": ["cmp1"],
               "namespace_prefix": "guest-", "netns_dir": "/run/netns",
               "init_pid_file": "/var/lib/extreme-lab/nodes/{node}/init.pid"},
    "paths": {}}


# ------------------------------------------------------------------ a fake cloud
def not_found(what: str) -> sdk.NotFoundException:
    error = sdk.NotFoundException(message=f"{what} could not be found")
    error.status_code = 404
    return error


class FakeNeutronNovaGlance:
    """Just what the fixture asks of openstacksdk: every call recorded in order."""

    def __init__(self, ha_states: dict[str, str | None] | None = None):
        self.calls: list[tuple] = []
        self.items: dict[str, dict[str, Obj]] = {k: {} for k in (
            "network", "subnet", "router", "security_group", "rule", "server", "port", "ip",
            "image", "flavor")}
        self.fail: dict[str, Exception] = {}
        self.ha_states = ha_states if ha_states is not None else {"ctl1": "active",
                                                                  "ctl2": "standby"}
        self.add("network", name="external", id="ext-net")
        self.add("image", name="cirros", id="img-1")
        self.add("flavor", name="m1.tiny", id="fl-1")
        self.compute, self.image, self.network = self, self, self
        self.addresses = iter(f"10.251.{n}.{10 + n}" for n in range(1, 100))
        self.floating = iter(f"203.0.113.{n}" for n in range(50, 100))

    def add(self, kind: str, **attrs) -> Obj:
        attrs.setdefault("id", f"{kind}-{uuid.uuid4().hex[:8]}")
        obj = Obj(**attrs)
        self.items[kind][obj.id] = obj
        return obj

    def _record(self, call: str, *args, **kwargs):
        self.calls.append((call, args, kwargs))
        if call in self.fail:
            raise self.fail[call]

    def _find(self, kind: str, key, ignore_missing=True):
        key = getattr(key, "id", key)
        items = self.items[kind]
        found = items.get(key) or next((o for o in items.values() if o.get("name") == key),
                                       None)
        if found is None and not ignore_missing:
            raise not_found(f"{kind} {key}")
        return found

    # --- lookups
    def find_network(self, key, ignore_missing=True):
        return self._find("network", key, ignore_missing)

    def find_image(self, key, ignore_missing=True):
        return self._find("image", key, ignore_missing)

    def find_flavor(self, key, ignore_missing=True):
        return self._find("flavor", key, ignore_missing)

    def find_subnet(self, key, ignore_missing=True):
        return self._find("subnet", key, ignore_missing)

    def find_router(self, key, ignore_missing=True):
        return self._find("router", key, ignore_missing)

    def find_security_group(self, key, ignore_missing=True):
        return self._find("security_group", key, ignore_missing)

    def find_server(self, key, ignore_missing=True):
        return self._find("server", key, ignore_missing)

    # --- creations
    def create_security_group(self, **attrs):
        self._record("create_security_group", **attrs)
        return self.add("security_group", **attrs)

    def create_security_group_rule(self, **attrs):
        self._record("create_security_group_rule", **attrs)
        return self.add("rule", **attrs)

    def create_network(self, **attrs):
        self._record("create_network", **attrs)
        return self.add("network", **attrs)

    def create_subnet(self, **attrs):
        self._record("create_subnet", **attrs)
        return self.add("subnet", **attrs)

    def create_router(self, **attrs):
        self._record("create_router", **attrs)
        return self.add("router", **attrs)

    def add_interface_to_router(self, router, subnet=None, port=None):
        self._record("add_interface_to_router", getattr(router, "id", router), subnet)
        network = self.items["subnet"][subnet].network_id
        self.add("port", device_id=getattr(router, "id", router), network_id=network,
                 device_owner="network:ha_router_replicated_interface",
                 fixed_ips=[{"subnet_id": subnet, "ip_address": "10.251.0.1"}])

    def create_server(self, **attrs):
        self._record("create_server", **attrs)
        server = self.add("server", status="BUILD", compute_host="cmp1", **attrs)
        network = attrs["networks"][0]["uuid"]
        self.add("port", device_id=server.id, network_id=network, device_owner="compute:nova",
                 fixed_ips=[{"subnet_id": "s", "ip_address": next(self.addresses)}])
        return server

    def get_server(self, key):
        server = self._find("server", key, ignore_missing=False)
        server.status = "ACTIVE"
        return server

    def create_ip(self, **attrs):
        self._record("create_ip", **attrs)
        return self.add("ip", floating_ip_address=next(self.floating), router_id=None,
                        **attrs)

    def get_ip(self, key):
        address = self._find("ip", key, ignore_missing=False)
        address.router_id = "tenant-router-id"  # Neutron fills it on association
        return address

    def ports(self, device_id=None, **_):
        return [p for p in self.items["port"].values()
                if device_id is None or p.device_id == device_id]

    def routers_hosting_l3_agents(self, router):
        self._record("routers_hosting_l3_agents", router)
        return [Obj(host=host, ha_state=state) for host, state in self.ha_states.items()]

    # --- deletions
    def _delete(self, kind: str, key, ignore_missing=True):
        self._record(f"delete_{kind}", key)
        if self.items[kind].pop(getattr(key, "id", key), None) is None and not ignore_missing:
            raise not_found(f"{kind} {key}")

    def delete_server(self, key, ignore_missing=True):
        self._delete("server", key, ignore_missing)
        for port in [p for p in self.items["port"].values() if p.device_id == key]:
            del self.items["port"][port.id]

    def delete_ip(self, key, ignore_missing=True):
        self._delete("ip", key, ignore_missing)

    def remove_interface_from_router(self, router, subnet=None, port=None):
        self._record("remove_interface_from_router", router, subnet, port)
        del self.items["port"][port]

    def delete_router(self, key, ignore_missing=True):
        if any(p.device_id == key for p in self.items["port"].values()):
            raise sdk.ConflictException(message="Router has ports still attached")
        self._delete("router", key, ignore_missing)

    def delete_subnet(self, key, ignore_missing=True):
        self._delete("subnet", key, ignore_missing)

    def delete_network(self, key, ignore_missing=True):
        self._delete("network", key, ignore_missing)

    def delete_security_group(self, key, ignore_missing=True):
        self._delete("security_group", key, ignore_missing)

    def names(self, name: str) -> list[str]:
        return [c[0] for c in self.calls if c[0] == name]


def library(tmp_path, text: str = BOOT, conn: FakeNeutronNovaGlance | None = None,
            answering=None) -> tuple[Cloud, FakeNeutronNovaGlance, list]:
    path = tmp_path / "target.yaml"
    pids = tmp_path / "nodes"
    (pids / "cmp1").mkdir(parents=True, exist_ok=True)
    (pids / "cmp1" / "init.pid").write_text("4242\n")
    path.write_text(text.replace("PIDS/", f"{pids}/"), encoding="utf-8")
    conn = conn or FakeNeutronNovaGlance()
    cloud = Cloud(str(path), prefix="xt-t-")
    cloud.ctx.connector = lambda settings, password: conn
    cloud.ctx._conn = conn  # connected: no keystone in a unit test
    asked: list[tuple[str, str]] = []

    def answers(name: str, spec: str) -> list[str]:
        asked.append((name, spec))
        return [] if answering is None else answering(name, spec)

    cloud.data_plane.answers = answers
    cloud.ctx.tracker.start("suite", "Suite")
    return cloud, conn, asked


# ------------------------------------------------------------------ booting
def test_boot_makes_two_networks_an_ha_router_a_group_two_guests_and_a_floating_ip(tmp_path):
    cloud, conn, asked = library(tmp_path, BOOT + "  ha_router: true\n")
    cloud.ctx.tracker.start("test", "First Case")  # booted from a test: kept by the suite
    paths = cloud.boot_data_plane_guests()
    servers = list(conn.items["server"].values())
    guest1_hex = servers[0].id.replace("-", "")[:16]
    assert paths == {
        "north-south": "xt-client -> 203.0.113.50:7",
        "east-west": f"/proc/4242/root/run/netns/guest-{guest1_hex} -> 10.251.2.12:7"}
    assert sorted(asked) == sorted(paths.items())
    # ICMP and the echo port let in, from anywhere, for the guests' group only.
    rules = [c[2] for c in conn.calls if c[0] == "create_security_group_rule"]
    group = next(iter(conn.items["security_group"].values()))
    assert [(r["protocol"], r.get("port_range_min")) for r in rules] == [("icmp", None),
                                                                         ("tcp", 7)]
    assert {r["security_group_id"] for r in rules} == {group.id}
    assert all(r["direction"] == "ingress" and r["remote_ip_prefix"] == "0.0.0.0/0"
               for r in rules)
    subnets = [c[2] for c in conn.calls if c[0] == "create_subnet"]
    assert [(s["cidr"], s["is_dhcp_enabled"]) for s in subnets] == [
        ("10.251.1.0/24", True), ("10.251.2.0/24", True)]
    (router,) = [c[2] for c in conn.calls if c[0] == "create_router"]
    assert router["external_gateway_info"] == {"network_id": "ext-net"}
    assert router["is_ha"] is True
    assert len(conn.names("add_interface_to_router")) == 2
    created = [c[2] for c in conn.calls if c[0] == "create_server"]
    networks = [n.id for n in conn.items["network"].values() if n.id != "ext-net"]
    assert [s["networks"] for s in created] == [[{"uuid": n}] for n in networks]
    assert all(s["security_groups"] == [{"name": group.name}] and s["image_id"] == "img-1"
               and s["flavor_id"] == "fl-1" for s in created)
    (fip,) = [c[2] for c in conn.calls if c[0] == "create_ip"]
    first_port = next(p for p in conn.items["port"].values() if p.device_id == servers[0].id)
    assert fip["port_id"] == first_port.id and fip["floating_network_id"] == "ext-net"
    assert fip["description"].startswith("xt-t-dp-fip")
    # Everything tracked in the suite, not in the test that booted it.
    suite = cloud.ctx.tracker.scopes[1]
    assert sorted(t.kind for t in suite.resources) == sorted(
        ["security_group", "network", "subnet", "network", "subnet", "router", "server",
         "server", "floating_ip"])
    assert cloud.ctx.tracker.end("test") == []


def test_without_ha_router_the_clouds_default_and_without_a_port_icmp_only(tmp_path):
    text = BOOT.replace("  tcp_port: 7\n", "").split("  guests:")[0]
    cloud, conn, _ = library(tmp_path, text)
    paths = cloud.boot_data_plane_guests()
    assert paths == {"north-south": "xt-client -> 203.0.113.50"}  # no east-west vantage
    (router,) = [c[2] for c in conn.calls if c[0] == "create_router"]
    assert "is_ha" not in router
    rules = [c[2]["protocol"] for c in conn.calls if c[0] == "create_security_group_rule"]
    assert rules == ["icmp"]


def test_on_an_existing_tenant_network_only_the_group_guests_and_floating_ip_are_made(
        tmp_path):
    conn = FakeNeutronNovaGlance()
    private = conn.add("network", name="private", id="net-private")
    cloud, conn, _ = library(tmp_path, BOOT + "  tenant_network: private\n", conn)
    paths = cloud.boot_data_plane_guests()
    made = sorted({c[0] for c in conn.calls if c[0].startswith(("create_", "add_"))})
    assert made == ["create_ip", "create_security_group", "create_security_group_rule",
                    "create_server"]
    created = [c[2]["networks"] for c in conn.calls if c[0] == "create_server"]
    assert created == [[{"uuid": private.id}], [{"uuid": private.id}]]
    assert paths["east-west"].endswith("-> 10.251.2.12:7")  # the second guest, same network
    assert cloud.data_plane.fixture.router == "tenant-router-id"  # the floating IP's
    assert cloud.get_node_of_active_router() == "ctl1"
    assert conn.calls[-1] == ("routers_hosting_l3_agents", ("tenant-router-id",), {})


def test_a_guest_this_machine_cannot_enter_is_named(tmp_path):
    text = BOOT.replace("compute_nodes: [cmp1]", "compute_nodes: [cmp1, cmp2]")
    conn = FakeNeutronNovaGlance()
    original = conn.create_server

    def elsewhere(**attrs):
        server = original(**attrs)
        server.compute_host = "cmp9"
        return server

    conn.create_server = elsewhere
    cloud, conn, _ = library(tmp_path, text, conn)
    with pytest.raises(CloudError, match=r"runs on cmp9, none of the target's "
                                         r"data_plane.guests.compute_nodes \(cmp1, cmp2\)"):
        cloud.boot_data_plane_guests()
    cloud, conn, _ = library(tmp_path / "down", BOOT)
    (tmp_path / "down" / "nodes" / "cmp1" / "init.pid").unlink()
    with pytest.raises(CloudError, match=r"the init PID of cmp1 cannot be read from "
                                         r".*init.pid \(FileNotFoundError\): is the node up"):
        cloud.boot_data_plane_guests()


def test_a_suite_boots_once_and_the_next_suite_boots_again(tmp_path):
    cloud, conn, asked = library(tmp_path)
    first = cloud.boot_data_plane_guests()
    cloud.ctx.tracker.start("test", "Second Case")
    assert cloud.boot_data_plane_guests() == first  # only waited for the answers
    assert len(conn.names("create_server")) == 2 and len(asked) == 4
    assert cloud.get_data_plane_paths() == first
    cloud.ctx.tracker.end("test")
    cloud.scope_ended("suite", "Suite", None)  # the suite ends: everything deleted
    assert not conn.items["server"] and not conn.items["router"]
    assert list(conn.items["network"]) == ["ext-net"]
    with pytest.raises(CloudError, match="call `Boot Data Plane Guests` first"):
        cloud.get_data_plane_paths()
    cloud.ctx.tracker.start("suite", "Next Suite")
    second = cloud.boot_data_plane_guests()
    assert len(conn.names("create_server")) == 4 and second != first


def test_a_boot_that_fails_half_way_is_tracked_and_not_tried_again_in_the_suite(tmp_path):
    conn = FakeNeutronNovaGlance()
    error = sdk.HttpException(message="HttpException: 409", details="Quota exceeded for "
                              "resources: ['router'].")
    error.status_code, error.request_id = 409, "req-router"
    conn.fail["create_router"] = error
    cloud, conn, _ = library(tmp_path, conn=conn)
    with pytest.raises(CloudError, match=r"Creating the data plane's router xt-t-dp-router-\d+ "
                                         r"failed: HTTP 409.*Quota exceeded.*req-router"):
        cloud.boot_data_plane_guests()
    made = sorted(t.kind for t in cloud.ctx.tracker.scopes[1].resources)
    assert made == ["network", "network", "security_group", "subnet", "subnet"]
    calls = len(conn.calls)
    with pytest.raises(CloudError, match="could not be booted earlier in this suite.*409"):
        cloud.boot_data_plane_guests()
    assert len(conn.calls) == calls  # nothing asked of the cloud again
    cloud.scope_ended("suite", "Suite", None)
    assert list(conn.items["network"]) == ["ext-net"] and not conn.items["security_group"]


def test_a_missing_image_names_the_key_and_creates_nothing(tmp_path):
    cloud, conn, _ = library(tmp_path, BOOT.replace("image: cirros", "image: ubuntu"))
    with pytest.raises(CloudError, match="data_plane.image names image 'ubuntu', which the "
                                         "cloud does not have"):
        cloud.boot_data_plane_guests()
    assert conn.calls == []


def test_paths_that_never_answer_fail_naming_each_path_and_its_error(tmp_path):
    clock = FakeClock()

    def check(name, spec):
        return [] if name == "north-south" else [f"{name} icmp ({spec}): no echo reply"]

    with pytest.raises(CloudTimeout) as caught:
        dataplane.wait_until_answering({"north-south": "ns -> 1.2.3.4", "east-west":
                                        "g -> 10.0.0.5:7"}, 20, check, clock, clock.sleep)
    message = str(caught.value)
    assert "east-west icmp (g -> 10.0.0.5:7): no echo reply" in message
    assert "north-south" not in message.split("Last seen:")[1].split(".")[0]
    assert "security group" in message
    assert 19 <= clock.now <= 20


def test_paths_that_answer_late_are_waited_for(tmp_path):
    clock = FakeClock()
    seen = []

    def check(name, spec):
        seen.append(clock.now)
        return [] if clock.now >= 5 else ["not yet"]

    dataplane.wait_until_answering({"north-south": "1.2.3.4"}, 60, check, clock, clock.sleep)
    assert 5 <= clock.now <= 8 and len(seen) >= 3


def test_the_suites_resources_are_deleted_router_interfaces_first(tmp_path):
    cloud, conn, _ = library(tmp_path)
    cloud.boot_data_plane_guests()
    resources = cloud.ctx.tracker.end("suite")
    problems = tracking.clean_up(conn, resources, timedelta(seconds=5))
    assert problems == []
    order = [c[0] for c in conn.calls if c[0].startswith(("delete_", "remove_"))]
    assert order.index("delete_server") < order.index("delete_ip") \
        < order.index("remove_interface_from_router") < order.index("delete_router") \
        < order.index("delete_subnet") < order.index("delete_network") \
        < order.index("delete_security_group")
    assert order.count("remove_interface_from_router") == 2
    assert not any(conn.items[k] for k in ("server", "router", "subnet", "ip",
                                          "security_group"))


def test_the_guests_deleted_in_the_suite_teardown_are_not_deleted_again(tmp_path):
    cloud, conn, _ = library(tmp_path)
    cloud.delete_data_plane_guests()  # nothing booted: nothing to do
    assert conn.calls == []
    cloud.boot_data_plane_guests()
    cloud.delete_data_plane_guests()
    assert not any(conn.items[k] for k in ("server", "router", "subnet", "ip",
                                          "security_group"))
    assert list(conn.items["network"]) == ["ext-net"]
    assert cloud.ctx.tracker.suite_scope().resources == []
    deletes = len([c for c in conn.calls if c[0].startswith("delete_")])
    cloud.scope_ended("suite", "Suite", None)
    assert len([c for c in conn.calls if c[0].startswith("delete_")]) == deletes


def test_a_half_booted_data_plane_is_deleted_and_what_resists_stays_tracked(tmp_path):
    conn = FakeNeutronNovaGlance()
    conn.fail["create_server"] = sdk.HttpException(message="HttpException: 500")
    cloud, conn, _ = library(tmp_path, conn=conn)
    with pytest.raises(CloudError, match="Creating the data plane's server"):
        cloud.boot_data_plane_guests()
    del conn.fail["create_server"]
    error = sdk.ConflictException(message="ConflictException: 409", details="in use")
    error.status_code = 409  # not worth asking again: the clean-up does not wait
    conn.fail["delete_security_group"] = error
    with pytest.raises(CloudError, match=r"(?s)Could not delete every resource of the data "
                                         r"plane's guests.*security_group xt-t-dp-sg-1"):
        cloud.delete_data_plane_guests()
    assert not conn.items["router"] and list(conn.items["network"]) == ["ext-net"]
    left = cloud.ctx.tracker.suite_scope().resources
    assert [t.kind for t in left] == ["security_group"]  # the suite's end tries again
    del conn.fail["delete_security_group"]
    cloud.scope_ended("suite", "Suite", None)
    assert not conn.items["security_group"]


def test_leftover_floating_ips_are_found_by_their_description(tmp_path):
    conn = FakeNeutronNovaGlance()
    conn.add("ip", floating_ip_address="203.0.113.9", description="xt-old-dp-fip-1",
             name="203.0.113.9")
    conn.add("ip", floating_ip_address="203.0.113.8", description="someone else's")
    conn.ips = lambda: list(conn.items["ip"].values())
    leftovers = tracking.find_leftovers(conn, "xt-old-", kinds=["floating_ip"])
    assert [(t.kind, t.name) for t in leftovers] == [("floating_ip", "xt-old-dp-fip-1")]


# ------------------------------------------------------------------ the router's node
def test_the_node_of_the_active_router(tmp_path):
    cloud, conn, _ = library(tmp_path, conn=FakeNeutronNovaGlance(
        {"ctl1.example.org": "standby", "ctl2.example.org": "active"}))
    cloud.boot_data_plane_guests()
    assert cloud.get_node_of_active_router() == "ctl2"
    conn.ha_states = {"ctl1": "active", "ctl2": "active"}  # split brain: two actives
    with pytest.raises(CloudError, match="Expected one L3 agent.*ctl1 active, ctl2 active"):
        cloud.get_node_of_active_router()
    conn.ha_states = {"net9": None}  # a legacy router on a host the target does not name
    with pytest.raises(CloudError, match="agent host 'net9' is no node of the target"):
        cloud.get_node_of_active_router()
    conn.ha_states = {"10.20.0.11": None}  # named by its address
    assert cloud.get_node_of_active_router() == "ctl1"


def test_waiting_for_the_router_to_fail_over(tmp_path):
    cloud, conn, _ = library(tmp_path)
    clock = FakeClock()
    cloud.data_plane.clock, cloud.data_plane.sleep = clock, clock.sleep
    cloud.boot_data_plane_guests()
    polls = []

    def hosting(router):
        polls.append(router)
        if len(polls) >= 3:  # ctl1 powered off: still shown active until declared dead
            return [Obj(host="ctl1", ha_state="active"), Obj(host="ctl2", ha_state="active")]
        return [Obj(host="ctl1", ha_state="active"), Obj(host="ctl2", ha_state="standby")]

    conn.routers_hosting_l3_agents = hosting
    assert cloud.wait_until_router_is_active_on_another_node("ctl1") == "ctl2"
    assert len(polls) == 3
    conn.routers_hosting_l3_agents = lambda router: [Obj(host="ctl1", ha_state="active")]
    assert 2 <= clock.now <= 3  # asked at 0, 1 and 2.5 s
    with pytest.raises(CloudTimeout, match="other than ctl1.*ctl1 active"):
        cloud.wait_until_router_is_active_on_another_node("ctl1", timeout=timedelta(
            seconds=30))
    assert 32 <= clock.now <= 33
    conn.routers_hosting_l3_agents = lambda router: [
        Obj(host="ctl1", ha_state="standby"), Obj(host="ctl2", ha_state="active"),
        Obj(host="ctl3", ha_state="active")]
    cloud.ctx.target().data["nodes"]["ctl3"] = {}
    with pytest.raises(CloudError, match="active on several nodes at once"):
        cloud.wait_until_router_is_active_on_another_node("ctl1")


def test_an_agent_restarted_is_back_only_with_a_new_start_time(tmp_path):
    cloud, conn, _ = library(tmp_path)
    clock = FakeClock()
    cloud.data_plane.clock, cloud.data_plane.sleep = clock, clock.sleep
    reports = [Obj(binary="neutron-l3-agent", host="ctl1", is_alive=True,
                   started_at="2026-12-06T20:00:00"),
               Obj(binary="neutron-l3-agent", host="ctl2.example.org", is_alive=True,
                   started_at="2026-12-06T20:00:01"),
               Obj(binary="neutron-l3-agent", host="net9", is_alive=True, started_at="x")]
    asked = []

    def agents(binary=None):
        asked.append(binary)
        return list(reports)

    conn.agents = agents
    before = cloud.get_network_agent("neutron-l3-agent", "ctl2")
    assert before is reports[1] and asked == ["neutron-l3-agent"]
    # Restarted: still alive from its last report, then dead, then back with a new start.
    steps = iter([("2026-12-06T20:00:01", True), ("2026-12-06T20:00:01", False),
                  ("2026-12-06T20:05:00", False), ("2026-12-06T20:05:00", True)])

    def later(binary=None):
        started, alive = next(steps)
        return [Obj(binary=binary, host="ctl2.example.org", is_alive=alive,
                    started_at=started)]

    conn.agents = later
    back = cloud.wait_until_network_agent_has_restarted("neutron-l3-agent", "ctl2", before)
    assert back.started_at == "2026-12-06T20:05:00" and back.is_alive
    conn.agents = lambda binary=None: [Obj(binary=binary, host="ctl2", is_alive=True,
                                           started_at="2026-12-06T20:00:01")]
    with pytest.raises(CloudTimeout, match=r"neutron-l3-agent on ctl2 has started again.*"
                                           r"before: 2026-12-06T20:00:01"):
        cloud.wait_until_network_agent_has_restarted("neutron-l3-agent", "ctl2", before,
                                                     timeout=timedelta(seconds=10))
    conn.agents = agents
    with pytest.raises(CloudError, match=r"Expected one neutron-l3-agent on ctl3; Neutron "
                                         r"lists 0 there \(agents of that kind: "
                                         r"neutron-l3-agent@ctl1, "):
        cloud.get_network_agent("neutron-l3-agent", "ctl3")


def test_existing_paths_boot_nothing_and_a_router_behind_them_is_looked_up(tmp_path):
    conn = FakeNeutronNovaGlance()
    conn.add("router", name="tenant-router", id="r-7")
    text = ("name: operator\ncloud: c\nnodes: {ctl1: {}}\ndata_plane:\n"
            "  probe_namespace: users\n  router: tenant-router\n  paths:\n"
            "    north-south: {to: 198.51.100.7, tcp_port: 22, icmp: false}\n"
            "    lb: {from: /proc/1/ns/net, to: 198.51.100.8}\n")
    cloud, conn, asked = library(tmp_path, text, conn)
    paths = cloud.boot_data_plane_guests()
    assert paths == {"north-south": "users -> 198.51.100.7:22 no-icmp",
                     "lb": "/proc/1/ns/net -> 198.51.100.8"}
    assert not [c for c in conn.calls if c[0].startswith("create_")]
    assert cloud.get_node_of_active_router() == "ctl1"
    assert conn.calls[-1] == ("routers_hosting_l3_agents", ("r-7",), {})


def test_paths_without_their_router_skip_the_router_cases(tmp_path):
    text = "name: o\ncloud: c\ndata_plane:\n  paths: {north-south: {to: 198.51.100.7}}\n"
    cloud, _, _ = library(tmp_path, text)
    cloud.boot_data_plane_guests()
    with pytest.raises(SkipExecution, match="without the router behind them"):
        cloud.get_node_of_active_router()


# ------------------------------------------------------------------ not applicable
def test_without_a_data_plane_section_the_keywords_skip_as_not_applicable(tmp_path):
    cloud, conn, _ = library(tmp_path, "name: o\ncloud: c\n")
    for keyword in (cloud.boot_data_plane_guests, cloud.data_plane_guests_should_answer,
                    cloud.get_data_plane_paths, cloud.get_node_of_active_router):
        with pytest.raises(SkipExecution, match="The target has no data_plane section"):
            keyword()
    assert conn.calls == []


def test_without_a_data_plane_section_the_target_declares_the_cases_not_applicable(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: o\nnot_applicable:\n  - {test: Volume*, reason: No Cinder.}\n")
    def declared(data):  # the scale cases are declared too (no scale section either)
        return [e for e in data.get("not_applicable") or []
                if e["test"] != targets.SCALE_CASES]

    assert declared(targets.load(path).data) == [
        {"test": "Volume*", "reason": "No Cinder."},
        {"test": targets.DATA_PLANE_CASES, "reason": targets.NO_DATA_PLANE}]
    path.write_text(BOOT.replace("PIDS/", "/pids/"))
    assert declared(targets.load(path).data) == []
    own = "name: o\nnot_applicable:\n  - {test: '*.data plane*.*', reason: Ours.}\n"
    path.write_text(own)
    assert declared(targets.load(path).data) == [{"test": "*.data plane*.*",
                                                  "reason": "Ours."}]


def test_the_report_shows_a_skipped_data_plane_case_as_not_applicable(tmp_path, capsys):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "data_plane.robot").write_text(
        "*** Test Cases ***\nGuests Keep Their Connectivity\n    [Tags]    area:destructive\n"
        "    Skip    The target has no data_plane section\n", encoding="utf-8")
    (suites / "other.robot").write_text(
        "*** Test Cases ***\nA Plain Case\n    [Tags]    area:destructive\n"
        "    Skip    not here\n", encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "robot", "--outputdir", str(out), "--log", "NONE",
                    "--report", "NONE", "--console", "none", str(suites)], timeout=120,
                   check=False)
    target = tmp_path / "target.yaml"
    target.write_text("name: o\ncloud: c\n")
    page = tmp_path / "signoff.html"
    rc = report_cli.main([str(out / "output.xml"), "-o", str(page), "--target", str(target)])
    printed = capsys.readouterr().out
    assert "1 not applicable" in printed and "1 skipped" in printed and rc == 1
    assert "The target has no data_plane section" in page.read_text(encoding="utf-8")


# ------------------------------------------------------------------ survivors
def test_the_guests_are_survivors_and_a_path_cut_by_the_change_is_named(tmp_path,
                                                                          monkeypatch):
    cut: set[str] = set()
    cloud, conn, _ = library(tmp_path, answering=lambda name, spec: [
        f"{name} tcp ({spec}): timeout"] if name in cut else [])
    paths = cloud.boot_data_plane_guests()
    found = survivors.Survivors("s", "n", "p", "m", "i", "x", "k", "f", "pr", "u",
                                data_plane=paths)
    monkeypatch.setattr(survivors, "REACHABLE_WITHIN", 0)
    # The other survivors are not in this fake cloud (each is listed as a problem of its
    # own): only the data plane's lines matter here.
    checked = [w for w in survivors.problems(cloud, found) if w.startswith("data-plane")]
    assert checked == []
    cut.add("east-west")
    checked = [w for w in survivors.problems(cloud, found) if w.startswith("data-plane")]
    assert len(checked) == 1 and checked[0].startswith(
        f"data-plane path east-west ({paths['east-west']}): CloudTimeout")
    assert "timeout" in checked[0]


# ------------------------------------------------------------------ a real echo
def test_answers_sends_a_real_tcp_echo_and_names_a_closed_port():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def echo():
        client, _ = server.accept()
        with client:
            client.sendall(client.recv(64))

    threading.Thread(target=echo, daemon=True).start()
    try:
        assert dataplane.answers("loop", f"127.0.0.1:{port} no-icmp") == []
    finally:
        server.close()
    problems = dataplane.answers("loop", f"127.0.0.1:{port} no-icmp")
    assert len(problems) == 1 and problems[0].startswith(f"loop tcp (127.0.0.1:{port} "
                                                         f"no-icmp): ")
    assert "refused" in problems[0].lower()
    (missing,) = dataplane.answers("x", "xt-no-such-namespace-7 -> 10.0.0.1")
    assert "No network namespace 'xt-no-such-namespace-7'" in missing


# ------------------------------------------------------------------ the target section
GOOD_BOOT = {"image": "cirros", "flavor": "m1.tiny", "external_network": "external"}
BAD = [
    ({"probe_host": "probe1"}, "data_plane.probe_host names a probe host reached over SSH, "
                               "which is not supported yet"),
    ({"image": "cirros"}, "data_plane.flavor is missing"),
    ({}, "data_plane.image is missing"),
    ({"image": "c", "paths": {"n": {"to": "1.2.3.4"}}}, "data_plane.flavor is missing"),
    ({"paths": {}}, "data_plane.image is missing"),
    ({"paths": {"n s": {"to": "1.2.3.4"}}}, "data_plane.paths.n s is not a path name"),
    ({"paths": {"ns": {"to": "fip"}}}, "data_plane.paths.ns.to must be an IPv4 address"),
    ({"paths": {"ns": {"to": "1.2.3.4", "port": 7}}}, "data_plane.paths.ns must be a mapping"),
    ({"paths": {"ns": {"to": "1.2.3.4", "icmp": False}}}, "icmp is false without a tcp_port"),
    ({"paths": {"ns": {"to": "1.2.3.4", "tcp_port": 70000}}}, "tcp_port must be a TCP port"),
    ({"paths": []}, "data_plane.paths must be a mapping of path names"),
    ({**GOOD_BOOT, "router": "r1"}, "data_plane.router is given with image"),
    ({**GOOD_BOOT, "tcp_port": "seven"}, "data_plane.tcp_port must be a TCP port"),
    ({**GOOD_BOOT, "tcp_port": True}, "data_plane.tcp_port must be a TCP port"),
    ({**GOOD_BOOT, "ha_router": "yes"}, "data_plane.ha_router must be true or false"),
    ({**GOOD_BOOT, "subnets": ["10.0.0.0/24"]}, "data_plane.subnets must list two ranges"),
    ({**GOOD_BOOT, "subnets": ["10.0.0.0/24", "10.0.0.128/25"]}, "two ranges that overlap"),
    ({**GOOD_BOOT, "subnets": ["10.0.0.0/24", "10.0.1.1/24"]}, "not an IPv4 network"),
    ({**GOOD_BOOT, "subnets": ["10.0.0.0/30", "10.0.1.0/24"]}, "too small"),
    ({**GOOD_BOOT, "guests": {"compute_nodes": ["cmp1"], "init_pid_file": "/x/init.pid"}},
     "data_plane.guests.init_pid_file must be an absolute path naming the node by {node}"),
    ({**GOOD_BOOT, "guests": {"compute_nodes": "cmp1", "init_pid_file": "/x/{node}"}},
     "data_plane.guests.compute_nodes must list node names"),
    ({**GOOD_BOOT, "guests": {"compute_nodes": ["c"], "init_pid_file": "/{node}", "x": 1}},
     "data_plane.guests must be a mapping of compute_nodes"),
    ({**GOOD_BOOT, "guests": {"compute_nodes": ["c"], "init_pid_file": "/{node}",
                              "netns_dir": "run/netns"}}, "not a name / an absolute path"),
    ({**GOOD_BOOT, "security_group_ingress": [{"protocol": "sctp"}]},
     "data_plane.security_group_ingress #1 must be {protocol: icmp|tcp|udp, port: N}"),
    ({**GOOD_BOOT, "security_group_ingress": [{"protocol": "icmp", "port": 7}]},
     "gives a port to ICMP"),
    ({**GOOD_BOOT, "security_group_ingress": []}, "must list the rules"),
    ({**GOOD_BOOT, "tenant_network": "private", "subnets": ["10.0.0.0/24", "10.0.1.0/24"]},
     "data_plane.tenant_network is given with subnets or ha_router"),
    ({**GOOD_BOOT, "external_subnet": "203.0.113.0/33"}, "external_subnet is not an IPv4"),
    ({**GOOD_BOOT, "floating_ip_range": ["203.0.113.250", "203.0.113.10"]},
     "floating_ip_range must be [first, last] addresses"),
    ({**GOOD_BOOT, "probe_namespace": "two words"}, "data_plane.probe_namespace must be a "
                                                    "network namespace"),
    ({**GOOD_BOOT, "guest_ready_timeout": "soon"},
     "data_plane.guest_ready_timeout is not a time"),
    ({**GOOD_BOOT, "image": ["a"]}, "data_plane.image must be a name or an id"),
    ({**GOOD_BOOT, "flavour": "m1"}, "data_plane has unknown keys flavour"),
]


@pytest.mark.parametrize("section, words", BAD, ids=[w for _, w in BAD])
def test_a_wrong_data_plane_section_names_the_key_and_the_fix(tmp_path, section, words):
    import yaml

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"name": "o", "data_plane": section}))
    with pytest.raises(TargetError) as caught:
        targets.load(path)
    message = str(caught.value)
    assert words in message and str(path) in message and "\n" not in message
    assert "example-3-controllers.yaml" in message


def test_a_data_plane_section_that_is_no_mapping_is_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("name: o\ndata_plane: [image]\n")
    with pytest.raises(TargetError, match="'data_plane' must be a mapping"):
        targets.load(path)


def test_the_settings_read_from_a_good_section(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(BOOT.replace("PIDS/", "/pids/")
                    + "  subnets: [192.168.77.0/28, 192.168.78.0/28]\n")
    settings = targets.parse_data_plane(targets.load(path).data, "t")
    assert settings.boots and settings.probe_namespace == "xt-client"
    assert settings.subnets == ("192.168.77.0/28", "192.168.78.0/28")
    assert settings.ready_within == 120 and settings.tcp_port == 7
    assert settings.ha_router is None and settings.tenant_network is None
    assert settings.ingress == (("icmp", None), ("tcp", 7))
    server = "0123abcd-4567-89ef-0123-456789abcdef"
    assert settings.guests.namespace_file(server, 77) == \
        "/proc/77/root/run/netns/guest-0123abcd456789ef"
    plain = targets.parse_data_plane({"data_plane": GOOD_BOOT}, "t")
    assert plain.probe_namespace == "" and plain.guests is None
    assert plain.subnets == targets.DATA_PLANE_SUBNETS and plain.ready_within == 300
    assert plain.ingress == (("icmp", None),)


def test_the_labs_own_section_loads_as_its_branch_writes_it(tmp_path):
    import yaml

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"name": "lab-like", "data_plane": LAB_SECTION}))
    settings = targets.parse_data_plane(targets.load(path).data, "t")
    assert settings.boots and settings.paths == () and settings.tenant_network is None
    assert settings.ready_within == 60 and settings.probe_namespace == "xt-client"
    assert settings.ingress == (("icmp", None), ("tcp", 7))
    assert settings.guests.compute_nodes == ("cmp1",)
    assert settings.guests.init_pid_file == "/var/lib/extreme-lab/nodes/{node}/init.pid"


def test_the_example_target_describes_a_data_plane():
    example = Path(__file__).resolve().parents[2] / "variables" / "example-3-controllers.yaml"
    settings = targets.parse_data_plane(targets.load(example).data, "example")
    assert settings.boots and settings.external_network and settings.tcp_port

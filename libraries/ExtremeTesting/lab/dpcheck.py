"""`extreme lab check-data-plane`: the lab's data plane end to end, once, by hand.

Boots a server on a new VXLAN network behind a new (HA) router with its gateway on the
external network, opens ICMP and the echo port in a new security group, gives the server a
floating IP and waits until the client namespace gets an ICMP echo reply and a TCP echo
from it; then removes everything it made (unless ``keep``). Each step is timed; a step
that fails says what Neutron reports about the port, the router's L3 agents (HA state)
and the network's DHCP agents, which is where a broken data plane shows first.
"""

from __future__ import annotations

import secrets
import time

import requests

from . import config, paths
from . import topology as topo
from ..monitor.dataplane import IcmpProbe, TcpProbe
from .api import FLAVOR, IMAGE, Api
from .shell import LabError

NEUTRON = config.vip_url(9696, "/v2.0")
NOVA = config.vip_url(8774, "/v2.1")
MICRO = {"OpenStack-API-Version": "compute 2.37"}
CIDR = "10.99.0.0/24"


def answers(address: str) -> tuple[bool, bool]:
    """(ICMP echo answered, TCP echo answered) from the client namespace: one sample of the
    monitor's own data-plane probes (no ping needed on this machine)."""
    namespace = paths.netns(topo.CLIENT)
    icmp = IcmpProbe("check icmp", address=address, namespace=namespace, timeout=1.0)
    tcp = TcpProbe("check tcp", address=address, port=topo.GUEST_ECHO_PORT,
                   namespace=namespace, timeout=1.0)
    return icmp.check().ok, tcp.check().ok


class Check:
    def __init__(self, api: Api, name: str = ""):
        self.api = api
        self.name = name or f"xt-dpcheck-{secrets.token_hex(3)}"
        self.ids: dict[str, str] = {}
        self.steps: list[tuple[str, float]] = []
        self._mark = time.monotonic()

    def step(self, what: str) -> None:
        now = time.monotonic()
        self.steps.append((what, round(now - self._mark, 1)))
        self._mark = now

    def post(self, url: str, key: str, body: dict) -> str:
        return self.api.call("POST", url, json={key: body}).json()[key]["id"]

    def run(self, timeout: float = 120) -> dict:
        api, name = self.api, self.name
        external = api.call("GET", f"{NEUTRON}/networks?name={topo.EXTERNAL_NETWORK}"
                            ).json()["networks"]
        if not external:
            raise LabError(f"No network '{topo.EXTERNAL_NETWORK}': 'extreme lab up' makes it.")
        self.ids["network"] = self.post(f"{NEUTRON}/networks", "network", {"name": name})
        self.ids["subnet"] = self.post(f"{NEUTRON}/subnets", "subnet", {
            "name": name, "network_id": self.ids["network"], "ip_version": 4, "cidr": CIDR})
        self.ids["router"] = self.post(f"{NEUTRON}/routers", "router", {
            "name": name, "external_gateway_info": {"network_id": external[0]["id"]}})
        api.call("PUT", f"{NEUTRON}/routers/{self.ids['router']}/add_router_interface",
                 json={"subnet_id": self.ids["subnet"]})
        self.ids["security_group"] = self.post(f"{NEUTRON}/security-groups",
                                               "security_group", {"name": name})
        for rule in ({"protocol": "icmp"},
                     {"protocol": "tcp", "port_range_min": topo.GUEST_ECHO_PORT,
                      "port_range_max": topo.GUEST_ECHO_PORT}):
            self.post(f"{NEUTRON}/security-group-rules", "security_group_rule", {
                "security_group_id": self.ids["security_group"], "direction": "ingress",
                "ethertype": "IPv4", **rule})
        self.step("network, subnet, HA router, security group")
        flavor = next(f["id"] for f in api.call("GET", f"{NOVA}/flavors").json()["flavors"]
                      if f["name"] == FLAVOR)
        image = api.call("GET", config.vip_url(9292, f"/v2/images?name={IMAGE}")
                         ).json()["images"][0]["id"]
        self.ids["server"] = api.call("POST", f"{NOVA}/servers", headers=MICRO, json={
            "server": {"name": name, "imageRef": image, "flavorRef": flavor,
                       "networks": [{"uuid": self.ids["network"]}],
                       "security_groups": [{"name": name}]}}).json()["server"]["id"]

        def active():
            status = api.call("GET", f"{NOVA}/servers/{self.ids['server']}",
                              headers=MICRO).json()["server"]
            if status["status"] == "ERROR":
                raise LabError(f"the server went to ERROR: "
                               f"{(status.get('fault') or {}).get('message', '?')}")
            return status["status"] == "ACTIVE"

        api.wait_until("the server reaching ACTIVE", active, timeout)
        self.step("server ACTIVE")
        ports = api.call("GET", f"{NEUTRON}/ports?device_id={self.ids['server']}"
                         ).json()["ports"]
        self.ids["port"] = ports[0]["id"]
        fip = api.call("POST", f"{NEUTRON}/floatingips", json={"floatingip": {
            "floating_network_id": external[0]["id"], "port_id": self.ids["port"]}}
        ).json()["floatingip"]
        self.ids["floatingip"] = fip["id"]
        address = fip["floating_ip_address"]
        deadline = time.monotonic() + timeout
        seen = (False, False)
        while time.monotonic() < deadline:
            seen = answers(address)
            if all(seen):
                break
        self.step(f"{address} answers from {paths.netns(topo.CLIENT)}")
        if not all(seen):
            raise LabError(f"floating IP {address} of the server: ICMP "
                           f"{'answered' if seen[0] else 'no answer'}, TCP echo on port "
                           f"{topo.GUEST_ECHO_PORT} {'answered' if seen[1] else 'no answer'} "
                           f"after {timeout:.0f} s. {self.diagnosis()}")
        return {"floating_ip": address, "steps": self.steps, "ids": dict(self.ids)}

    def diagnosis(self) -> str:
        """What Neutron says about the pieces on the way (each part best effort)."""
        parts = []
        for what, url, pick in (
                ("port", f"{NEUTRON}/ports/{self.ids.get('port')}",
                 lambda b: f"status {b['port']['status']} on host "
                           f"{b['port'].get('binding:host_id') or '?'}"),
                ("router's L3 agents", f"{NEUTRON}/routers/{self.ids.get('router')}/l3-agents",
                 lambda b: ", ".join(f"{a['host']} {a.get('ha_state') or '?'}"
                                     f"{'' if a['alive'] else ' (dead)'}"
                                     for a in b["agents"]) or "none"),
                ("network's DHCP agents",
                 f"{NEUTRON}/networks/{self.ids.get('network')}/dhcp-agents",
                 lambda b: ", ".join(a["host"] for a in b["agents"]) or "none")):
            try:
                parts.append(f"{what}: {pick(self.api.call('GET', url).json())}")
            except (LabError, KeyError, ValueError) as error:
                parts.append(f"{what}: unknown ({error})")
        return "; ".join(parts) + (". Logs: nodes/<node>/log/neutron/ in the lab folder; "
                                   "in cmp1 'python3 /usr/local/lib/extreme-lab/guests.py "
                                   "list'.")

    def clean_up(self) -> list[str]:
        """Removes what run() made, in reverse; returns what could not be removed."""
        api, ids, left = self.api, self.ids, []
        steps = [
            ("floatingip", lambda: api.call("DELETE", f"{NEUTRON}/floatingips/"
                                            f"{ids['floatingip']}", expect=(204, 404))),
            ("server", self._delete_server),
            ("subnet", lambda: api.call(
                "PUT", f"{NEUTRON}/routers/{ids['router']}/remove_router_interface",
                json={"subnet_id": ids["subnet"]}, expect=(200, 404))),
            ("router", lambda: api.call("DELETE", f"{NEUTRON}/routers/{ids['router']}",
                                        expect=(204, 404))),
            ("network", lambda: api.call("DELETE", f"{NEUTRON}/networks/{ids['network']}",
                                         expect=(204, 404))),
            ("security_group", lambda: api.call(
                "DELETE", f"{NEUTRON}/security-groups/{ids['security_group']}",
                expect=(204, 404)))]
        for key, action in steps:
            if key not in ids or (key == "subnet" and "router" not in ids):
                continue
            try:
                action()
            except (LabError, requests.RequestException) as error:
                left.append(f"{key} {ids[key]}: {error}")
        return left

    def _delete_server(self) -> None:
        url = f"{NOVA}/servers/{self.ids['server']}"
        self.api.call("DELETE", url, headers=MICRO, expect=(204, 404))
        self.api.wait_until("the server being deleted", lambda: self.api.call(
            "GET", url, expect=(200, 404)).status_code == 404, 60)


def check_data_plane(admin_password: str, timeout: float = 120, keep: bool = False) -> dict:
    """Runs the check; returns its result (``left`` names what could not be removed)."""
    api = Api(admin_password)
    api.login()
    check = Check(api)
    try:
        result = check.run(timeout)
    except BaseException as error:
        left = [] if keep else check.clean_up()
        if left and isinstance(error, LabError):
            raise LabError(f"{error} (and could not remove: {'; '.join(left)})") from None
        raise
    result["left"] = [] if keep else check.clean_up()
    return result

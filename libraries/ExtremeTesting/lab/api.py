"""The few REST calls the lab makes to register and verify its own cloud.

Plain requests with a timeout on every call; nothing here is logged with its body.
"""

from __future__ import annotations

import time

import requests

from . import config
from . import topology as topo
from .shell import LabError

TIMEOUT = 10
# What servers boot from on the lab (the target's data_plane section names them too).
FLAVOR = "m1.tiny"
IMAGE = "cirros-fake"


class Api:
    def __init__(self, admin_password: str):
        self.session = requests.Session()
        self.session.trust_env = False  # never through a proxy: the lab is local
        self.password = admin_password
        self.token = ""

    def login(self) -> None:
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": self.password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        response = self.session.post(config.vip_url(5000, "/v3/auth/tokens"), json=body,
                                     timeout=TIMEOUT)
        if response.status_code != 201:
            raise LabError(f"Keystone refused the admin login: HTTP {response.status_code}")
        self.token = response.headers["X-Subject-Token"]

    def call(self, method: str, url: str, expect: tuple[int, ...] = (200, 201, 202, 204),
             **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        response = self.session.request(method, url, headers=headers,
                                        timeout=kwargs.pop("timeout", TIMEOUT), **kwargs)
        if response.status_code not in expect:
            raise LabError(f"{method} {url} answered HTTP {response.status_code}: "
                           f"{response.text[:300]}")
        return response

    def find_or_create(self, collection: str, key: str, body: dict,
                       query: str = "") -> str:
        url = config.vip_url(5000, f"/v3/{collection}")
        found = self.call("GET", url + (query or f"?name={body['name']}")).json()[collection]
        if found:
            return found[0]["id"]
        return self.call("POST", url, json={key: body}).json()[key]["id"]

    def register_services(self, service_password: str) -> None:
        """Service project, users and catalog entries, as an installation guide does."""
        project = self.find_or_create("projects", "project",
                                      {"name": "service", "domain_id": "default"})
        admin_role = self.find_or_create("roles", "role", {"name": "admin"})
        for user in config.SERVICE_USERS:
            user_id = self.find_or_create("users", "user", {
                "name": user, "domain_id": "default", "password": service_password})
            self.call("PUT", config.vip_url(
                5000, f"/v3/projects/{project}/users/{user_id}/roles/{admin_role}"))
        for service in topo.api_services():
            if service.api == "identity":
                continue
            service_id = self.find_or_create(
                "services", "service", {"name": service.name.split("-")[0],
                                        "type": service.api},
                query=f"?type={service.api}")
            path = "/v2.1" if service.api == "compute" else ""
            existing = self.call("GET", config.vip_url(
                5000, f"/v3/endpoints?service_id={service_id}")).json()["endpoints"]
            have = {e["interface"] for e in existing}
            for interface in ("public", "internal", "admin"):
                if interface not in have:
                    self.call("POST", config.vip_url(5000, "/v3/endpoints"), json={"endpoint": {
                        "service_id": service_id, "interface": interface,
                        "region_id": config.REGION,
                        "url": config.vip_url(service.port, path)}})

    def wait_until(self, what: str, check, timeout: float, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                result = check()
                if result:
                    return result
            except (requests.RequestException, LabError) as error:
                last = error
            time.sleep(interval)
        raise LabError(f"{what} did not happen within {timeout:.0f} s"
                       + (f" (last error: {last})" if last else ""))

    def compute_host_up(self, host: str = "cmp1") -> bool:
        services = self.call("GET", config.vip_url(8774, "/v2.1/os-services?binary=nova-compute"))
        return any(s["host"] == host and s["state"] == "up"
                   for s in services.json()["services"])

    def forget_host(self, host: str) -> list[str]:
        """Deletes every compute service (each binary) and network agent of ``host``, as an
        operator decommissions a node once its services are stopped (Nova also deletes
        its resource provider and host mapping); returns those it could not delete."""
        nova = config.vip_url(8774, "/v2.1")
        micro = {"OpenStack-API-Version": "compute 2.53"}  # services by UUID
        left = []
        found = self.call("GET", f"{nova}/os-services?host={host}", headers=micro)
        for service in found.json()["services"]:
            try:
                self.call("DELETE", f"{nova}/os-services/{service['id']}", headers=micro,
                          expect=(204, 404))
            except LabError as error:
                left.append(f"{service['binary']} on {host} ({error})")
        for agent in self.agents():
            if agent["host"] != host:
                continue
            try:
                self.call("DELETE", config.vip_url(9696, f"/v2.0/agents/{agent['id']}"),
                          expect=(204, 404))
            except LabError as error:
                left.append(f"{agent['agent_type']} on {host} ({error})")
        return left

    def agents(self) -> list[dict]:
        return self.call("GET", config.vip_url(9696, "/v2.0/agents")).json()["agents"]

    def missing_agents(self, wanted: list[tuple[str, str]]) -> list[str]:
        """Those of the wanted (agent_type, host) not registered alive, as "type on host"
        ("(dead)" when registered but not reporting)."""
        seen = {(a["agent_type"], a["host"]): a.get("alive") for a in self.agents()}
        return [f"{kind} on {host}" + ("" if (kind, host) not in seen else " (dead)")
                for kind, host in wanted if not seen.get((kind, host))]

    def wait_agents(self, wanted: list[tuple[str, str]], timeout: float) -> None:
        """Every wanted Neutron agent registered and alive, or one line naming the others
        and where their logs are."""
        deadline = time.monotonic() + timeout
        missing = ["(no answer from neutron-server)"]
        while time.monotonic() < deadline:
            try:
                missing = self.missing_agents(wanted)
            except (requests.RequestException, LabError) as error:
                missing = [f"(neutron-server: {error})"]
            if not missing:
                return
            time.sleep(1)
        raise LabError(f"Neutron agents not alive within {timeout:.0f} s: "
                       f"{', '.join(missing)}. See /var/log/neutron/<agent>.log in each "
                       f"node (the lab folder's nodes/<node>/log/neutron/).")

    def ensure_external_network(self) -> dict[str, str]:
        """The external network (flat, on physical network "external", router:external,
        not shared) and its subnet (no DHCP, the client as gateway, the floating-IP pool),
        made as admin once: a second call finds them."""
        neutron = config.vip_url(9696, "/v2.0")
        name = topo.EXTERNAL_NETWORK
        found = self.call("GET", f"{neutron}/networks?name={name}").json()["networks"]
        if found:
            network = found[0]["id"]
        else:
            network = self.call("POST", f"{neutron}/networks", json={"network": {
                "name": name, "router:external": True, "shared": False,
                "provider:network_type": "flat",
                "provider:physical_network": topo.EXTERNAL_NETWORK,
                "description": "the lab's external network (extreme lab up)"}}
            ).json()["network"]["id"]
        subnets = self.call("GET", f"{neutron}/subnets?network_id={network}").json()["subnets"]
        if not subnets:
            start, end = topo.FLOATING_POOL
            self.call("POST", f"{neutron}/subnets", json={"subnet": {
                "name": f"{name}-subnet", "network_id": network, "ip_version": 4,
                "cidr": topo.EXTERNAL_CIDR, "gateway_ip": topo.CLIENT_ADDRESS,
                "enable_dhcp": False,
                "allocation_pools": [{"start": start, "end": end}]}})
        return {"network_id": network, "subnet_cidr": topo.EXTERNAL_CIDR}

    def seed(self) -> dict[str, str]:
        """A tiny flavor and image, so servers can be booted on the fake hypervisor."""
        nova = config.vip_url(8774, "/v2.1")
        flavors = self.call("GET", nova + "/flavors?minDisk=0").json()["flavors"]
        flavor = next((f["id"] for f in flavors if f["name"] == FLAVOR), None)
        if not flavor:
            flavor = self.call("POST", nova + "/flavors", json={"flavor": {
                "name": FLAVOR, "ram": 64, "vcpus": 1, "disk": 0}}).json()["flavor"]["id"]
        glance = config.vip_url(9292, "/v2/images")
        images = self.call("GET", glance + f"?name={IMAGE}").json()["images"]
        image = images[0]["id"] if images else None
        if not image:
            image = self.call("POST", glance, json={
                "name": IMAGE, "disk_format": "raw", "container_format": "bare",
                "visibility": "public"}).json()["id"]
            self.call("PUT", f"{glance}/{image}/file", data=b"\0" * 65536,
                      headers={"Content-Type": "application/octet-stream"})
        return {"flavor": flavor, "image": image}

    def server_lifecycle(self, flavor: str, image: str, timeout: float = 90) -> float:
        """Boot a server with no network on the fake driver, wait ACTIVE, delete it."""
        nova = config.vip_url(8774, "/v2.1")
        micro = {"OpenStack-API-Version": "compute 2.37"}
        start = time.monotonic()
        server = self.call("POST", nova + "/servers", headers=micro, json={"server": {
            "name": "xt-lab-verify", "imageRef": image, "flavorRef": flavor,
            "networks": "none"}}).json()["server"]["id"]

        def active():
            status = self.call("GET", f"{nova}/servers/{server}", headers=micro).json()
            status = status["server"]["status"]
            if status == "ERROR":
                raise LabError("the verification server went to ERROR on the fake hypervisor")
            return status == "ACTIVE"

        try:
            self.wait_until("the verification server reaching ACTIVE", active, timeout)
        finally:
            self.call("DELETE", f"{nova}/servers/{server}", headers=micro, expect=(204, 404))
            self.wait_until("the verification server being deleted", lambda: self.call(
                "GET", f"{nova}/servers/{server}", expect=(200, 404)).status_code == 404, 60)
        return time.monotonic() - start

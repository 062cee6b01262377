"""Adding and removing nodes: the deploy tool's commands, then what Nova, Placement, Neutron
and the load balancer must show afterwards (without Robot: the keywords are
:mod:`.keywords.scale`'s, the undo actions :mod:`.undo`'s).

A compute that is added must be usable: its ``nova-compute`` service up, its host mapped to
a cell (a host never mapped makes every server scheduled to it fail with
``HostMappingNotFound``: checked by ``nova-manage cell_v2 list_hosts``, there is no API,
and by a server booted targeted at the host, compute API microversion 2.74), a resource
provider with VCPU, MEMORY_MB and DISK_GB inventory, and the zone and aggregate the target
names. A compute that is removed must leave nothing behind: no resource provider, host
mapping or network agent, and no service that registers again (a deleted service comes back
while ``nova-compute`` still runs). Each check is a :class:`Check` (one comparison, the
figures of the expectation record the keyword publishes); each failure says what is missing
and what to do.

The cloud is reached through :class:`SdkCloud` (openstacksdk, the connection of
``cloud.connection``; tests give a fake with the same methods), the nodes through the
Changes library's SSH (:class:`.remote.Nodes`).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import results
from ..target import ScaleSettings, Target, parse_scale
from .errors import ChangeError
from .remote import Nodes

HOST_TARGETING = "2.74"  # POST /servers with "host": the microversion that added it
SERVICES_BY_ID = "2.53"  # compute services and hypervisors by UUID
LIVE_MIGRATION = "2.30"
INVENTORY = ("VCPU", "MEMORY_MB", "DISK_GB")
UNITS = {"VCPU": "VCPU", "MEMORY_MB": "MB", "DISK_GB": "GB"}
POLL = 2.0  # s between two readings of the cloud while waiting


class ScaleError(ChangeError):
    """A node could not be added or removed, or what it left is not what it must be."""


@dataclass
class Check:
    """One comparison of a scale verdict (an expectation record's figures) and, when it
    failed, what is missing in words."""

    keyword: str
    what: str
    subject: str
    limit: float
    comparison: str
    measured: float | None
    unit: str
    problem: str = ""
    uncertainty: float | None = None

    @property
    def passed(self) -> bool:
        return not self.problem and results.compare(self.measured, self.comparison,
                                                    self.limit)

    def publish(self) -> None:
        results.publish_expectation(self.keyword, self.what, self.limit, self.comparison,
                                    self.measured, unit=self.unit, subject=self.subject,
                                    uncertainty=self.uncertainty, passed=self.passed)


def settings(target: Target) -> ScaleSettings:
    return parse_scale(target.data, f"Target file {target.path}")


def hostname(target: Target, node: str) -> str:
    """The node's host name in Nova and Neutron: ``nodes.<node>.hostname``, else its name."""
    entry = (target.section("nodes").get(node) or {})
    return str(entry.get("hostname") or node)


# --- the deploy tool and nova-manage ---------------------------------------------------

def deploy(settings_: ScaleSettings, nodes: Nodes | None, which: str, node: str, role: str,
           runner: Callable[..., Any] | None = None) -> float:
    """Run the ``add`` or ``remove`` command for ``node`` where the target says; returns
    its seconds. Fails with the end of its error output, or when it outlives its timeout."""
    command = settings_.add if which == "add" else settings_.remove
    line = command.line(node, role)
    where = settings_.run_on or "this machine"
    started = time.monotonic()
    if settings_.run_on:
        found = nodes.run(settings_.run_on, line, check=False, timeout=command.timeout)
        rc, out, err = found.rc, found.out, found.err
    else:
        try:
            done = (runner or subprocess.run)(["/bin/sh", "-c", line], capture_output=True,
                                              text=True, timeout=command.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ScaleError(f"The {which} command for {node} ran longer than its timeout "
                             f"({command.timeout:g} s, scale.{which}.timeout) on {where} and "
                             f"was stopped: check the deploy tool, or raise the timeout."
                             ) from None
        rc, out, err = done.returncode, done.stdout or "", done.stderr or ""
    if rc != 0:
        raise ScaleError(f"The {which} command for {node} failed on {where} (status {rc}): "
                         f"{(err or out).strip()[-600:]}")
    return time.monotonic() - started


def parse_list_hosts(text: str) -> set[str]:
    """Host names of ``nova-manage cell_v2 list_hosts``' table (Cell Name, Cell UUID,
    Hostname)."""
    hosts = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[-1] and cells[-1] != "Hostname" \
                and not line.lstrip().startswith("+"):
            hosts.add(cells[-1])
    return hosts


class HostMappings:
    """Nova's host mappings through nova-manage on the target's ``nova_manage.node``."""

    def __init__(self, settings_: ScaleSettings, nodes: Nodes):
        self.settings, self.nodes = settings_, nodes

    def _run(self, args: str) -> str:
        line = f"{self.settings.nova_manage} cell_v2 {args}"
        return self.nodes.run(self.settings.nova_manage_node, line,
                              timeout=self.settings.nova_manage_timeout).out

    def list_hosts(self) -> set[str]:
        return parse_list_hosts(self._run("list_hosts"))

    def discover(self) -> None:
        self._run("discover_hosts --verbose")


# --- the cloud through openstacksdk ---------------------------------------------------

class SdkCloud:
    """The calls the scale checks make, as plain dicts, over an openstacksdk connection
    (its ``api_timeout`` bounds each). Raises :class:`ScaleError` naming the call and the
    API's answer."""

    # A call answered 502/503/504 (a service or its Keystone coming back: the undo of an
    # addition ran while the cloud still recovered from the faults undone before it, in a
    # restore-torture run of 2026-12-07, and gave up on one 503) is asked again for up to
    # TRANSIENT_FOR s, except a POST (not known to be safe to send twice).
    TRANSIENT = (502, 503, 504)
    TRANSIENT_FOR = 60.0

    def __init__(self, conn: Any, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.conn = conn
        self.clock, self.sleep = clock, sleep

    def _call(self, api: str, method: str, path: str, ok=(200, 202, 204), **kwargs) -> Any:
        proxy = getattr(self.conn, api)
        deadline = self.clock() + self.TRANSIENT_FOR
        answer = proxy.request(path, method, raise_exc=False, **kwargs)
        while (answer.status_code in self.TRANSIENT and method != "POST"
               and self.clock() < deadline):
            self.sleep(2.0)
            answer = proxy.request(path, method, raise_exc=False, **kwargs)
        if answer.status_code not in ok:
            raise ScaleError(f"{method} {path} ({api}) answered HTTP {answer.status_code}: "
                             f"{(answer.text or '').strip()[:300]}")
        return answer

    def _json(self, api: str, path: str, key: str, **kwargs) -> Any:
        return self._call(api, "GET", path, **kwargs).json().get(key)

    # compute services and hypervisors
    def compute_services(self, host: str) -> list[dict]:
        found = self._json("compute", f"/os-services?host={host}", "services",
                           microversion=SERVICES_BY_ID) or []
        return [{"id": s["id"], "binary": s["binary"], "host": s["host"],
                 "state": s.get("state"), "status": s.get("status")} for s in found]

    def set_service_enabled(self, service_id: str, enabled: bool, reason: str = "") -> None:
        body = {"status": "enabled" if enabled else "disabled"}
        if not enabled and reason:
            body["disabled_reason"] = reason
        self._call("compute", "PUT", f"/os-services/{service_id}", json=body,
                   microversion=SERVICES_BY_ID)

    def delete_service(self, service_id: str) -> None:
        self._call("compute", "DELETE", f"/os-services/{service_id}",
                   microversion=SERVICES_BY_ID, ok=(204, 404))

    def hypervisors(self, host: str) -> list[dict]:
        found = self._json("compute", "/os-hypervisors/detail", "hypervisors",
                           microversion=SERVICES_BY_ID) or []
        return [{"id": h["id"], "name": h.get("hypervisor_hostname")} for h in found
                if (h.get("service") or {}).get("host") == host]

    # placement
    def inventories(self, provider: str) -> dict[str, float] | None:
        answer = self._call("placement", "GET", f"/resource_providers/{provider}/inventories",
                            ok=(200, 404))
        if answer.status_code == 404:
            return None
        return {rc: float(spec.get("total") or 0)
                for rc, spec in (answer.json().get("inventories") or {}).items()}

    def provider_ids(self, name: str) -> list[str]:
        found = self._json("placement", f"/resource_providers?name={name}",
                           "resource_providers") or []
        return [p["uuid"] for p in found]

    def provider_exists(self, provider: str) -> bool:
        return self._call("placement", "GET", f"/resource_providers/{provider}",
                          ok=(200, 404)).status_code == 200

    # zones and aggregates
    def zone_of(self, host: str) -> str | None:
        zones = self._json("compute", "/os-availability-zone/detail",
                           "availabilityZoneInfo") or []
        for zone in zones:
            if host in (zone.get("hosts") or {}):
                return zone.get("zoneName")
        return None

    def aggregate_hosts(self, name: str) -> list[str] | None:
        for aggregate in self._json("compute", "/os-aggregates", "aggregates") or []:
            if aggregate.get("name") == name:
                return list(aggregate.get("hosts") or [])
        return None

    # servers
    def servers_on(self, host: str) -> list[dict]:
        found = self._json("compute", f"/servers/detail?all_tenants=1&host={host}",
                           "servers") or []
        return [_server(s) for s in found]

    def server(self, server_id: str) -> dict | None:
        answer = self._call("compute", "GET", f"/servers/{server_id}", ok=(200, 404))
        return None if answer.status_code == 404 else _server(answer.json()["server"])

    def migrate(self, server_id: str, how: str) -> None:
        body = ({"os-migrateLive": {"host": None, "block_migration": "auto"}}
                if how == "live" else {"migrate": None})
        self._call("compute", "POST", f"/servers/{server_id}/action", json=body,
                   microversion=LIVE_MIGRATION)

    def confirm_resize(self, server_id: str) -> None:
        self._call("compute", "POST", f"/servers/{server_id}/action",
                   json={"confirmResize": None})

    def boot_on_host(self, name: str, host: str, image: str, flavor: str,
                     network: str | None) -> str:
        """POST a server targeted at ``host``; raises :class:`BootRefused` on a 4xx."""
        image_id = _find(self.conn.image.find_image, image, "image")
        flavor_id = _find(self.conn.compute.find_flavor, flavor, "flavor")
        networks: Any = "none"
        if network:
            networks = [{"uuid": _find(self.conn.network.find_network, network, "network")}]
        body = {"server": {"name": name, "imageRef": image_id, "flavorRef": flavor_id,
                           "networks": networks, "host": host}}
        answer = self.conn.compute.request("/servers", "POST", json=body, raise_exc=False,
                                           microversion=HOST_TARGETING)
        if 400 <= answer.status_code < 500:
            raise BootRefused(f"HTTP {answer.status_code}: {(answer.text or '').strip()[:300]}")
        if answer.status_code not in (200, 202):
            raise ScaleError(f"POST /servers answered HTTP {answer.status_code}: "
                             f"{(answer.text or '').strip()[:300]}")
        return answer.json()["server"]["id"]

    def delete_server(self, server_id: str) -> None:
        self._call("compute", "DELETE", f"/servers/{server_id}", ok=(204, 404))

    # network agents
    def agents(self, host: str) -> list[dict]:
        if not self.conn.has_service("network"):
            return []
        found = self._json("network", f"/agents?host={host}", "agents") or []
        return [{"id": a["id"], "type": a.get("agent_type"), "alive": a.get("alive")}
                for a in found if a.get("host") == host]

    def delete_agent(self, agent_id: str) -> None:
        self._call("network", "DELETE", f"/agents/{agent_id}", ok=(204, 404))


class BootRefused(ScaleError):
    """The compute API refused to create the targeted server."""


def _server(data: dict) -> dict:
    fault = (data.get("fault") or {}).get("message", "")
    return {"id": data["id"], "name": data.get("name", ""), "status": data.get("status"),
            "host": data.get("OS-EXT-SRV-ATTR:host"), "fault": fault}


def _find(finder: Callable[..., Any], name: str, what: str) -> str:
    found = finder(name, ignore_missing=True)
    if found is None:
        raise ScaleError(f"No {what} '{name}' in the cloud: fix scale.boot.{what} in the "
                         f"target file.")
    return found.id


# --- the procedures ----------------------------------------------------------------------

@dataclass
class Scale:
    """One cloud's scale procedures and checks (the keywords and the undo actions run
    them): its settings, its cloud, its nodes, and how long a wait polls."""

    settings: ScaleSettings
    cloud: Any  # SdkCloud or a fake
    nodes: Nodes
    run_id: str = "run"
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll: float = POLL
    runner: Callable[..., Any] | None = None  # None: subprocess.run
    log: Callable[[str], None] = lambda text: None
    seen: dict[str, Any] = field(default_factory=dict)

    @property
    def mappings(self) -> HostMappings:
        return HostMappings(self.settings, self.nodes)

    def deploy(self, which: str, node: str, role: str) -> float:
        return deploy(self.settings, self.nodes, which, node, role, self.runner)

    def _wait(self, done: Callable[[], tuple[bool, str]], within: float
              ) -> tuple[float | None, str]:
        """Polls ``done`` (ok, what it saw) until ok or ``within``; (seconds or None, last)."""
        started = self.clock()
        while True:
            ok, seen = done()
            waited = self.clock() - started
            if ok:
                return waited, seen
            if waited >= within:
                return None, seen
            self.sleep(min(self.poll, max(0.0, within - waited)))

    # --- a new compute -------------------------------------------------------------
    def service_up(self, keyword: str, host: str) -> Check:
        within = self.settings.ready_within

        def up() -> tuple[bool, str]:
            found = [s for s in self.cloud.compute_services(host)
                     if s["binary"] == "nova-compute"]
            if not found:
                return False, "not registered"
            service = found[0]
            return (service["state"] == "up" and service["status"] == "enabled",
                    f"state {service['state']}, status {service['status']}")

        waited, seen = self._wait(up, within)
        problem = "" if waited is not None else (
            f"nova-compute on {host} is not up and enabled after {within:g} s (seen: "
            f"{seen}): check that nova-compute runs on {host} and reaches the message bus "
            f"and the database")
        return Check(keyword, "compute service up", host, within, "<=", waited, "s", problem,
                     self.poll)

    def mapped(self, keyword: str, host: str) -> Check:
        periodic = self.settings.cell_discovery == "periodic"
        within = self.settings.periodic_within if periodic else self.settings.ready_within
        if not periodic:
            self.mappings.discover()
            self.log(f"Ran {self.settings.nova_manage} cell_v2 discover_hosts on "
                     f"{self.settings.nova_manage_node}.")
        waited, _ = self._wait(lambda: (host in self.mappings.list_hosts(), ""), within)
        how = ("nova's periodic discovery ([scheduler] discover_hosts_in_cells_interval) "
               "did not map it: check that option on the scheduler" if periodic else
               "nova-manage cell_v2 discover_hosts ran and did not map it: check that "
               "nova-compute on it registered in the cell's database")
        problem = "" if waited is not None else (
            f"{host} is not mapped to a cell after {within:g} s: nova-manage cell_v2 "
            f"list_hosts on {self.settings.nova_manage_node} does not list it, so every "
            f"server scheduled to it fails with HostMappingNotFound; {how}")
        return Check(keyword, "host mapped to a cell", host, within, "<=", waited, "s",
                     problem, self.poll)

    def inventory(self, keyword: str, host: str) -> list[Check]:
        hypervisors = self.cloud.hypervisors(host)
        if not hypervisors:
            return [Check(keyword, "resource providers", host, 1, ">=", 0, "providers",
                          f"{host} has no compute node, so no placement resource provider: "
                          f"check nova-compute's log on {host} (its resource tracker)")]
        checks = []
        for hypervisor in hypervisors:
            found = self.cloud.inventories(hypervisor["id"])
            subject = f"{hypervisor['name']} ({hypervisor['id']})"
            for rc in INVENTORY:
                total = None if found is None else found.get(rc)
                if found is None:
                    problem = (f"{host} has no placement resource provider {subject}: "
                               f"check nova-compute's log and its [placement] credentials")
                elif not total:
                    have = ", ".join(f"{k} {v:g}" for k, v in sorted(found.items())) or "none"
                    problem = (f"resource provider {subject} of {host} has no {rc} "
                               f"inventory (it has: {have}): check the virt driver and "
                               f"its reserved/allocation ratio settings")
                else:
                    problem = ""
                checks.append(Check(keyword, f"{rc} inventory", subject, 0, ">", total,
                                    UNITS[rc], problem))
        return checks

    def placement(self, keyword: str, host: str) -> list[Check]:
        checks = []
        if self.settings.availability_zone:
            zone = self.cloud.zone_of(host)
            wanted = self.settings.availability_zone
            checks.append(Check(keyword, f"in availability zone {wanted}", host, 1, "==",
                                float(zone == wanted), "match",
                                "" if zone == wanted else
                                f"{host} is not in availability zone {wanted} (it is in "
                                f"{zone or 'no zone'}): add it to the zone's aggregate"))
        if self.settings.aggregate:
            name = self.settings.aggregate
            hosts = self.cloud.aggregate_hosts(name)
            problem = ""
            if hosts is None:
                problem = f"aggregate {name} does not exist: create it or fix scale.aggregate"
            elif host not in hosts:
                problem = (f"{host} is not in aggregate {name} (its hosts: "
                           f"{', '.join(hosts) or 'none'}): openstack aggregate add host "
                           f"{name} {host}")
            checks.append(Check(keyword, f"in aggregate {name}", host, 1, "==",
                                float(not problem), "match", problem))
        return checks

    def boots_on(self, keyword: str, host: str) -> Check:
        """A server booted targeted at ``host`` must become ACTIVE there; deleted after."""
        within = self.settings.ready_within
        name = f"xt-{self.run_id}-scale-{host}"
        what = "server booted targeted at the host ACTIVE"
        try:
            server_id = self.cloud.boot_on_host(name, host, self.settings.boot_image,
                                                self.settings.boot_flavor,
                                                self.settings.boot_network)
        except BootRefused as error:
            return Check(keyword, what, host, within, "<=", None, "s",
                         f"the compute API refused a server targeted at {host} ({error}): "
                         f"{_mapping_hint(host, str(error))}")
        try:
            def active() -> tuple[bool, str]:
                server = self.cloud.server(server_id) or {"status": "gone", "fault": ""}
                if server["status"] == "ERROR":
                    raise _Errored(server["fault"])
                return server["status"] == "ACTIVE", server["status"]

            try:
                waited, seen = self._wait(active, within)
            except _Errored as error:
                return Check(keyword, what, host, within, "<=", None, "s",
                             f"a server booted targeted at {host} went to ERROR "
                             f"({error.args[0] or 'no fault given'}): "
                             f"{_mapping_hint(host, error.args[0])}")
        finally:
            self.cloud.delete_server(server_id)
        problem = "" if waited is not None else (
            f"a server booted targeted at {host} is still {seen} after {within:g} s: "
            f"check nova-compute's log on {host}")
        return Check(keyword, what, host, within, "<=", waited, "s", problem, self.poll)

    # --- a compute going away ------------------------------------------------------
    def disable(self, host: str) -> list[str]:
        services = [s for s in self.cloud.compute_services(host)
                    if s["binary"] == "nova-compute"]
        for service in services:
            self.cloud.set_service_enabled(service["id"], False,
                                           "extreme-testing: being removed")
        return [s["id"] for s in services]

    def enable(self, host: str) -> None:
        for service in self.cloud.compute_services(host):
            if service["binary"] == "nova-compute":
                self.cloud.set_service_enabled(service["id"], True)

    def move_servers(self, host: str) -> int:
        """Move every server off ``host`` (the target's migration ways, in order); returns
        how many moved. Fails naming each server that stayed and why."""
        stuck = []
        servers = self.cloud.servers_on(host)
        for server in servers:
            tried = []
            for how in self.settings.migration:
                if how == "live" and server["status"] != "ACTIVE":
                    continue
                try:
                    self._move(server["id"], how, host)
                    break
                except ScaleError as error:
                    tried.append(f"{how}: {error}")
            else:
                stuck.append(f"{server['name'] or server['id']} ({server['status']}; "
                             + ("; ".join(tried) or "no allowed migration for its state")
                             + ")")
        if stuck:
            raise ScaleError(f"Could not move {len(stuck)} server(s) off {host}, so it was "
                             f"not removed (its compute service stays disabled until the "
                             f"test ends): {', '.join(stuck)}. Allowed: "
                             f"{', '.join(self.settings.migration)} (scale.migration).")
        return len(servers)

    def _move(self, server_id: str, how: str, host: str) -> None:
        self.cloud.migrate(server_id, how)

        def moved() -> tuple[bool, str]:
            server = self.cloud.server(server_id)
            if server is None:
                return True, "gone"
            if server["status"] == "VERIFY_RESIZE":
                self.cloud.confirm_resize(server_id)
                return False, "VERIFY_RESIZE"
            if server["status"] == "ERROR":
                raise ScaleError(f"went to ERROR ({server['fault'] or 'no fault given'})")
            return (server["host"] != host and server["status"] in ("ACTIVE", "SHUTOFF"),
                    f"{server['status']} on {server['host']}")

        waited, seen = self._wait(moved, self.settings.ready_within)
        if waited is None:
            raise ScaleError(f"still {seen} after {self.settings.ready_within:g} s")

    def forget(self, host: str) -> tuple[int, int]:
        """Delete the host's compute services and network agents; (services, agents)."""
        services = self.cloud.compute_services(host)
        for service in services:
            self.cloud.delete_service(service["id"])
        agents = self.cloud.agents(host)
        for agent in agents:
            self.cloud.delete_agent(agent["id"])
        return len(services), len(agents)

    def left_behind(self, keyword: str, host: str, providers: list[dict]) -> list[Check]:
        """No resource provider, host mapping or network agent of ``host`` left."""
        left = [p for p in providers if self.cloud.provider_exists(p["id"])]
        named = {i for p in providers if p.get("name") for i in self.cloud.provider_ids(p["name"])}
        left_ids = sorted({p["id"] for p in left} | named)
        checks = [Check(keyword, "resource providers left", host, 0, "<=", len(left_ids),
                        "providers", "" if not left_ids else
                        f"resource provider(s) {', '.join(left_ids)} of {host} left in "
                        f"placement: delete them (openstack resource provider delete "
                        f"<uuid>) and check why deleting the compute service kept them")]
        mapped = host in self.mappings.list_hosts()
        checks.append(Check(keyword, "host mappings left", host, 0, "<=", int(mapped),
                            "mappings", "" if not mapped else
                            f"{host} is still mapped to a cell (nova-manage cell_v2 "
                            f"list_hosts on {self.settings.nova_manage_node} lists it): "
                            f"nova-manage cell_v2 delete_host --cell_uuid <cell> --host "
                            f"{host}"))
        agents = self.cloud.agents(host)
        checks.append(Check(keyword, "network agents left", host, 0, "<=", len(agents),
                            "agents", "" if not agents else
                            "network agent(s) left on " + host + ": "
                            + ", ".join(f"{a['type']} {a['id']}" for a in agents)
                            + ": stop them on the node (the remove command should) and "
                              "delete them (openstack network agent delete <id>)"))
        return checks

    def stays_gone(self, keyword: str, host: str) -> Check:
        """Watch ``settle`` seconds: no compute service or network agent of ``host`` may
        register again."""
        within = self.settings.settle
        started = self.clock()
        back: list[str] = []
        while True:
            back = [f"{s['binary']}" for s in self.cloud.compute_services(host)]
            back += [f"{a['type']} agent" for a in self.cloud.agents(host)]
            waited = self.clock() - started
            if back or waited >= within:
                break
            self.sleep(min(self.poll, max(0.0, within - waited)))
        problem = "" if not back else (
            f"{', '.join(back)} on {host} registered again {waited:.0f} s after it was "
            f"deleted (settle window {within:g} s): it still runs on {host}; the remove "
            f"command must stop it before the service is deleted")
        return Check(keyword, "services registered again within the settle window", host,
                     0, "<=", len(back), "services", problem, self.poll)


class _Errored(Exception):
    pass


def _mapping_hint(host: str, text: str) -> str:
    lowered = (text or "").lower()
    if "not mapped" in lowered or "hostmappingnotfound" in lowered \
            or "could not be found" in lowered:
        return (f"HostMappingNotFound: {host} is not mapped to a cell (run nova-manage "
                f"cell_v2 discover_hosts, or check discover_hosts_in_cells_interval)")
    return f"check nova-compute's and nova-conductor's logs for {host}"


# --- controllers: the load balancer ------------------------------------------------------

@dataclass
class Joined:
    """What `Add Controller` saw: the node's servers in rotation right after the add
    command (before anything checked it), and the gate's results per service."""

    in_rotation: list[str]
    gates: dict[str, Any]  # service -> gate.GateResult (None: the service has no API)

    @property
    def failed(self) -> list[str]:
        return [found.describe() for found in self.gates.values()
                if found is not None and not found.ok]

    @property
    def served_late(self) -> bool:
        """Real requests to the node failed before it served (its warm-up, or the gate)."""
        return any(found is not None and (found.warmup or not found.ok)
                   for found in self.gates.values())


def join_controller(lb: Any, node: str, services: list[str], drain: Callable[[str], None],
                    ready: Callable[[str], None], gate_for: Callable[[str], Any]) -> Joined:
    """A new controller joins the load balancer only once it serves: its servers (one per
    API service) are taken out of rotation at once (``drain``), each service gets real
    requests on the node's own address (``gate_for(service)``: a prepared gate, or None),
    and only when every one passed are they put in rotation (``ready``). Fails, before
    anything, when the load balancer has no server of the node in a backend."""
    backends = {service: lb.spec.backend(service) for service in services}
    seen = {s.backend: s for s in lb.servers() if s.name == node}
    missing = sorted(b for b in backends.values() if b not in seen)
    if missing:
        raise ScaleError(f"The load balancer has no server {node} in backend(s) "
                         f"{', '.join(missing)} after the add command: the deploy tool must "
                         f"add the new controller to HAProxy (named after the node).")
    in_rotation = [f"{b} {seen[b].status}" for b in backends.values() if seen[b].in_rotation]
    for service in services:
        drain(service)
    gates = {}
    for service in services:
        prepared = gate_for(service)
        gates[service] = prepared.run() if prepared is not None else None
    joined = Joined(in_rotation, gates)
    if not joined.failed:
        for service in services:
            ready(service)
    return joined


def joined_checks(keyword: str, node: str, joined: Joined) -> list[Check]:
    early = len(joined.in_rotation) if joined.in_rotation and joined.served_late else 0
    warmup = [f"{f['probe']}: {f['error'] or 'failed'}" for found in joined.gates.values()
              if found is not None for f in found.warmup]
    early_problem = "" if not early else (
        f"{node} was in rotation in the load balancer ({', '.join(joined.in_rotation)}) "
        f"right after the add command, before it served: real requests to it failed "
        f"({'; '.join(warmup[:5] + joined.failed) or 'see the gate'}); users were sent to a "
        f"node that did not serve. Make the deploy tool add it drained (or in maintenance) "
        f"and put it in rotation once it serves")
    failed = joined.failed
    return [Check(keyword, "servers in rotation before the node served", node, 0, "<=",
                  early, "servers", early_problem),
            Check(keyword, "services that failed real requests before joining", node, 0,
                  "<=", len(failed), "services",
                  "" if not failed else f"{node} did not serve, so it was kept out of "
                  f"rotation: {'; '.join(failed)}")]


def leave_controller(keyword: str, lb: Any, node: str) -> Check:
    """After the remove command: no server of the node may still be in rotation."""
    left = [str(s) for s in lb.servers() if s.name == node and s.in_rotation]
    return Check(keyword, "servers left in rotation", node, 0, "<=", len(left),
                 "servers", "" if not left else
                 f"the load balancer still sends requests to the removed {node}: "
                 f"{'; '.join(left)}: the deploy tool must take it out of HAProxy")

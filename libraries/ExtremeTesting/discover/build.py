"""From what the cloud shows to the sections of a target file.

Seeds: the catalog's endpoints (their common host is the VIP), the load balancer's node
(``--lb``, else the VIP), the hypervisors' addresses and any ``--node NAME=ADDRESS``. The
load balancer's configuration adds its backends' servers; every address is then read over
SSH (name, addresses, processes, listening ports). A service runs on a node when one of
its known process patterns finds a process there; nodes SSH could not read keep what the
load balancer and Nova say of them. What could not be found is a note (written as a
commented line saying what to fill in).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import gather, known

ROLE_ORDER = ("controller", "database", "messaging", "compute", "loadbalancer")


@dataclass
class Options:
    cloud: str = ""
    clouds_yaml: str = ""
    region: str = ""
    ssh_user: str = "root"
    ssh_key: str = ""
    ssh_port: int = 22
    lb: str = ""  # the load balancer node's address (default: the VIP)
    nodes: dict[str, str] = field(default_factory=dict)  # name -> address, given
    bmcs: dict[str, tuple[str, str]] = field(default_factory=dict)  # node -> (protocol, addr)
    bmc_user: str = ""
    bmc_password_env: str = "EXTREME_BMC_PASSWORD"
    timeout: float = 20.0
    name: str = "discovered"


@dataclass
class Discovery:
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    nodes: dict[str, gather.NodeView] = field(default_factory=dict)  # by node name
    balancer: gather.BalancerView | None = None
    cloud: gather.CloudView = field(default_factory=gather.CloudView)
    seconds: float = 0.0


def discover(options: Options, cloud: gather.CloudView, run: gather.Runner) -> Discovery:
    """Read the nodes over SSH from the seeds and build the target's sections."""
    vip = gather.vip_of(cloud.endpoints)
    lb_address = options.lb or vip
    seeds = [a for a in [lb_address, *options.nodes.values(),
                         *(ip for _, ip in cloud.hypervisors if ip)] if a]
    views = gather.read_nodes(run, list(dict.fromkeys(seeds)), options.timeout)
    balancer = None
    lb_view = views.get(lb_address)
    if lb_view is not None and not lb_view.problem and any(
            lb_view.runs(p) for p in known.BY_NAME["haproxy"].patterns):
        balancer = gather.read_balancer(run, lb_view, options.timeout)
        servers = [host for b in balancer.backends for _, host, _ in b.servers]
        more = [h for h in dict.fromkeys(servers) if h not in views and gather._IPV4.match(h)]
        views.update(gather.read_nodes(run, more, options.timeout))
    found = build(options, cloud, views, balancer, vip)
    found.data.update(_logs(run, found, options.timeout))
    return found


def _logs(run: gather.Runner, found: Discovery, timeout: float) -> dict[str, Any]:
    """The ``logs`` section: for each service, the first candidate file present on its
    nodes (one SSH command per node)."""
    services = found.data.get("services") or {}
    wanted: dict[str, list[str]] = {}
    for name, spec in services.items():
        for node in spec.get("nodes") or []:
            wanted.setdefault(node, []).extend(known.LOG_FILES.get(name, ()))
    present: dict[str, set[str]] = {}
    for node, candidates in wanted.items():
        view = found.nodes.get(node)
        if view is None or view.problem or not candidates:
            continue
        present[node] = gather.read_logs(run, view.address, sorted(set(candidates)), timeout)
    section = {}
    for name, spec in services.items():
        read = [n for n in spec.get("nodes") or [] if n in present]
        counts = [(sum(c in present[n] for n in read), -index, c)
                  for index, c in enumerate(known.LOG_FILES.get(name, ()))]
        best = max(counts, default=(0, 0, ""))
        if best[0]:  # on every node read, else on most (the first candidate on a tie)
            section[name] = {"files": [best[2]]}
            if best[0] < len(read):
                lacking = [n for n in read if best[2] not in present[n]]
                found.notes.append(f"logs.{name}: {best[2]} is not on {', '.join(lacking)}: "
                                   "give logs.{name}.files the path there too.".replace(
                                       "{name}", name))
    for name, spec in services.items():  # no file: its journald unit (OpenStack-Ansible)
        if name in section:
            continue
        units = [u for n in spec.get("nodes") or [] if n in found.nodes
                 for u in found.nodes[n].units if name in u]
        if units:
            section[name] = {"unit": max(sorted(set(units)), key=units.count)}
    missing = [n for n in services if n not in section and n in known.LOG_FILES]
    if missing:
        found.notes.append(f"logs: no log file found for {', '.join(missing)}: add "
                           "logs.<service>.files (or .unit for journald) by hand.")
    return {"logs": section} if section else {}


def build(options: Options, cloud: gather.CloudView, views: dict[str, gather.NodeView],
          balancer: gather.BalancerView | None, vip: str) -> Discovery:
    notes = list(cloud.problems)
    named = _names(options, cloud, views, balancer, vip)  # address -> node name
    by_name: dict[str, gather.NodeView] = {}
    for address, view in views.items():
        name = named.get(address)
        if not name:
            continue
        by_name[name] = view
    placement: dict[str, list[str]] = {}  # service -> nodes
    patterns: dict[str, str] = {}
    for service in known.KNOWN:
        where = [name for name, view in by_name.items() if not view.problem
                 and any(view.runs(p) for p in service.patterns)]
        if where:
            placement[service.name] = where
            patterns[service.name] = next(
                (p for p in service.patterns if all(by_name[n].runs(p) for n in where)),
                service.patterns[-1])
    ports: dict[str, int] = {}
    backends: dict[str, str] = {}
    if balancer is not None:
        if balancer.problem:
            notes.append(balancer.problem)
        for backend in balancer.backends:
            service = _service_of_backend(backend)
            hosts = [f"{s[0]} ({s[1]}:{s[2]})" for s in backend.servers]
            if service is None:
                notes.append(f"HAProxy backend '{backend.name}' (servers {', '.join(hosts)}) "
                             "is not a service discovery knows: add it under services by "
                             "hand (nodes, port, grep) if a fault case should use it.")
                continue
            if backend.name != service.name:
                backends[service.name] = backend.name
            counted = Counter(port for _, _, port in backend.servers if port)
            if counted:
                ports[service.name] = counted.most_common(1)[0][0]
            for server, host, _ in backend.servers:
                node = named.get(host) or (server if server in by_name else "")
                view = by_name.get(node)
                if node and (view is None or view.problem):
                    placement.setdefault(service.name, [])
                    if node not in placement[service.name]:
                        placement[service.name].append(node)
    for binary, host in [*cloud.compute_services, *cloud.agents]:
        view = by_name.get(host)
        if binary in known.BY_NAME and view is not None and view.problem:
            placement.setdefault(binary, [])
            if host not in placement[binary]:
                placement[binary].append(host)
    for service, where in placement.items():
        spec = known.BY_NAME[service]
        if service not in ports and spec.port and any(
                spec.port in by_name[n].listening for n in where if n in by_name):
            ports[service] = spec.port
    for address, view in views.items():
        if view.problem:
            notes.append(f"node {named.get(address) or address}: {view.problem}; its "
                         "services come from the load balancer and Nova only, its process "
                         "patterns are unchecked.")
    known_hosts = set(by_name)
    for binary, host in [*cloud.compute_services, *cloud.agents]:
        if host not in known_hosts:
            notes.append(f"node {host}: the cloud reports {binary} on it but discovery found "
                         f"no address: add it with --node {host}=ADDRESS (and the SSH key "
                         "must log in there).")
            known_hosts.add(host)
    data = _sections(options, cloud, by_name, placement, patterns, ports, backends,
                     balancer, vip, named, notes)
    data["os_faults"] = _os_faults(data, by_name, options, notes)
    return Discovery(data, notes, by_name, balancer, cloud)


def _os_faults(data: dict[str, Any], by_name: dict[str, gather.NodeView], options: Options,
               notes: list[str]) -> dict[str, Any]:
    """The Faults library's os-faults configuration: every node (key login), and each
    service whose systemd unit runs on its nodes (driver system_service); a service
    without one is a note (its start, stop and restart commands are yours to give)."""
    nodes = data.get("nodes") or {}
    auth = {"username": options.ssh_user}
    if options.ssh_key:
        auth["private_key_file"] = options.ssh_key
    section: dict[str, Any] = {
        "cloud_management": {"driver": "universal"},
        "node_discover": {"driver": "node_list", "args": [
            {"ip": spec["address"], "fqdn": name, "auth": dict(auth)}
            for name, spec in nodes.items() if spec.get("address")]},
        "services": {}}
    without = []
    for name, spec in (data.get("services") or {}).items():
        where = [n for n in spec.get("nodes") or [] if n in nodes]
        units = [u for n in where if n in by_name for u in by_name[n].units if name in u]
        if not units:
            without.append(name)
            continue
        unit = name if name in units else max(sorted(set(units)), key=units.count)
        section["services"][name] = {
            "driver": "system_service",
            "args": {"service_name": unit, "grep": spec["grep"]},
            "hosts": [nodes[n]["address"] for n in where]}
    if without:
        notes.append(f"os_faults.services: no systemd unit found for {', '.join(without)}: "
                     "give each a driver (system_service with its service_name, or process "
                     "with start_cmd, terminate_cmd and restart_cmd) before a fault case "
                     "acts on it.")
    return section


def _names(options: Options, cloud: gather.CloudView, views: dict[str, gather.NodeView],
           balancer: gather.BalancerView | None, vip: str) -> dict[str, str]:
    """Each address's node name: its hostname over SSH, else the name the operator, Nova
    or HAProxy gives it."""
    names: dict[str, str] = {}
    for name, address in options.nodes.items():
        names[address] = name
    for host, ip in cloud.hypervisors:
        names.setdefault(ip, host.split(".")[0])
    if balancer is not None:
        for backend in balancer.backends:
            for server, host, _ in backend.servers:
                names.setdefault(host, server)
    for address, view in views.items():
        if view.name and address not in options.nodes.values():
            names[address] = view.name
        names.setdefault(address, address)
    return names


def _service_of_backend(backend: gather.Backend) -> known.Known | None:
    name = backend.name.lower()
    for suffix in known.BACKEND_SUFFIXES:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    name = name.replace("_", "-")
    for candidate in (name, f"{name}-api", name.removesuffix("-api"), f"{name}-server"):
        if candidate in known.BY_NAME:
            return known.BY_NAME[candidate]
    ports = {port for _, _, port in backend.servers if port}
    found = [known.BY_PORT[p] for p in ports if p in known.BY_PORT]
    return found[0] if len(found) == 1 else None


def _sections(options: Options, cloud: gather.CloudView, by_name: dict[str, gather.NodeView],
              placement: dict[str, list[str]], patterns: dict[str, str],
              ports: dict[str, int], backends: dict[str, str],
              balancer: gather.BalancerView | None, vip: str, named: dict[str, str],
              notes: list[str]) -> dict[str, Any]:
    apis = set(cloud.endpoints)
    nodes: dict[str, Any] = {}
    order = [s.name for s in known.KNOWN]
    # A node SSH could not read is written only when something else places a service on it.
    node_names = sorted({n for n, view in by_name.items() if not view.problem}
                        | {n for where in placement.values() for n in where})
    address_of = {name: address for address, name in named.items()}
    for name in node_names:
        services = [s for s in order if name in placement.get(s, [])]
        roles = [r for r in ROLE_ORDER
                 if any(known.BY_NAME[s].role == r for s in services)]
        view = by_name.get(name)
        address = (view.address if view is not None else address_of.get(name, ""))
        if address == vip and view is not None:
            address = next((a for a in view.addresses if a != vip), address)
        nodes[name] = {"address": address, "roles": roles, "services": services}
    services: dict[str, Any] = {}
    for name in order:
        if name not in placement:
            continue
        spec = known.BY_NAME[name]
        entry: dict[str, Any] = {"nodes": sorted(placement[name], key=node_names.index),
                                 "grep": patterns.get(name, spec.patterns[0]),
                                 "expected_downtime": _number(spec.expected_downtime)}
        if name in ports:
            entry["port"] = ports[name]
        if spec.api and spec.api in apis:
            entry["api"] = spec.api
        services[name] = entry
    data: dict[str, Any] = {
        "name": options.name, "destructive": False, "cloud": options.cloud or None,
        "clouds_yaml": options.clouds_yaml or None, "vip": vip or None,
        "endpoints": dict(sorted(cloud.endpoints.items())),
        "ssh": {"username": options.ssh_user, "private_key_file": options.ssh_key or None,
                "port": options.ssh_port},
        "nodes": nodes, "services": services,
    }
    if balancer is not None and not balancer.problem:
        lb_name = named.get(balancer.address, balancer.address)
        section: dict[str, Any] = {"type": "haproxy", "node": lb_name}
        if balancer.admin_socket:
            section["admin_socket"] = balancer.admin_socket
        if balancer.stats_url:
            section["stats_url"] = balancer.stats_url
        if backends:
            section["backends"] = backends
        if not balancer.admin_socket and not balancer.stats_url:
            notes.append(f"HAProxy on {lb_name} has neither a stats socket nor a stats page "
                         f"in {balancer.config}: add 'stats socket /run/haproxy/admin.sock "
                         "level admin' to it and load_balancer.admin_socket here.")
        else:
            data["load_balancer"] = section
    bmcs = {}
    for node, (protocol, address) in options.bmcs.items():
        if node not in nodes:
            notes.append(f"--bmc {node}=...: no node '{node}' was discovered; the BMC is "
                         "left out.")
            continue
        bmcs[node] = {"protocol": protocol, "address": address,
                      "port": 623 if protocol == "ipmi" else 443,
                      "username": options.bmc_user or None,
                      "password_env": options.bmc_password_env}
    if bmcs:
        data["bmcs"] = bmcs
    return {k: v for k, v in data.items() if v is not None}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value

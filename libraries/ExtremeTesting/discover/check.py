"""Every difference between a target file and what the cloud shows.

Nodes (missing, not listed, another address), services (running on a node the target does
not list, listed on a node where its process pattern matches nothing), ports, the catalog's
endpoints and VIP, and the load balancer (node, stats socket, stats page, backends). Each
difference is one sentence naming what differs and what the cloud shows.
"""

from __future__ import annotations

from typing import Any

from . import gather, known
from .build import Discovery, Options


def options_from_target(data: dict[str, Any], base: Options) -> Options:
    """Discovery seeded by the target: its cloud, SSH, nodes and load balancer node."""
    nodes = {str(name): str((spec or {}).get("address") or "")
             for name, spec in (data.get("nodes") or {}).items()}
    ssh = data.get("ssh") or {}
    lb = data.get("load_balancer") or {}
    base.cloud = base.cloud or str(data.get("cloud") or "")
    base.ssh_user = str(ssh.get("username") or base.ssh_user)
    base.ssh_port = int(ssh.get("port") or base.ssh_port)
    base.nodes = {**{n: a for n, a in nodes.items() if a}, **base.nodes}
    if not base.lb and lb.get("node") in nodes:
        base.lb = nodes[lb["node"]]
    base.name = str(data.get("name") or base.name)
    return base


def placement_of(data: dict[str, Any]) -> dict[str, set[str]]:
    """service -> the nodes the target places it on (its nodes, and nodes listing it)."""
    found: dict[str, set[str]] = {}
    for name, spec in (data.get("services") or {}).items():
        found.setdefault(name, set()).update((spec or {}).get("nodes") or [])
    for node, spec in (data.get("nodes") or {}).items():
        for service in (spec or {}).get("services") or []:
            found.setdefault(service, set()).add(node)
    return found


def differences(data: dict[str, Any], found: Discovery) -> list[str]:
    seen = found.data
    diffs: list[str] = []
    target_nodes = data.get("nodes") or {}
    seen_nodes = seen.get("nodes") or {}
    for name, spec in target_nodes.items():
        address = str((spec or {}).get("address") or "")
        if name not in seen_nodes and name in found.nodes:
            diffs.append(f"node {name} ({address}) could not be read: "
                         f"{found.nodes[name].problem}.")
        elif name not in seen_nodes:
            diffs.append(f"node {name} ({address or 'no address'}) is in the target, but "
                         "the cloud shows no such node (no SSH answer with that hostname, "
                         "not a load balancer server, not known to Nova).")
        elif address and seen_nodes[name].get("address") != address:
            diffs.append(f"node {name}: the target says address {address}, the cloud "
                         f"shows {seen_nodes[name].get('address')}.")
    for name, spec in seen_nodes.items():
        if name not in target_nodes:
            running = ", ".join(spec.get("services") or []) or "no known service"
            diffs.append(f"node {name} ({spec.get('address')}) runs {running}, but the "
                         "target does not list it.")
    wanted = placement_of(data)
    target_services = data.get("services") or {}
    seen_services = seen.get("services") or {}
    readable = {name for name, view in found.nodes.items() if not view.problem}
    for service in sorted(set(wanted) | set(seen_services)):
        spec = target_services.get(service) or {}
        grep = str(spec.get("grep") or "")
        running = set((seen_services.get(service) or {}).get("nodes") or [])
        if grep:  # the target's own pattern says where it runs on the nodes read
            running = ({n for n in readable if found.nodes[n].runs(grep)}
                       | (running - readable))
        for node in sorted(running - wanted.get(service, set())):
            if node in target_nodes or service in target_services:
                diffs.append(f"{service} runs on {node}, but the target does not list it "
                             "there.")
        for node in sorted(wanted.get(service, set()) - running):
            if node not in found.nodes:
                continue  # the missing node is already named
            if node not in readable:
                continue
            pattern = f"its pattern '{grep}'" if grep else "no known pattern"
            diffs.append(f"the target places {service} on {node}, but it does not run there "
                         f"({pattern} matches no process on {node}).")
        seen_port = (seen_services.get(service) or {}).get("port")
        port = spec.get("port")
        if port and seen_port and int(port) != int(seen_port):
            diffs.append(f"{service}: the target says port {port}, the cloud serves it on "
                         f"{seen_port}.")
        if service in seen_services and service not in target_services and \
                service in known.BY_NAME and wanted.get(service):
            diffs.append(f"{service} is listed on nodes but has no entry under services.")
    diffs += _endpoints(data, seen)
    diffs += _balancer(data, seen)
    return diffs


def _endpoints(data: dict[str, Any], seen: dict[str, Any]) -> list[str]:
    diffs = []
    ours, theirs = data.get("endpoints") or {}, seen.get("endpoints") or {}
    for kind, url in sorted(theirs.items()):
        if kind in ours and str(ours[kind]).rstrip("/") != str(url).rstrip("/"):
            diffs.append(f"endpoints.{kind}: the target says {ours[kind]}, the catalog says "
                         f"{url}.")
    for kind in sorted(set(ours) - set(theirs)):
        if theirs:
            diffs.append(f"endpoints.{kind} ({ours[kind]}) is not in the catalog.")
    if data.get("vip") and seen.get("vip") and data["vip"] != seen["vip"]:
        diffs.append(f"vip: the target says {data['vip']}, the catalog's endpoints are on "
                     f"{seen['vip']}.")
    return diffs


def _balancer(data: dict[str, Any], seen: dict[str, Any]) -> list[str]:
    ours, theirs = data.get("load_balancer") or {}, seen.get("load_balancer") or {}
    if not ours and not theirs:
        return []
    if ours and not theirs:
        return [f"load_balancer: the target names HAProxy on {ours.get('node')}, but "
                "discovery found no HAProxy configuration there."]
    if theirs and not ours:
        return [f"load_balancer: HAProxy runs on {theirs.get('node')}, but the target has "
                "no load_balancer section."]
    diffs = []
    for key in ("node", "admin_socket", "stats_url"):
        if ours.get(key) and theirs.get(key) and str(ours[key]) != str(theirs[key]):
            diffs.append(f"load_balancer.{key}: the target says {ours[key]}, HAProxy's "
                         f"configuration says {theirs[key]}.")
        elif ours.get(key) and not theirs.get(key):
            diffs.append(f"load_balancer.{key}: the target says {ours[key]}, HAProxy's "
                         "configuration has none.")
    mine, found = ours.get("backends") or {}, theirs.get("backends") or {}
    for service in sorted(set(found) | set(mine)):
        if mine.get(service, service) != found.get(service, service):
            diffs.append(f"load_balancer.backends.{service}: the target says "
                         f"'{mine.get(service, service)}', HAProxy calls it "
                         f"'{found.get(service, service)}'.")
    return diffs


def log_differences(data: dict[str, Any], found: Discovery, run: gather.Runner,
                    timeout: float) -> list[str]:
    """A log file (or glob) of the target's ``logs`` that is not on a node the service runs
    on: the evidence of a failed case would silently hold nothing from it."""
    wanted: dict[str, set[str]] = {}  # node -> files
    placement = placement_of(data)
    logs = data.get("logs") or {}
    for service, spec in logs.items():
        if not isinstance(spec, dict):
            continue
        files = spec.get("files") or []
        files = [files] if isinstance(files, str) else files
        for node in spec.get("nodes") or placement.get(service, set()):
            wanted.setdefault(node, set()).update(str(f) for f in files)
    diffs = []
    for node, files in sorted(wanted.items()):
        view = found.nodes.get(node)
        if view is None or view.problem or not files:
            continue
        present = gather.read_logs(run, view.address, sorted(files), timeout)
        for service, spec in logs.items():
            if not isinstance(spec, dict):
                continue
            nodes = spec.get("nodes") or placement.get(service, set())
            if node not in nodes:
                continue
            listed = spec.get("files") or []
            for path in [listed] if isinstance(listed, str) else listed:
                if str(path) not in present:
                    diffs.append(f"logs.{service}: {path} is not on {node} (no readable file "
                                 "there): its evidence would hold nothing from it.")
    return diffs

"""What a running cloud shows: its catalog, Nova's and Neutron's view of the hosts, its
load balancer's configuration, and each node's processes and listening ports over SSH.

Nothing here changes the cloud: API reads, ``hostname``, ``ip addr``, ``ps``, ``ss`` and
``cat`` of HAProxy's configuration. Every call has a timeout; a node or an API that does
not answer is kept as a problem (discovery writes it as a commented line), never raised.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Runner = Callable[[str, str, float], str]  # (address, shell line, timeout) -> stdout

SEPARATOR = "@@extreme@@"
# The separator is written split ('') so that ps, listing this very command, never shows it.
_ECHO_SEPARATOR = "echo @@extr''eme@@"
NODE_COMMAND = (f"hostname -s; {_ECHO_SEPARATOR}; ip -o -4 addr show 2>/dev/null || "
                f"hostname -I; {_ECHO_SEPARATOR}; ps -eo args=; {_ECHO_SEPARATOR}; "
                "ss -Hltn 2>/dev/null || netstat -ltn 2>/dev/null; "
                f"{_ECHO_SEPARATOR}; systemctl list-units --type=service --state=running "
                "--no-legend --plain 2>/dev/null; true")
# Commands of the moment (ours, or another tool's pgrep) are not services.
_TRANSIENT = re.compile(r"^(?:\S*/)?(?:pgrep|pkill|grep|egrep|ps|sshd:|timeout)\b|"
                        r"^(?:\S*/)?(?:ba|da)?sh -c ")
DEFAULT_HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg"
_INET = re.compile(r"\binet\s+(\d+\.\d+\.\d+\.\d+)")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


@dataclass
class NodeView:
    """One node as SSH shows it (``problem`` says why not, when it could not be read)."""

    address: str
    name: str = ""
    addresses: list[str] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    listening: set[int] = field(default_factory=set)
    units: list[str] = field(default_factory=list)  # running systemd services, if systemd
    problem: str = ""

    def runs(self, pattern: str) -> bool:
        """Whether ``pattern`` (a regular expression, as ``pgrep -f``) finds a process."""
        try:
            found = re.compile(pattern)
        except re.error:
            return any(pattern in line for line in self.processes)
        return any(found.search(line) for line in self.processes)


@dataclass
class Backend:
    name: str
    servers: list[tuple[str, str, int | None]] = field(default_factory=list)  # name, host, port
    binds: list[str] = field(default_factory=list)


@dataclass
class BalancerView:
    address: str
    config: str = ""
    admin_socket: str = ""
    stats_url: str = ""
    backends: list[Backend] = field(default_factory=list)
    problem: str = ""


@dataclass
class CloudView:
    endpoints: dict[str, str] = field(default_factory=dict)  # catalog type -> public URL
    compute_services: list[tuple[str, str]] = field(default_factory=list)  # binary, host
    hypervisors: list[tuple[str, str]] = field(default_factory=list)  # hostname, host_ip
    agents: list[tuple[str, str]] = field(default_factory=list)  # binary, host
    problems: list[str] = field(default_factory=list)


# --- the cloud's APIs ----------------------------------------------------------------------

def read_cloud(conn: Any, region: str | None = None) -> CloudView:
    """The catalog's public endpoints, compute services, hypervisors and network agents."""
    view = CloudView()
    try:
        for service in conn.service_catalog or []:
            for endpoint in service.get("endpoints") or []:
                if endpoint.get("interface") != "public":
                    continue
                if region and endpoint.get("region") not in (None, region):
                    continue
                view.endpoints.setdefault(str(service.get("type")), str(endpoint.get("url")))
    except Exception as error:  # noqa: BLE001 - a partial view is still worth writing
        view.problems.append(f"the catalog could not be read: {_short(error)}")
    for what, read in (("compute services", lambda: [(s.binary, s.host)
                                                     for s in conn.compute.services()]),
                       ("hypervisors", lambda: [(h.name, h.host_ip) for h in
                                                conn.compute.hypervisors(details=True)]),
                       ("network agents", lambda: [(a.binary, a.host)
                                                   for a in conn.network.agents()])):
        try:
            found = read()
        except Exception as error:  # noqa: BLE001
            view.problems.append(f"the {what} could not be read: {_short(error)}")
            continue
        if what == "compute services":
            view.compute_services = found
        elif what == "hypervisors":
            view.hypervisors = found
        else:
            view.agents = found
    return view


def vip_of(endpoints: dict[str, str]) -> str:
    """The host most endpoints share (the load balancer's virtual address)."""
    hosts = [urlsplit(url).hostname or "" for url in endpoints.values()]
    hosts = [h for h in hosts if h]
    return max(sorted(set(hosts)), key=hosts.count) if hosts else ""


# --- nodes over SSH -------------------------------------------------------------------------

def parse_node(address: str, output: str) -> NodeView:
    parts = output.split(SEPARATOR)
    parts += [""] * (5 - len(parts))
    view = NodeView(address, name=parts[0].strip().splitlines()[0] if parts[0].strip() else "")
    view.addresses = _INET.findall(parts[1]) or [a for a in parts[1].split() if _IPV4.match(a)]
    view.processes = [line.strip() for line in parts[2].splitlines()
                      if line.strip() and not _TRANSIENT.match(line.strip())]
    for line in parts[3].splitlines():
        columns = line.split()
        local = next((c for c in columns if re.search(r":\d+$", c)), "")
        if local:
            view.listening.add(int(local.rsplit(":", 1)[1]))
    view.units = [line.split()[0].removesuffix(".service") for line in parts[4].splitlines()
                  if line.split() and line.split()[0].endswith(".service")]
    return view


def read_node(run: Runner, address: str, timeout: float) -> NodeView:
    try:
        return parse_node(address, run(address, NODE_COMMAND, timeout))
    except Exception as error:  # noqa: BLE001 - an unreachable node is written as such
        return NodeView(address, problem=f"SSH to {address} failed: {_short(error)}")


def read_nodes(run: Runner, addresses: list[str], timeout: float) -> dict[str, NodeView]:
    if not addresses:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(addresses))) as pool:
        views = list(pool.map(lambda a: read_node(run, a, timeout), addresses))
    return {view.address: view for view in views}


# --- the load balancer ------------------------------------------------------------------------

def haproxy_config_path(node: NodeView) -> str:
    for line in node.processes:
        if re.search(r"haproxy", line):
            match = re.search(r"\s-f\s+(\S+)", line)
            if match:
                return match.group(1)
    return DEFAULT_HAPROXY_CONFIG


def parse_haproxy(text: str, node_address: str) -> BalancerView:
    """Stats socket, stats page and every backend's servers from haproxy.cfg."""
    view = BalancerView(node_address)
    section: Backend | None = None
    stats_bind, stats_uri, stats_section = "", "/", False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        keyword = words[0]
        if keyword in ("global", "defaults", "frontend", "backend", "listen", "resolvers",
                       "userlist", "peers", "program", "http-errors", "cache", "ring"):
            if stats_section and stats_bind and not view.stats_url:
                view.stats_url = _stats_url(stats_bind, stats_uri, node_address)
            stats_bind, stats_uri, stats_section = "", "/", False
            section = None
            if keyword in ("backend", "listen") and len(words) > 1:
                section = Backend(words[1])
                view.backends.append(section)
            continue
        if keyword == "stats" and len(words) > 2 and words[1] == "socket":
            view.admin_socket = view.admin_socket or words[2]
        elif keyword == "stats" and len(words) > 1 and words[1] in ("enable", "uri"):
            stats_section = True
            if words[1] == "uri" and len(words) > 2:
                stats_uri = words[2]
        elif keyword == "bind" and len(words) > 1:
            stats_bind = stats_bind or words[1]
            if section is not None:
                section.binds.append(words[1])
        elif keyword == "server" and section is not None and len(words) > 2:
            host, _, port = words[2].rpartition(":")
            section.servers.append((words[1], host or words[2],
                                    int(port) if port.isdigit() else None))
    if stats_section and stats_bind and not view.stats_url:
        view.stats_url = _stats_url(stats_bind, stats_uri, node_address)
    view.backends = [b for b in view.backends if b.servers]
    return view


def _stats_url(bind: str, uri: str, node_address: str) -> str:
    host, _, port = bind.split(",")[0].rpartition(":")
    host = host if host and host not in ("*", "0.0.0.0", "::") else node_address
    return f"http://{host}:{port}{uri if uri.startswith('/') else '/' + uri}"


def read_balancer(run: Runner, node: NodeView, timeout: float) -> BalancerView:
    path = haproxy_config_path(node)
    try:
        text = run(node.address, f"cat {shlex.quote(path)}", timeout)
    except Exception as error:  # noqa: BLE001
        return BalancerView(node.address, path,
                            problem=f"HAProxy's configuration {path} on {node.address} could "
                                    f"not be read: {_short(error)}")
    view = parse_haproxy(text, node.address)
    view.config = path
    return view


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__


def logs_command(candidates: list[str]) -> str:
    """Prints each candidate (a path or a glob) that names a readable file on the node."""
    tests = " ".join(candidates)
    return (f"for f in {tests}; do [ -r \"$f\" ] && echo \"$f\"; done; true"
            if candidates else "true")


def read_logs(run: Runner, address: str, candidates: list[str], timeout: float) -> set[str]:
    """The candidates found on the node: each glob counts as found when a file matches."""
    import fnmatch

    try:
        found = run(address, logs_command(candidates), timeout).split()
    except Exception:  # noqa: BLE001 - no logs section is a note, not a failure
        return set()
    return {c for c in candidates if any(fnmatch.fnmatchcase(f, c) for f in found)}

"""The load balancer in front of the APIs: what the target says of it, and what it sees.

The target's section (one for the steady-state check and for rolling changes)::

    load_balancer:
      type: haproxy                 # the only type so far
      node: lb                      # a node of the target's `nodes`, reached over SSH
      admin_socket: /run/haproxy/admin.sock   # HAProxy's stats socket on that node
      stats_url: http://lb:8404/    # optional: the stats page, read when there is no socket
      backends: {nova-api: compute} # optional: a service's backend when not named after it

HAProxy is asked as an operator would: ``show stat`` sent to its admin socket on the LB
node over SSH (``socat``, else ``python3``, on the node), or the stats page's CSV export.
The answers are parsed into one `Server` per backend server; `problems` says which are
not in rotation. This is the one reader: the steady-state check (Cloud) and the Changes
library (which adds drain/ready/maint on top, ExtremeTesting.changes.haproxy) both use it.
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import TargetError
from .target import Target

TYPES = ("haproxy",)
KEYS = ("type", "node", "admin_socket", "stats_url", "backends")
# The servers HAProxy sends requests to: checked and up, or not checked at all.
IN_ROTATION = ("UP", "no check")
# `show servers state`: srv_admin_state bits (haproxy/include/haproxy/server-t.h).
ADMIN_BITS = {0x01: "maintenance", 0x02: "maintenance (inherited)",
              0x04: "maintenance (configuration)", 0x08: "drain",
              0x10: "drain (inherited)", 0x20: "maintenance (resolution)"}
OPERATIONAL = {0: "stopped", 1: "starting", 2: "running", 3: "stopping"}


@dataclass(frozen=True)
class LoadBalancerSpec:
    type: str
    node: str
    address: str
    admin_socket: str = ""
    stats_url: str = ""
    backends: dict[str, str] = field(default_factory=dict)  # service -> backend

    def backend(self, service: str) -> str:
        """The backend serving ``service``: ``backends`` says, else the service's name."""
        return self.backends.get(service, service)

    @property
    def label(self) -> str:
        where = self.admin_socket or self.stats_url
        return f"{self.type} on {self.node} ({where})"


@dataclass(frozen=True)
class Server:
    backend: str
    name: str
    status: str             # HAProxy's words: UP, DOWN, MAINT, DRAIN, "UP 1/2", no check...
    address: str = ""       # host:port when HAProxy says it
    check: str = ""         # the last health check's result (L7OK, L4CON, L7STS...)
    sessions: int = 0       # current sessions
    node: str = ""          # the target's node with that address or name, when known

    @property
    def in_rotation(self) -> bool:
        return self.status in IN_ROTATION

    def __str__(self) -> str:
        node = f" (node {self.node})" if self.node and self.node != self.name else ""
        check = f", last check {self.check}" if self.check else ""
        return f"backend {self.backend} server {self.name}{node} is {self.status}{check}"


def spec_from_target(target: Target) -> LoadBalancerSpec | None:
    """The target's load balancer, or None when it names none. Bad input: one line
    naming the key and the fix."""
    section = target.data.get("load_balancer")
    if not section:
        return None
    where = f"Target file {target.path}: load_balancer"
    if not isinstance(section, dict):
        raise TargetError(f"{where} must be a mapping ({', '.join(KEYS)}).")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise TargetError(f"{where} has unknown keys {', '.join(unknown)}; known: "
                          f"{', '.join(KEYS)}.")
    kind = str(section.get("type", ""))
    if kind not in TYPES:
        raise TargetError(f"{where}.type is '{kind}'; supported: {', '.join(TYPES)}.")
    node = str(section.get("node", ""))
    if not node:
        raise TargetError(f"{where}.node is missing: name the node HAProxy runs on.")
    address = str(target.node(node).get("address", ""))
    socket, url = str(section.get("admin_socket") or ""), str(section.get("stats_url") or "")
    if not socket and not url:
        raise TargetError(f"{where} needs admin_socket (HAProxy's stats socket on {node}) "
                          "or stats_url (its stats page).")
    backends = section.get("backends") or {}
    if not isinstance(backends, dict):
        raise TargetError(f"{where}.backends must be a mapping of service to backend name "
                          "(e.g. {nova-api: compute}).")
    return LoadBalancerSpec(kind, node, address, socket, url,
                            {str(k): str(v) for k, v in backends.items()})


# --- parsing HAProxy's answers -----------------------------------------------------------

def parse_stat(text: str, nodes: dict[str, Any] | None = None) -> list[Server]:
    """The servers in ``show stat`` (or the stats page's ``;csv``) output; the FRONTEND
    and BACKEND summary rows are left out."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError("not HAProxy's 'show stat' CSV (no '# pxname,svname,...' header): "
                         + (lines[0][:80] if lines else "empty answer"))
    rows = csv.DictReader(io.StringIO("\n".join([lines[0][2:], *lines[1:]])))
    servers = []
    for row in rows:
        if row.get("svname") in ("FRONTEND", "BACKEND", None):
            continue
        address = row.get("addr") or ""
        servers.append(Server(
            backend=row["pxname"], name=row["svname"], status=row.get("status") or "",
            address=address, check=row.get("check_status") or "",
            sessions=int(row.get("scur") or 0),
            node=node_of(row["svname"], address, nodes or {})))
    return servers


def parse_servers_state(text: str, nodes: dict[str, Any] | None = None) -> list[Server]:
    """The servers in ``show servers state`` output (version 1), their status in words:
    ``MAINT``/``DRAIN`` from the admin state, else ``UP``/``DOWN`` from the operational."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header = next((line for line in lines if line.startswith("# be_id")), None)
    if header is None:
        raise ValueError("not HAProxy's 'show servers state' (no '# be_id ...' header)")
    names = header[2:].split()
    servers = []
    for line in lines:
        if line.startswith("#") or line.strip() == "1":
            continue
        row = dict(zip(names, line.split(), strict=False))
        admin, operational = int(row["srv_admin_state"]), int(row["srv_op_state"])
        words = [word for bit, word in ADMIN_BITS.items() if admin & bit]
        status = ("MAINT" if any("maintenance" in w for w in words) else
                  "DRAIN" if words else "UP" if operational == 2 else "DOWN")
        address = f"{row['srv_addr']}:{row.get('srv_port', '')}".rstrip(":")
        servers.append(Server(backend=row["be_name"], name=row["srv_name"], status=status,
                              address=address, check=OPERATIONAL.get(operational, ""),
                              node=node_of(row["srv_name"], address, nodes or {})))
    return servers


def node_of(server: str, address: str, nodes: dict[str, Any]) -> str:
    """The target's node a server stands for: same address, else same name."""
    host = address.rsplit(":", 1)[0] if address else ""
    for name, node in nodes.items():
        if host and (node or {}).get("address") == host:
            return name
    return server if server in nodes else ""


def problems(servers: list[Server]) -> list[str]:
    """Every server HAProxy does not send requests to, in words; [] for full redundancy."""
    return [str(server) for server in servers if not server.in_rotation]


# --- asking HAProxy ------------------------------------------------------------------------

def socket_command(socket_path: str, command: str) -> str:
    """The shell line, run on the LB node, that sends ``command`` to the admin socket."""
    path, text = shlex.quote(socket_path), shlex.quote(command)
    script = ("import socket,sys;s=socket.socket(socket.AF_UNIX);s.settimeout(5);"
              "s.connect(sys.argv[1]);s.sendall(sys.argv[2].encode()+b'\\n');"
              "sys.stdout.write(b''.join(iter(lambda:s.recv(65536),b'')).decode())")
    return (f"if command -v socat >/dev/null; then echo {text} | socat -t 5 stdio "
            f"UNIX-CONNECT:{path}; else python3 -c {shlex.quote(script)} {path} {text}; fi")


Runner = Callable[[str, str, float], str]  # (node address, shell line, timeout) -> stdout


class HAProxy:
    """HAProxy as its operator reads it. ``run`` executes a shell line on the LB node
    (SSH by default); ``fetch`` GETs the stats page (tests fake both)."""

    def __init__(self, spec: LoadBalancerSpec, run: Runner, nodes: dict[str, Any] | None = None,
                 fetch: Callable[[str, float], str] | None = None, timeout: float = 15.0):
        self.spec, self.run, self.nodes = spec, run, nodes or {}
        self.fetch = fetch or _http_get
        self.timeout = timeout

    def command(self, text: str) -> str:
        """One admin-socket command's answer (needs ``admin_socket``)."""
        if not self.spec.admin_socket:
            raise ValueError(f"The load balancer {self.spec.label} has no admin_socket in "
                             "the target: commands need it.")
        return self.run(self.spec.address, socket_command(self.spec.admin_socket, text),
                        self.timeout)

    def servers(self) -> list[Server]:
        if self.spec.admin_socket:
            return parse_stat(self.command("show stat"), self.nodes)
        url = self.spec.stats_url.split(";")[0].rstrip("/") + "/;csv"
        return parse_stat(self.fetch(url, self.timeout), self.nodes)


def _http_get(url: str, timeout: float) -> str:
    import requests

    response = requests.get(url, timeout=timeout)
    response.raise_for_status()
    return response.text


def ssh_runner(target: Target) -> Runner:
    """Runs a shell line on a node with the target's ``ssh`` section (key login); one
    connection per call, so a node that rebooted never leaves a stale one behind."""
    ssh = target.section("ssh")
    username = str(ssh.get("username", "root"))
    port = int(ssh.get("port", 22))
    key = str(target.resolve(ssh["private_key_file"])) if ssh.get("private_key_file") else None

    def run(address: str, line: str, timeout: float) -> str:
        import paramiko

        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - lab and operator nodes are named by the target
        try:
            client.connect(address, port=port, username=username, key_filename=key,
                           timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                           allow_agent=key is None, look_for_keys=key is None)
            _, stdout, stderr = client.exec_command(line, timeout=timeout)
            out = stdout.read().decode(errors="replace")
            status = stdout.channel.recv_exit_status()
            if status != 0:
                error = stderr.read().decode(errors="replace").strip()
                raise RuntimeError(f"'{line.split(';')[0][:60]}...' on {address} exited "
                                   f"{status}: {error or out.strip()}")
            return out
        finally:
            client.close()

    return run


def from_target(target: Target) -> HAProxy | None:
    """The target's load balancer, ready to ask; None when the target names none."""
    spec = spec_from_target(target)
    if spec is None:
        return None
    return HAProxy(spec, ssh_runner(target), target.section("nodes"))

"""HAProxy's admin socket on the load balancer node, reached over SSH as an operator would.

The target's ``load_balancer`` section says where: ``{type: haproxy, node: lb,
admin_socket: /run/haproxy/admin.sock}`` (optional ``backends: {<service>: <backend>}``
when a backend is not named after its service; servers are named after their nodes).
Until every target has that section, the lab's ``lab.haproxy_socket`` is read instead
(its node: the node with the ``loadbalancer`` role).

Commands go through ``socat`` on the load balancer node. Only what draining needs:
``set server <backend>/<server> state ready|drain|maint`` and ``show stat``.
"""

from __future__ import annotations

import csv
import io
import shlex
from dataclasses import dataclass

from ..errors import TargetError
from ..target import Target
from .errors import ChangeError
from .remote import Nodes

STATES = ("ready", "drain", "maint")


@dataclass(frozen=True)
class ServerStat:
    backend: str
    server: str
    status: str  # "UP", "DOWN", "DRAIN", "MAINT", "UP 1/2", ...
    sessions: int  # current sessions (scur)

    @property
    def up(self) -> bool:
        return self.status.split(" ")[0] == "UP"


def where(target: Target) -> tuple[str, str]:
    """(load balancer node, admin socket path) from the target."""
    section = target.section("load_balancer")
    if section:
        kind = section.get("type", "haproxy")
        if kind != "haproxy":
            raise TargetError(f"Target file {target.path}: load_balancer type '{kind}' is not "
                              f"supported; only 'haproxy' is.")
        if not section.get("node") or not section.get("admin_socket"):
            raise TargetError(f"Target file {target.path}: load_balancer needs 'node' and "
                              f"'admin_socket' (the HAProxy stats socket on that node).")
        target.node(section["node"])
        return str(section["node"]), str(section["admin_socket"])
    socket_path = target.section("lab").get("haproxy_socket")
    nodes = [n for n, d in target.section("nodes").items()
             if "loadbalancer" in ((d or {}).get("roles") or [])]
    if not socket_path or not nodes:
        raise TargetError(f"Target file {target.path} names no load balancer: add "
                          f"'load_balancer: {{type: haproxy, node: <node>, admin_socket: "
                          f"<path>}}'.")
    return nodes[0], str(socket_path)


def backend_of(target: Target, service: str) -> str:
    backends = target.section("load_balancer").get("backends") or {}
    return str(backends.get(service, service))


def parse_stat(text: str) -> list[ServerStat]:
    """``show stat`` CSV (header line starts with ``# ``) to the servers' rows."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ChangeError(f"HAProxy's 'show stat' answered something else: "
                          f"{text.strip()[:200]!r}.")
    rows = csv.DictReader(io.StringIO(lines[0][2:] + "\n" + "\n".join(lines[1:])))
    return [ServerStat(row["pxname"], row["svname"], row.get("status", ""),
                       int(row.get("scur") or 0))
            for row in rows if row.get("svname") not in ("FRONTEND", "BACKEND")]


class HAProxy:
    def __init__(self, target: Target, nodes: Nodes):
        self.target = target
        self.nodes = nodes
        self.node, self.socket = where(target)

    def command(self, text: str) -> str:
        line = shlex.quote(text)
        found = self.nodes.run(self.node, f"echo {line} | socat -t 5 stdio "
                                          f"unix-connect:{shlex.quote(self.socket)}")
        return found.out.strip()

    def set_state(self, backend: str, server: str, state: str) -> None:
        if state not in STATES:
            raise ChangeError(f"Unknown server state '{state}': one of {', '.join(STATES)}.")
        answer = self.command(f"set server {backend}/{server} state {state}")
        if answer:
            raise ChangeError(f"HAProxy refused 'set server {backend}/{server} state "
                              f"{state}': {answer}. Check the backend and server names "
                              f"(Get Load Balancer Servers).")

    def servers(self) -> list[ServerStat]:
        return parse_stat(self.command("show stat"))

    def server(self, backend: str, server: str) -> ServerStat:
        for found in self.servers():
            if found.backend == backend and found.server == server:
                return found
        raise ChangeError(f"HAProxy has no server {backend}/{server}. Check the target's "
                          f"load_balancer.backends and the node name.")

"""Delete what a load left behind, found by the name prefix every load resource carries.

Workloads delete what they create; an iteration that failed half-way, a worker killed at
the end of the run, or a cloud that accepted a request during a fault can still leave a
resource. Those are found by prefix, deleted in dependency order (servers, ports, then
networks; images; users, then projects) and, for servers, waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ExtremeError

# kind -> (lister, deleter); the order is the order of deletion.
_KINDS: list[tuple[str, Callable[[Any], Any], Callable[[Any, Any], Any]]] = [
    ("server", lambda c: c.compute.servers(details=False, all_projects=False),
     lambda c, r: c.compute.delete_server(r, ignore_missing=True)),
    ("port", lambda c: c.network.ports(),
     lambda c, r: c.network.delete_port(r, ignore_missing=True)),
    ("network", lambda c: c.network.networks(),
     lambda c, r: c.network.delete_network(r, ignore_missing=True)),
    ("image", lambda c: c.image.images(),
     lambda c, r: c.image.delete_image(r, ignore_missing=True)),
    ("user", lambda c: c.identity.users(),
     lambda c, r: c.identity.delete_user(r, ignore_missing=True)),
    ("project", lambda c: c.identity.projects(),
     lambda c, r: c.identity.delete_project(r, ignore_missing=True)),
]
KINDS = tuple(kind for kind, _, _ in _KINDS)


class CleanupError(ExtremeError):
    """Some load resources could not be deleted."""


@dataclass
class CleanupReport:
    prefix: str
    deleted: dict[str, list[str]] = field(default_factory=dict)  # kind -> names
    failed: dict[str, str] = field(default_factory=dict)  # "kind name" -> error
    remaining: list[str] = field(default_factory=list)  # "kind name" still there at the end

    @property
    def clean(self) -> bool:
        return not self.failed and not self.remaining

    @property
    def count(self) -> int:
        return sum(len(names) for names in self.deleted.values())

    def describe(self) -> str:
        parts = [f"{len(v)} {k}(s)" for k, v in self.deleted.items() if v]
        text = f"Deleted {', '.join(parts) or 'nothing'} named '{self.prefix}*'."
        if self.failed:
            text += " Failed: " + "; ".join(f"{k}: {v}" for k, v in self.failed.items())
        if self.remaining:
            text += " Still there: " + ", ".join(self.remaining)
        return text


def _matching(conn: Any, lister: Callable, prefix: str) -> list[Any]:
    return [r for r in lister(conn) if (getattr(r, "name", "") or "").startswith(prefix)]


def clean_up(conn: Any, prefix: str, kinds: tuple[str, ...] = KINDS,
             wait: float = 120.0, interval: float = 1.0) -> CleanupReport:
    """Delete every resource of ``kinds`` whose name starts with ``prefix``, servers first
    (and wait for them to go, as their ports hold networks), then check nothing is left."""
    if not prefix or len(prefix) < 4:
        raise CleanupError(f"Refusing to clean up by the prefix '{prefix}': it is too short "
                           "to be a load's own (expected something like 'xload-1a2b-').")
    report = CleanupReport(prefix)
    for kind, lister, deleter in _KINDS:
        if kind not in kinds:
            continue
        found = _matching(conn, lister, prefix)
        for resource in found:
            try:
                deleter(conn, resource)
                report.deleted.setdefault(kind, []).append(resource.name)
            except Exception as error:  # noqa: BLE001 - report every failure, go on
                report.failed[f"{kind} {resource.name}"] = f"{type(error).__name__}: {error}"
        if kind == "server" and found:
            _wait_gone(conn, lister, prefix, wait, interval)
    for kind, lister, _ in _KINDS:
        if kind in kinds:
            report.remaining += [f"{kind} {r.name}" for r in _matching(conn, lister, prefix)]
    return report


def leftovers(conn: Any, prefix: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """``kind name`` of every resource still named with ``prefix`` (nothing is deleted)."""
    return [f"{kind} {r.name}" for kind, lister, _ in _KINDS if kind in kinds
            for r in _matching(conn, lister, prefix)]


def _wait_gone(conn: Any, lister: Callable, prefix: str, wait: float, interval: float) -> None:
    deadline = time.monotonic() + wait
    while _matching(conn, lister, prefix) and time.monotonic() < deadline:
        time.sleep(interval)  # polling the cloud's state, bounded by ``wait``

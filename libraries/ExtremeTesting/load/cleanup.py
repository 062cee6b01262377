"""Delete what a load left behind, found by the name prefix every load resource carries.

Workloads delete what they create; an iteration that failed half-way, a worker killed at
the end of the run, or a cloud that accepted a request during a fault can still leave a
resource. Those are found by prefix and deleted by the Cloud library's leftover clean-up
(cloud/tracking.py: dependency order, servers awaited, retried while the cloud answers
5xx) — one implementation for both libraries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..cloud import tracking
from ..errors import ExtremeError

# What the built-in workloads create, in the order of deletion (the Cloud library's
# clean-up deletes in dependency order whatever it is given).
KINDS = ("server", "port", "network", "image", "user", "project")


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


def clean_up(conn: Any, prefix: str, kinds: tuple[str, ...] = KINDS,
             wait: float = 120.0, retry_for: float = 90.0) -> CleanupReport:
    """Delete every resource of ``kinds`` whose name starts with ``prefix`` with the Cloud
    library's leftover clean-up (servers first and awaited, as their ports hold networks;
    asked again while the cloud answers 5xx), then check nothing is left."""
    if not prefix or len(prefix) < 4:
        raise CleanupError(f"Refusing to clean up by the prefix '{prefix}': it is too short "
                           "to be a load's own (expected something like 'xload-1a2b-').")
    report = CleanupReport(prefix)
    found, problems = tracking.purge(conn, prefix, timedelta(seconds=wait), kinds=kinds,
                                     volumes=False, retry_for=timedelta(seconds=retry_for))
    failed = {id(t) for t, _ in problems}
    for tracked in found:
        if id(tracked) not in failed:
            report.deleted.setdefault(tracked.kind, []).append(tracked.name)
    report.failed = {f"{t.kind} {t.name}": problem for t, problem in problems}
    report.remaining = leftovers(conn, prefix, kinds)
    return report


def leftovers(conn: Any, prefix: str, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """``kind name`` of every resource still named with ``prefix`` (nothing is deleted)."""
    return [f"{t.kind} {t.name}" for t in tracking.find_leftovers(
        conn, prefix, volumes=False, kinds=kinds, retry_for=timedelta(0))]

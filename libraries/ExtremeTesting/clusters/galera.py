"""Galera (MariaDB) as its operator reads it: status variables, grastate.dat and the
position ``--wsrep-recover`` finds; which member is healthy, which to bootstrap from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a member of a whole, healthy cluster reports (besides the cluster's size).
EXPECTED = (("wsrep_cluster_status", "Primary"), ("wsrep_local_state_comment", "Synced"),
            ("wsrep_ready", "ON"), ("wsrep_connected", "ON"))
STATUS_SQL = "SHOW GLOBAL STATUS LIKE 'wsrep_%'"
GRASTATE = "grastate.dat"
_RECOVERED = re.compile(r"WSREP: Recovered position:?\s+([0-9a-f-]{36}):(-?\d+)")


def parse_status(text: str) -> dict[str, str]:
    """``mysql -N -B -e "SHOW GLOBAL STATUS LIKE 'wsrep_%'"``: one tab-separated name and
    value a line (a value may be empty)."""
    found = {}
    for line in text.splitlines():
        name, sep, value = line.partition("\t")
        if sep and name.strip():
            found[name.strip().lower()] = value.strip()
    return found


def member_problems(status: dict[str, str], size: int) -> list[str]:
    """What keeps this member from being a Synced member of a whole Primary cluster of
    ``size`` members, one ``name=value, expected X`` each; [] when it is."""
    if not status:
        return ["reports no wsrep status variables: is it a Galera member (wsrep_on)?"]
    problems = [f"{name}={status.get(name, 'absent')}, expected {wanted}"
                for name, wanted in EXPECTED if status.get(name, "") != wanted]
    if status.get("wsrep_cluster_size") != str(size):
        problems.append(f"wsrep_cluster_size={status.get('wsrep_cluster_size', 'absent')}, "
                        f"expected {size}")
    return problems


def split_brain(statuses: dict[str, dict[str, str]]) -> str:
    """Members of one cluster that report different cluster state UUIDs while Primary
    (two components that each think they are the cluster); "" when there are none."""
    primary = {m: s.get("wsrep_cluster_state_uuid", "") for m, s in statuses.items()
               if s.get("wsrep_cluster_status") == "Primary"}
    if len(set(primary.values())) <= 1:
        return ""
    return "Primary members disagree on wsrep_cluster_state_uuid: " + ", ".join(
        f"{m}={u or 'absent'}" for m, u in sorted(primary.items()))


@dataclass(frozen=True)
class SavedState:
    """A member's grastate.dat (and, when its seqno is -1, what --wsrep-recover found)."""

    uuid: str
    seqno: int
    safe_to_bootstrap: bool
    recovered: bool = False  # seqno found by --wsrep-recover

    def __str__(self) -> str:
        how = " (--wsrep-recover)" if self.recovered else ""
        return (f"seqno {self.seqno}{how}, safe_to_bootstrap "
                f"{1 if self.safe_to_bootstrap else 0}")


def parse_grastate(text: str) -> SavedState:
    """grastate.dat: ``uuid:``, ``seqno:``, ``safe_to_bootstrap:`` (comments skipped).
    A missing or unreadable seqno counts as -1 (unknown: recover the position)."""
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.lstrip().startswith("#"):
            fields[name.strip()] = value.strip()
    try:
        seqno = int(fields.get("seqno", "-1"))
    except ValueError:
        seqno = -1
    return SavedState(fields.get("uuid", ""), seqno, fields.get("safe_to_bootstrap") == "1")


def parse_recovered(log: str) -> tuple[str, int] | None:
    """The position in ``mariadbd --wsrep-recover``'s log ("WSREP: Recovered position:
    <uuid>:<seqno>"), the last one when there are several; None without one."""
    found = _RECOVERED.findall(log)
    return (found[-1][0], int(found[-1][1])) if found else None


def bootstrap_member(states: dict[str, SavedState], members: list[str]) -> tuple[str, str]:
    """The member to bootstrap a stopped cluster from, and why, as the runbook says: the
    one whose grastate.dat says ``safe_to_bootstrap: 1`` (the last to stop cleanly), else
    the highest seqno (recovered with --wsrep-recover where grastate.dat has -1); on a
    tie the first in ``members`` order. Raises ValueError when no position is known."""
    safe = [m for m in members if m in states and states[m].safe_to_bootstrap]
    if safe:
        return safe[0], f"{safe[0]} has safe_to_bootstrap: 1 ({states[safe[0]]})"
    known = [m for m in members if m in states and states[m].seqno >= 0]
    if not known:
        raise ValueError("no member knows its position (seqno -1 everywhere, and "
                         "--wsrep-recover found none): choose the member by hand")
    best = max(known, key=lambda m: (states[m].seqno, -members.index(m)))
    others = ", ".join(f"{m} {states[m].seqno}" for m in members if m in states and m != best)
    return best, f"{best} has the highest seqno {states[best].seqno} (others: {others})"

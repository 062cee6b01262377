"""Request-loss accounting: what the monitor's writes should have left, against what the
cloud holds.

Every create a write probe sends is recorded as a :class:`Write`. After the fault (and a
settling time) :func:`reconcile` compares the records with the resources the cloud lists
under the run's name prefix. The listing is a plain function, so the accounting is tested
with fakes and works for any resource type.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

TRANSITIONAL = ("BUILD", "BUILDING", "PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE",
                "SAVING", "QUEUED", "IMPORTING", "DELETING", "RESIZE")
BROKEN = ("ERROR", "ERROR_DELETING", "KILLED")


@dataclass
class Write:
    """One create sent by a write probe, and what became of it."""

    name: str  # unique per create: run prefix + probe + sequence
    probe: str
    sent: float  # monotonic
    accepted: bool = False  # the cloud answered 2xx with an id
    resource_id: str = ""
    status: int | None = None
    error: str = ""
    delete_sent: bool = False
    deleted: bool = False  # the monitor's delete got 2xx
    missing_at_delete: bool = False  # the monitor's delete got 404: it had vanished

    @property
    def should_exist(self) -> bool:
        return self.accepted and not self.delete_sent


@dataclass
class Held:
    """A resource the cloud lists under the run prefix."""

    name: str
    resource_id: str
    status: str = ""


@dataclass
class Reconciliation:
    checked: int = 0  # creates accounted for
    accepted: int = 0
    lost: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    non_recoverable: list[dict] = field(default_factory=list)
    unconfirmed: list[dict] = field(default_factory=list)  # failed creates that took effect
    error: str = ""  # why the cloud could not be listed
    settled_after: float | None = None  # seconds the cloud took to leave transitional states

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.non_recoverable or self.error)

    def as_dict(self) -> dict:
        found = asdict(self)
        found["clean"] = self.clean
        return found


class WriteLedger:
    """Thread-safe record of a run's creates, bounded: old settled records are summarised."""

    def __init__(self, cap: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._writes: dict[str, Write] = {}
        self._cap = cap
        self.forgotten = 0  # deleted-and-confirmed records dropped to bound memory

    def add(self, write: Write) -> None:
        with self._lock:
            self._writes[write.name] = write
            if len(self._writes) > self._cap:
                for name in [n for n, w in self._writes.items() if w.deleted][:self._cap // 10]:
                    del self._writes[name]
                    self.forgotten += 1

    def update(self, name: str, **changes) -> None:
        with self._lock:
            write = self._writes.get(name)
            if write is not None:
                for key, value in changes.items():
                    setattr(write, key, value)

    def writes(self) -> list[Write]:
        with self._lock:
            return [Write(**asdict(w)) for w in self._writes.values()]


def reconcile(writes: list[Write], held: list[Held],
              ok: Callable[[str], bool] | None = None) -> Reconciliation:
    """Lost, duplicated, non-recoverable and unconfirmed writes.

    - lost: accepted, never deleted by the monitor, yet absent; or the monitor's delete
      found it already gone (404);
    - duplicate: a name the monitor created once is held more than once (or is still held
      after the monitor deleted it);
    - non-recoverable: held in a transitional or error state (``ok(status)`` is False);
    - unconfirmed: a create that failed or timed out, yet the resource exists (not a loss,
      but a client would have retried and made a duplicate).
    """
    ok = ok or status_ok
    count = Counter(h.name for h in held)
    by_name: dict[str, list[Held]] = {}
    for item in held:
        by_name.setdefault(item.name, []).append(item)
    result = Reconciliation(checked=len(writes), accepted=sum(w.accepted for w in writes))
    for write in writes:
        present = count.get(write.name, 0)
        entry = {"name": write.name, "probe": write.probe, "id": write.resource_id,
                 "held": present}
        if write.missing_at_delete:
            result.lost.append({**entry, "why": "already gone when the monitor deleted it"})
        elif write.should_exist and present == 0:
            result.lost.append({**entry, "why": "accepted, never deleted, not held"})
        expected = 1 if write.should_exist else 0
        if write.accepted and write.deleted and present:
            result.duplicates.append({**entry, "why": "still held after the monitor deleted it"})
        elif present > max(expected, 1):
            result.duplicates.append({**entry, "why": f"held {present} times"})
        elif not write.accepted and present and not write.delete_sent:
            result.unconfirmed.append({**entry, "why": write.error or "create failed"})
    known = {w.name for w in writes}
    for name, items in by_name.items():
        if name not in known and len(items) > 1:
            result.duplicates.append({"name": name, "probe": "", "id": items[0].resource_id,
                                      "held": len(items), "why": f"held {len(items)} times"})
        for item in items:
            if not ok(item.status):
                result.non_recoverable.append({"name": name, "id": item.resource_id,
                                               "status": item.status})
    return result


def status_ok(status: str) -> bool:
    upper = (status or "").upper()
    return upper not in BROKEN and upper not in TRANSITIONAL and not upper.startswith("PENDING")


def settle_and_reconcile(writes: Callable[[], list[Write]], lister: Callable[[], list[Held]],
                         settle: float, poll: float = 1.0,
                         ok: Callable[[str], bool] | None = None) -> Reconciliation:
    """Reconcile, polling the cloud until nothing is transitional or ``settle`` s passed."""
    ok = ok or status_ok
    started = time.monotonic()
    deadline = started + max(0.0, settle)
    while True:
        try:
            held = lister()
            error = ""
        except Exception as failure:  # noqa: BLE001 - the cloud may still be down: report it
            held, error = [], f"could not list the cloud's resources: {failure}"
        settled = not error and all(ok(h.status) for h in held)
        if settled or time.monotonic() >= deadline:
            break
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))  # poll interval
    result = reconcile(writes(), held, ok) if not error else Reconciliation(
        checked=len(writes()), error=error)
    result.settled_after = round(time.monotonic() - started, 3) if settled else None
    return result

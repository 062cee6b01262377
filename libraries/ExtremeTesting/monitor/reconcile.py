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
    # Just before its delete the monitor GETs the resource: True (it was there), False
    # (already gone), None (not asked, or no clear answer). A 404 to a DELETE sent while
    # the resource was there means an earlier attempt of that DELETE had deleted it.
    seen_before_delete: bool | None = None
    create_request_id: str = ""  # the service's request id of the create's answer
    delete_request_id: str = ""  # ... and of the delete's

    @property
    def should_exist(self) -> bool:
        return self.accepted and not self.delete_sent

    @property
    def request_ids(self) -> str:
        found = [f"{what} {rid}" for what, rid in (("create", self.create_request_id),
                                                  ("delete", self.delete_request_id)) if rid]
        return ", ".join(found) or "no request id"


@dataclass
class Held:
    """A resource the cloud lists under the run prefix."""

    name: str
    resource_id: str
    status: str = ""


# The kinds of what went wrong with a write, each its own figure and verdict: the key in
# a reconciliation, and the words an operator reads.
KINDS = {"lost": "lost", "duplicates": "duplicated", "deleted_twice": "deleted twice",
         "non_recoverable": "stuck"}


@dataclass
class Reconciliation:
    checked: int = 0  # creates accounted for
    accepted: int = 0
    # accepted, then gone without a delete of ours
    lost: list[dict] = field(default_factory=list)
    # two resources for one request of ours
    duplicates: list[dict] = field(default_factory=list)
    # our DELETE answered 404 while the resource was there just before it: an earlier
    # attempt of that DELETE (re-sent on the way) had deleted it
    deleted_twice: list[dict] = field(default_factory=list)
    # stuck: held in a transitional or error state after the settling time
    non_recoverable: list[dict] = field(default_factory=list)
    unconfirmed: list[dict] = field(default_factory=list)  # failed creates that took effect
    error: str = ""  # why the cloud could not be listed
    settled_after: float | None = None  # seconds the cloud took to leave transitional states

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.deleted_twice
                    or self.non_recoverable or self.error)

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
              ok: Callable[[str], bool] | None = None,
              origin: float | None = None) -> Reconciliation:
    """Lost, duplicated, deleted-twice, stuck and unconfirmed writes.

    - lost: accepted, then gone without a delete of ours: never deleted yet absent, or our
      delete answered 404 and the resource was not there just before it (or that is not
      known);
    - duplicated: two resources for one request of ours: a name the monitor created once
      held more than once, or held under another id after our delete of ours succeeded;
    - deleted twice: our delete answered 404 although the resource was there just before
      it: an earlier attempt of the same delete had deleted it (re-sent by a proxy or load
      balancer, or retried by the service itself after its database connection dropped,
      as neutron-server did in the lab's LAB-DB-3). Nothing was lost;
    - stuck (``non_recoverable``): held in a transitional or error state (``ok(status)``
      is False), or still held under our id after our delete was accepted;
    - unconfirmed: a create that failed or timed out, yet the resource exists (not a loss,
      but a client would have retried and made a duplicate).

    Each entry names the write, its resource id and the request ids of its create and
    delete, so the service's logs can be searched. With ``origin`` (the monitor's
    monotonic time 0) each of our entries also says when its create was sent
    (``sent_t``, seconds after ``origin``): a create that timed out has no request id, and
    its send time is what finds it in an access log.
    """
    ok = ok or status_ok
    by_name: dict[str, list[Held]] = {}
    for item in held:
        by_name.setdefault(item.name, []).append(item)
    result = Reconciliation(checked=len(writes), accepted=sum(w.accepted for w in writes))
    stuck: dict[str, str] = {}  # resource id -> why, beyond its state
    for write in writes:
        items = by_name.get(write.name, [])
        present = len(items)
        entry = {"name": write.name, "probe": write.probe, "id": write.resource_id,
                 "held": present, "request_ids": write.request_ids}
        if origin is not None:
            entry["sent_t"] = round(write.sent - origin, 3)
        if write.missing_at_delete and write.seen_before_delete:
            result.deleted_twice.append({**entry, "why": (
                "our DELETE answered 404 although the resource was there just before it: "
                "an earlier attempt of that DELETE had deleted it (re-sent by a proxy, or "
                "retried by the service itself)")})
        elif write.missing_at_delete:
            before = ("not there just before our delete" if write.seen_before_delete is False
                      else "whether it was there before our delete is not known")
            result.lost.append({**entry, "why": f"already gone when the monitor deleted it "
                                                f"({before})"})
        elif write.should_exist and present == 0:
            result.lost.append({**entry, "why": "accepted, never deleted, not held"})
        expected = 1 if write.should_exist else 0
        others = [i for i in items if i.resource_id != write.resource_id]
        if write.accepted and write.deleted and others:
            result.duplicates.append({**entry, "id": others[0].resource_id, "why": (
                f"held under another id after our delete of {write.resource_id}: one "
                f"request made {present + 1}")})
        elif write.accepted and write.deleted and present:
            stuck[write.resource_id] = "still held after our delete was accepted"
        elif present > max(expected, 1):
            result.duplicates.append({**entry, "why": f"held {present} times"})
        elif not write.accepted and present and not write.delete_sent:
            result.unconfirmed.append({**entry, "why": write.error or "create failed"})
    known = {w.name: w for w in writes}
    for name, items in by_name.items():
        if name not in known and len(items) > 1:
            result.duplicates.append({"name": name, "probe": "", "id": items[0].resource_id,
                                      "held": len(items), "request_ids": "not ours",
                                      "why": f"held {len(items)} times"})
        for item in items:
            if not ok(item.status) or item.resource_id in stuck:
                why = stuck.get(item.resource_id) or f"left in state {item.status}"
                result.non_recoverable.append({
                    "name": name, "id": item.resource_id, "status": item.status,
                    "why": why, "request_ids": known[name].request_ids if name in known
                    else "not ours"})
    return result


def status_ok(status: str) -> bool:
    upper = (status or "").upper()
    return upper not in BROKEN and upper not in TRANSITIONAL and not upper.startswith("PENDING")


def settle_and_reconcile(writes: Callable[[], list[Write]], lister: Callable[[], list[Held]],
                         settle: float, poll: float = 1.0,
                         ok: Callable[[str], bool] | None = None,
                         origin: float | None = None) -> Reconciliation:
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
    result = reconcile(writes(), held, ok, origin) if not error else Reconciliation(
        checked=len(writes()), error=error)
    result.settled_after = round(time.monotonic() - started, 3) if settled else None
    return result

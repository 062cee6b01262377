"""What the library created, in which Robot scope, and how to delete it again.

Every resource the library creates is recorded here with the scope (suite or test) that
was running. When that scope ends the library listener deletes what it recorded, in
dependency order (servers before the ports and networks they use, users before their
projects), whatever the outcome of the test. Leftovers of earlier runs are found by name
prefix and purged with the same deleters.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .apierrors import CloudError, CloudTimeout, describe
from .polling import seconds, wait_until

TAG = "extreme-testing"
BASE_PREFIX = "xt-"

# Deletion order: what uses a resource goes before it (a floating IP before the router
# that routes it, the router's interfaces before their subnets, a security group once no
# server's port uses it).
KINDS = ("server", "volume", "floating_ip", "router", "port", "subnet", "network",
         "security_group", "image", "keypair", "flavor", "user", "project")
# A router's ports that are its interfaces (removed before the router is deleted); its
# gateway goes with it.
ROUTER_INTERFACES = ("network:router_interface", "network:ha_router_replicated_interface",
                     "network:router_interface_distributed")
# How long a clean-up keeps asking while the cloud answers 5xx or times out.
RETRY_FOR = timedelta(seconds=90)
# Kinds whose deletion is asynchronous: wait until they are gone before deleting the rest.
ASYNC_KINDS = ("server", "volume")


class CleanupLevel(enum.Enum):
    """When the resources a test creates are deleted.

    | =Level= | =Deleted when= |
    | TEST    | the test that created them ends (created in a suite setup: that suite ends) |
    | SUITE   | the suite that created them ends |
    | MANUAL  | never automatically: `Delete Tracked Resources` or `Purge Leftovers` |
    """

    TEST = "test"
    SUITE = "suite"
    MANUAL = "manual"


def new_run_id() -> str:
    return time.strftime("%H%M%S") + secrets.token_hex(2)


@dataclass
class Tracked:
    kind: str
    id: str
    name: str
    scope: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.id})"


@dataclass
class Scope:
    kind: str  # "suite", "test" or "run"
    name: str
    resources: list[Tracked] = field(default_factory=list)


class Tracker:
    def __init__(self, level: CleanupLevel = CleanupLevel.TEST):
        self.level = level
        self.scopes: list[Scope] = [Scope("run", "run")]
        self.manual: list[Tracked] = []

    def start(self, kind: str, name: str) -> None:
        self.scopes.append(Scope(kind, name))

    def end(self, kind: str) -> list[Tracked]:
        """Close the innermost scope of *kind*; what it holds is due for deletion."""
        for index in range(len(self.scopes) - 1, 0, -1):
            if self.scopes[index].kind == kind:
                scope = self.scopes.pop(index)
                return scope.resources
        return []

    def _target_scope(self) -> Scope:
        if self.level is CleanupLevel.SUITE:
            for scope in reversed(self.scopes):
                if scope.kind in ("suite", "run"):
                    return scope
        return self.scopes[-1]

    def add(self, kind: str, resource_id: str, name: str, in_suite: bool = False) -> Tracked:
        """Track a resource in the current scope (the suite's with ``in_suite``: made once
        for every test of a suite, even when a test made it)."""
        if kind not in KINDS:
            raise ValueError(f"Unknown resource kind '{kind}'; known: {', '.join(KINDS)}.")
        if self.level is CleanupLevel.MANUAL:
            tracked = Tracked(kind, resource_id, name, "manual")
            self.manual.append(tracked)
            return tracked
        scope = self.suite_scope() if in_suite else self._target_scope()
        tracked = Tracked(kind, resource_id, name, f"{scope.kind} {scope.name}")
        scope.resources.append(tracked)
        return tracked

    def suite_scope(self) -> Scope:
        """The innermost suite scope (the run's outside any suite)."""
        for scope in reversed(self.scopes):
            if scope.kind in ("suite", "run"):
                return scope
        return self.scopes[0]

    def adopt(self, resources: Iterable[Tracked]) -> None:
        """Hand resources (that could not be deleted) to the enclosing scope."""
        self.scopes[-1].resources.extend(resources)

    def forget(self, resource_id: str) -> None:
        for holder in [*(s.resources for s in self.scopes), self.manual]:
            holder[:] = [t for t in holder if t.id != resource_id]

    def all(self) -> list[Tracked]:
        return [t for s in self.scopes for t in s.resources] + list(self.manual)

    def take_all(self) -> list[Tracked]:
        everything = self.all()
        for scope in self.scopes:
            scope.resources.clear()
        self.manual.clear()
        return everything


# --- deleting -------------------------------------------------------------------------

def delete_router(conn: Any, router_id: str) -> None:
    """A router with its interfaces removed first (Neutron refuses to delete a router
    that still has one); a router already gone counts as deleted."""
    if conn.network.find_router(router_id, ignore_missing=True) is None:
        return
    for port in conn.network.ports(device_id=router_id):
        if getattr(port, "device_owner", None) in ROUTER_INTERFACES:
            try:
                conn.network.remove_interface_from_router(router_id, None, port.id)
            except Exception as error:  # noqa: BLE001 - gone meanwhile is fine
                if getattr(error, "status_code", None) != 404:
                    raise
    conn.network.delete_router(router_id, ignore_missing=True)


def _deleters(conn: Any) -> dict[str, Callable[[str], Any]]:
    return {
        "server": lambda i: conn.compute.delete_server(i, ignore_missing=True),
        "volume": lambda i: conn.block_storage.delete_volume(i, ignore_missing=True),
        "floating_ip": lambda i: conn.network.delete_ip(i, ignore_missing=True),
        "router": lambda i: delete_router(conn, i),
        "security_group": lambda i: conn.network.delete_security_group(
            i, ignore_missing=True),
        "port": lambda i: conn.network.delete_port(i, ignore_missing=True),
        "subnet": lambda i: conn.network.delete_subnet(i, ignore_missing=True),
        "network": lambda i: conn.network.delete_network(i, ignore_missing=True),
        "image": lambda i: conn.image.delete_image(i, ignore_missing=True),
        "keypair": lambda i: conn.compute.delete_keypair(i, ignore_missing=True),
        "flavor": lambda i: conn.compute.delete_flavor(i, ignore_missing=True),
        "user": lambda i: conn.identity.delete_user(i, ignore_missing=True),
        "project": lambda i: conn.identity.delete_project(i, ignore_missing=True),
    }


def _finders(conn: Any) -> dict[str, Callable[[str], Any]]:
    return {
        "server": lambda i: conn.compute.find_server(i, ignore_missing=True),
        "volume": lambda i: conn.block_storage.find_volume(i, ignore_missing=True),
    }


def delete(conn: Any, resources: Iterable[Tracked], timeout: timedelta,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> list[tuple[Tracked, str]]:
    """Delete *resources* in dependency order; return (resource, problem) for failures.

    Servers and volumes are awaited until gone before what they use is deleted. A
    resource already gone counts as deleted.
    """
    return [(t, problem) for t, problem, _ in _delete_once(conn, resources, timeout, sleep,
                                                         clock)]


def _delete_once(conn: Any, resources: Iterable[Tracked], timeout: timedelta,
                 sleep: Callable[[float], None], clock: Callable[[], float]
                 ) -> list[tuple[Tracked, str, bool]]:
    """One pass of :func:`delete`: (resource, problem, worth retrying) for failures."""
    deleters = _deleters(conn)
    finders = _finders(conn)
    by_kind: dict[str, list[Tracked]] = {kind: [] for kind in KINDS}
    for tracked in resources:
        by_kind[tracked.kind].append(tracked)
    problems: list[tuple[Tracked, str, bool]] = []
    for kind in KINDS:
        asked = []
        for tracked in by_kind[kind]:
            try:
                deleters[kind](tracked.id)
                asked.append(tracked)
            except Exception as error:  # noqa: BLE001 - every failure is reported
                problems.append((tracked, _problem(error, f"Deleting {tracked}"),
                                 transient(error)))
        if kind in ASYNC_KINDS and asked:
            pending = list(asked)

            def gone(pending: list[Tracked] = pending, kind: str = kind
                     ) -> tuple[bool, list[str]]:
                pending[:] = [t for t in pending if finders[kind](t.id) is not None]
                return not pending, [str(t) for t in pending]
            try:
                wait_until(gone, timeout, f"every deleted {kind} is gone", sleep=sleep,
                           clock=clock)
            except Exception as error:  # noqa: BLE001 - still there: asked again next pass
                problems.extend((t, _problem(error, f"Waiting for {t} to go"), True)
                                for t in pending)
    return problems


def transient(error: BaseException) -> bool:
    """Worth asking again: the API answered 5xx, timed out or could not be reached."""
    status = getattr(error, "status_code", None) or getattr(
        getattr(error, "response", None), "status_code", None)
    if isinstance(status, int):
        return status >= 500
    if isinstance(error, (TimeoutError, ConnectionError, CloudTimeout)):
        return True
    name = type(error).__name__
    return any(word in name for word in ("Timeout", "ConnectFailure", "ConnectionError",
                                         "ServiceUnavailable", "GatewayTimeout"))


def clean_up(conn: Any, resources: Iterable[Tracked], timeout: timedelta,
             retry_for: timedelta = RETRY_FOR, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> list[tuple[Tracked, str]]:
    """:func:`delete`, asked again while the cloud answers 5xx or times out (a teardown
    right after a fault meets a control plane still coming back), until ``retry_for``
    has passed. Returns what is still left, each with its last problem."""
    deadline = clock() + seconds(retry_for)
    pending = list(resources)
    delay = 1.0
    while True:
        problems = _delete_once(conn, pending, timeout, sleep, clock)
        if not problems or not any(worth for _, _, worth in problems) \
                or clock() + delay > deadline:
            return [(t, problem) for t, problem, _ in problems]
        sleep(delay)  # the cloud answered 5xx or timed out: ask again, bounded by deadline
        delay = min(delay * 2, 10.0)
        pending = [t for t, _, _ in problems]


def _listed(lister: Callable[[], Iterable[Any]], what: str, retry_for: timedelta,
            sleep: Callable[[float], None], clock: Callable[[], float]) -> list[Any]:
    """A listing, asked again while the API answers 5xx or times out (bounded)."""
    deadline = clock() + seconds(retry_for)
    delay = 1.0
    while True:
        try:
            return list(lister())
        except Exception as error:  # noqa: BLE001
            if not transient(error) or clock() + delay > deadline:
                raise describe(error, what) from None
        sleep(delay)
        delay = min(delay * 2, 10.0)


def purge(conn: Any, prefix: str, timeout: timedelta, kinds: Iterable[str] | None = None,
          volumes: bool = True, exclude_prefix: str | None = None,
          older_than: timedelta = timedelta(0), retry_for: timedelta = RETRY_FOR,
          sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.monotonic
          ) -> tuple[list[Tracked], list[tuple[Tracked, str]]]:
    """Delete every resource named ``prefix*`` (whatever its state: a server stuck in
    BUILD too); returns (what was found, what could not be deleted with its problem).
    The one leftover clean-up: the Cloud library's `Purge Leftovers` and the Load
    library's clean-up both use it."""
    found = find_leftovers(conn, prefix, exclude_prefix, older_than, volumes, kinds=kinds,
                           retry_for=retry_for, sleep=sleep, clock=clock)
    return found, clean_up(conn, found, timeout, retry_for, sleep, clock)


def _problem(error: Exception, action: str) -> str:
    try:
        return str(describe(error, action))
    except Exception:  # noqa: BLE001 - not an SDK error: still report it
        return f"{action} failed: {type(error).__name__}: {error}"


# --- finding leftovers ----------------------------------------------------------------

def _listers(conn: Any, volumes: bool) -> dict[str, Callable[[], Iterable[Any]]]:
    listers: dict[str, Callable[[], Iterable[Any]]] = {
        "server": lambda: conn.compute.servers(all_projects=True),
        "floating_ip": lambda: conn.network.ips(),
        "router": lambda: conn.network.routers(),
        "security_group": lambda: conn.network.security_groups(),
        "port": lambda: conn.network.ports(),
        "subnet": lambda: conn.network.subnets(),
        "network": lambda: conn.network.networks(),
        "image": lambda: conn.image.images(),
        "keypair": lambda: conn.compute.keypairs(),
        "flavor": lambda: conn.compute.flavors(is_public=None),
        "user": lambda: conn.identity.users(),
        "project": lambda: conn.identity.projects(),
    }
    if volumes:
        listers["volume"] = lambda: conn.block_storage.volumes(all_projects=True)
    return listers


def _created(resource: Any) -> datetime | None:
    value = getattr(resource, "created_at", None)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def find_leftovers(conn: Any, prefix: str = BASE_PREFIX, exclude_prefix: str | None = None,
                   older_than: timedelta = timedelta(0), volumes: bool = True,
                   now: datetime | None = None, kinds: Iterable[str] | None = None,
                   retry_for: timedelta = RETRY_FOR,
                   sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic) -> list[Tracked]:
    """Resources whose name starts with *prefix* (but not *exclude_prefix*), of *kinds*
    (default: all), whatever their state. A listing answered 5xx or timed out is asked
    again until *retry_for* has passed.

    With *older_than*, only resources created at least that long ago; resources whose
    API gives no creation time (flavors, users, projects) then are left alone.
    """
    if not prefix:
        raise CloudError("Refusing to look for leftovers with an empty prefix: it would "
                         "match every resource of the cloud. Give a prefix such as 'xt-'.")
    now = now or datetime.now(UTC)
    found = []
    wanted = set(kinds) if kinds is not None else set(KINDS)
    for kind, lister in _listers(conn, volumes).items():
        if kind not in wanted:
            continue
        items = _listed(lister, f"Listing {kind}s to find leftovers", retry_for, sleep,
                        clock)
        for item in items:
            # A floating IP has no name (openstacksdk gives its address): ours carry
            # theirs in the description.
            name = getattr(item, "description" if kind == "floating_ip" else "name",
                           None) or ""
            if not name.startswith(prefix):
                continue
            if exclude_prefix and name.startswith(exclude_prefix):
                continue
            if older_than > timedelta(0):
                created = _created(item)
                if created is None or now - created < older_than:
                    continue
            resource_id = name if kind == "keypair" else item.id
            found.append(Tracked(kind, resource_id, name, "leftover"))
    return sorted(found, key=lambda t: (KINDS.index(t.kind), t.name))

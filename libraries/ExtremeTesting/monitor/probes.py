"""What a probe does in one sample: the request(s), and what counts as success.

A probe's :meth:`Probe.check` sends its request(s) and returns an :class:`Outcome`; the
engine times it. A read whose answer is to be checked against its published schema leaves
that check in ``Outcome.deferred``: the engine runs it after the sample is timed and
recorded, so it never lengthens or fails a sample.

Authenticated probes share one :class:`TokenHolder`, which logs in with a password once
and only again now and then: password logins cost the server a bcrypt hash each
(shared/FINDINGS.md), so probing with them would create the outage measured.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import http
from .reconcile import Held, Write, WriteLedger


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    request_id: str = ""
    # Work on the answer that must not count in the sample's time or outcome (the schema
    # check): run after the sample is recorded, its failures ignored.
    deferred: Callable[[], None] | None = field(default=None, repr=False, compare=False)


def outcome_of(response: http.Response, ok_statuses: Callable[[int], bool] | None = None,
               ) -> Outcome:
    good = ok_statuses(response.status) if ok_statuses else 200 <= response.status < 300
    return Outcome(good, response.status, "" if good else f"HTTP {response.status}",
                   response.request_id)


def schema_check(schemas: Any, probe: Probe, url: str, response: http.Response,
                 outcome: Outcome) -> Outcome:
    """``outcome`` with the check of ``response`` against its published schema deferred
    (``schemas``: the monitor's ``schemas.watch.Watch``, None for no check)."""
    if schemas is not None and outcome.ok:
        outcome.deferred = lambda: schemas.offer(
            probe.service, "GET", url, response.status, response.headers, response.body,
            response.sent_id, response.request_id, probe.name)
    return outcome


@dataclass
class Probe:
    """A probe: a name, a kind, a rate and a per-request timeout; subclasses do the work."""

    name: str
    kind: str = "get"
    rate: float = 10.0  # samples per second
    timeout: float = 1.0  # seconds, per request
    service: str = ""  # the API's service type it exercises (identity, compute...)

    @property
    def period(self) -> float:
        return 1.0 / self.rate

    @property
    def max_in_flight(self) -> int:
        """Concurrent samples allowed: enough to keep the rate while requests time out."""
        return int(self.rate * self.sample_timeout) + 2

    @property
    def sample_timeout(self) -> float:
        return self.timeout

    # Whether check() times the exchange it judges itself (from the packet sent, not from
    # the sample's start): the engine then takes its verdict as it is. Otherwise an
    # answer that came after sample_timeout, counted from the sample's start, fails.
    times_itself: ClassVar[bool] = False

    def check(self) -> Outcome:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind, "rate": self.rate,
                "timeout": self.timeout, "service": self.service}


@dataclass
class GetProbe(Probe):
    """GET one URL; OK on a 2xx (or on anything below 400 when ``allow_redirect``)."""

    url: str = ""
    tokens: TokenHolder | None = None
    allow_redirect: bool = False
    verify: bool | str = True
    schemas: Any = field(default=None, repr=False)  # a schemas.watch.Watch: check answers

    def check(self) -> Outcome:
        headers = {}
        if self.tokens is not None:
            token = self.tokens.token()
            if token is None:
                return Outcome(False, None, f"no token: {self.tokens.last_error}")
            headers["X-Auth-Token"] = token
        try:
            response = http.request("GET", self.url, self.timeout, headers, verify=self.verify)
        except http.ProbeError as error:
            return Outcome(False, None, str(error))
        if response.status == 401 and self.tokens is not None:
            self.tokens.invalidate()
        accept = (lambda s: 200 <= s < 400) if self.allow_redirect else None
        return schema_check(self.schemas, self, self.url, response,
                            outcome_of(response, accept))

    def describe(self) -> dict:
        return {**super().describe(), "url": self.url}


@dataclass
class TokenProbe(Probe):
    """Validate the held token (GET /v3/auth/tokens with X-Subject-Token): a cheap token
    request that still needs Keystone, its database and its cache."""

    kind: str = "token"
    tokens: TokenHolder | None = None
    identity_url: str = ""  # the identity endpoint probed (default: the login's auth URL)
    verify: bool | str = True
    schemas: Any = field(default=None, repr=False)  # a schemas.watch.Watch: check answers

    def check(self) -> Outcome:
        assert self.tokens is not None
        token = self.tokens.token()
        if token is None:
            return Outcome(False, None, f"no token: {self.tokens.last_error}")
        base = self.identity_url or self.tokens.auth_url
        url = base.rstrip("/") + "/auth/tokens?nocatalog"
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        try:
            response = http.request("GET", url, self.timeout, headers, verify=self.verify)
        except http.ProbeError as error:
            return Outcome(False, None, str(error))
        if response.status in (401, 404):
            self.tokens.invalidate()
        return schema_check(self.schemas, self, url, response, outcome_of(response))

    def describe(self) -> dict:
        base = self.identity_url or (self.tokens.auth_url if self.tokens else "")
        return {**super().describe(), "url": base}


class TokenHolder:
    """One token for every authenticated probe; a password login only now and then.

    A login happens at the first use, after ``relogin`` seconds, and when a probe finds the
    token rejected; never more often than once per ``min_interval`` seconds, so a failing
    Keystone is not flooded with bcrypt work. The password and token are never logged.
    """

    def __init__(self, auth_url: str, auth_body: dict, timeout: float = 5.0,
                 relogin: float = 600.0, min_interval: float = 10.0,
                 verify: bool | str = True) -> None:
        self.auth_url = auth_url.rstrip("/")
        self._auth_body = auth_body
        self._timeout = timeout
        self._relogin = relogin
        self._min_interval = min_interval
        self._verify = verify
        self._lock = threading.Lock()
        self._token: str | None = None
        self._obtained = 0.0
        self._tried = -1e9
        self.catalog: list = []
        self.logins = 0
        self.last_error = "not logged in yet"

    def token(self) -> str | None:
        now = time.monotonic()
        if self._token is not None and now - self._obtained < self._relogin:
            return self._token
        with self._lock:
            now = time.monotonic()
            stale = self._token is None or now - self._obtained >= self._relogin
            if stale and now - self._tried >= self._min_interval:
                self._tried = now
                self._login()
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._obtained = -1e9  # re-login at the next use (rate-limited)

    def _login(self) -> None:
        self.logins += 1
        try:
            response = http.request("POST", self.auth_url + "/auth/tokens", self._timeout,
                                    body=self._auth_body, verify=self._verify)
        except http.ProbeError as error:
            self.last_error = f"login failed: {error}"
            return
        if response.status != 201 or "x-subject-token" not in response.headers:
            self.last_error = f"login failed: HTTP {response.status}"
            return
        self._token = response.headers["x-subject-token"]
        self._obtained = time.monotonic()
        self.last_error = ""
        try:
            self.catalog = response.json().get("token", {}).get("catalog", [])
        except ValueError:
            self.catalog = []


@dataclass
class WriteKind:
    """How to create, delete and list one kind of small resource over a service's API."""

    name: str  # "project", "network"
    collection: str  # URL of the collection (POST creates, GET lists)
    wrap: str  # JSON key of the resource: "project", "network"
    body: dict = field(default_factory=dict)  # extra fields of the create body
    list_key: str = ""  # JSON key of the listing: "projects", "networks"
    status_key: str = ""  # field holding the resource's state ("" when none)

    def create_body(self, name: str) -> dict:
        return {self.wrap: {"name": name, **self.body}}

    def member(self, resource_id: str) -> str:
        return f"{self.collection.rstrip('/')}/{resource_id}"


@dataclass
class WriteProbe(Probe):
    """Create a small resource named with the run prefix; delete the oldest once more than
    ``keep`` are held, so a fault finds some in the cloud to lose, and reconcile later."""

    kind: str = "write"
    write_kind: WriteKind | None = None
    tokens: TokenHolder | None = None
    prefix: str = "xt-mon-"
    keep: int = 5
    verify: bool | str = True
    ledger: WriteLedger = field(default_factory=WriteLedger)

    def __post_init__(self) -> None:
        self._seq = itertools.count(1)
        self._held: deque[Write] = deque()
        self._held_lock = threading.Lock()
        self.last_create: dict | None = None

    @property
    def sample_timeout(self) -> float:
        return 3 * self.timeout  # a create, a look before the delete and the delete

    def check(self) -> Outcome:
        assert self.write_kind is not None and self.tokens is not None
        token = self.tokens.token()
        if token is None:
            return Outcome(False, None, f"no token: {self.tokens.last_error}")
        headers = {"X-Auth-Token": token}
        name = f"{self.prefix}{self.name}-{next(self._seq)}"
        write = Write(name=name, probe=self.name, sent=time.monotonic())
        self.ledger.add(write)
        body = self.write_kind.create_body(name)
        self.last_create = {"url": self.write_kind.collection, "body": body}
        try:
            response = http.request("POST", self.write_kind.collection, self.timeout, headers,
                                    body, self.verify)
        except http.ProbeError as error:
            self.ledger.update(name, error=str(error))
            return Outcome(False, None, f"create: {error}")
        created = outcome_of(response)
        resource_id = ""
        if created.ok:
            try:
                resource_id = str(response.json()[self.write_kind.wrap]["id"])
            except (ValueError, KeyError, TypeError):
                created = Outcome(False, response.status, "create: no id in the answer",
                                  response.request_id)
        if response.status == 401:
            self.tokens.invalidate()
        self.ledger.update(name, accepted=created.ok, resource_id=resource_id,
                           status=response.status, error=created.error,
                           create_request_id=response.request_id)
        if not created.ok:
            created.error = f"create: {created.error}"
            return created
        write.accepted, write.resource_id = True, resource_id
        with self._held_lock:
            self._held.append(write)
            oldest = self._held.popleft() if len(self._held) > self.keep else None
        if oldest is None:
            return created
        return self._delete(oldest, headers, created.request_id)

    def _delete(self, write: Write, headers: dict, create_request_id: str) -> Outcome:
        assert self.write_kind is not None
        seen = self._seen(write, headers)
        self.ledger.update(write.name, delete_sent=True, seen_before_delete=seen)
        try:
            response = http.request("DELETE", self.write_kind.member(write.resource_id),
                                    self.timeout, headers, verify=self.verify)
        except http.ProbeError as error:
            return Outcome(False, None, f"delete: {error}", create_request_id)
        self.ledger.update(write.name, delete_request_id=response.request_id)
        if response.status == 404:
            self.ledger.update(write.name, missing_at_delete=True)
            why = ("deleted twice: it was there just before" if seen else
                   "resource already gone (lost)")
            return Outcome(False, 404, f"delete: {why}", response.request_id)
        outcome = outcome_of(response)
        if outcome.ok:
            self.ledger.update(write.name, deleted=True)
        else:
            outcome.error = f"delete: {outcome.error}"
        return outcome

    def _seen(self, write: Write, headers: dict) -> bool | None:
        """Whether the resource is there just before its delete: what tells a DELETE
        re-sent on the way (404 to a delete of something that was there) from a loss."""
        assert self.write_kind is not None
        try:
            response = http.request("GET", self.write_kind.member(write.resource_id),
                                    self.timeout, headers, verify=self.verify)
        except http.ProbeError:
            return None
        return {200: True, 404: False}.get(response.status)

    def held(self) -> list[Write]:
        with self._held_lock:
            return list(self._held)

    def list_held(self, timeout: float = 10.0) -> list[Held]:
        """What the cloud holds under this run's prefix (raises when it cannot tell)."""
        assert self.write_kind is not None and self.tokens is not None
        token = self.tokens.token()
        if token is None:
            raise RuntimeError(f"no token: {self.tokens.last_error}")
        response = http.request("GET", self.write_kind.collection, timeout,
                                {"X-Auth-Token": token}, verify=self.verify)
        if response.status != 200:
            raise RuntimeError(f"listing {self.write_kind.name}s answered HTTP "
                               f"{response.status}")
        items = response.json().get(self.write_kind.list_key, [])
        mine = f"{self.prefix}{self.name}-"
        return [Held(str(i.get("name", "")), str(i.get("id", "")),
                     str(i.get(self.write_kind.status_key, "")) if self.write_kind.status_key
                     else "")
                for i in items if str(i.get("name", "")).startswith(mine)]

    def delete_ids(self, ids: list[str], timeout: float = 10.0) -> list[str]:
        """Delete resources by id; return the errors (clean-up after reconciliation)."""
        assert self.write_kind is not None and self.tokens is not None
        token = self.tokens.token()
        errors = []
        for resource_id in ids:
            try:
                response = http.request("DELETE", self.write_kind.member(resource_id), timeout,
                                        {"X-Auth-Token": token or ""}, verify=self.verify)
                if response.status not in (202, 204, 404):
                    errors.append(f"{resource_id}: HTTP {response.status}")
            except http.ProbeError as error:
                errors.append(f"{resource_id}: {error}")
        return errors

    def describe(self) -> dict:
        return {**super().describe(), "resource": self.write_kind.name if self.write_kind
                else "", "url": self.write_kind.collection if self.write_kind else "",
                "keep": self.keep}


@dataclass
class CallableProbe(Probe):
    """A probe around any function returning an :class:`Outcome` (tests, custom checks)."""

    kind: str = "custom"
    function: Callable[[], Outcome] | None = None

    def check(self) -> Outcome:
        assert self.function is not None
        return self.function()

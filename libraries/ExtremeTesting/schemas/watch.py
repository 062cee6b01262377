"""Which answers get checked against their published schemas, and what was found.

A :class:`Watch` is offered answers (the monitor's probes, each openstacksdk connection of
``cloud.connection``) and checks a bounded sample of them: the first answer of each kind
(API, method, request, microversion), then at most one of that kind every
:data:`SAMPLE_EVERY` seconds. Deciding costs a dictionary lookup under a lock; a check
(decoding the body, validating it) costs about a millisecond and runs outside the timing
of the request it looks at. A watch never raises: a mismatch, or a failure of the check
itself, is recorded, and whatever offered the answer goes on as if nothing happened.

Without tempest (the ``schemas`` extra) nothing is checked and the figures say so
(``status: not checked``), counting the answers that went unchecked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import published

SAMPLE_EVERY = 60.0  # seconds between two checks of one kind, after its first
MAX_KINDS = 200  # kinds followed per watch (each is an API, method, request, microversion)
MAX_KEPT = 50  # distinct mismatches kept (kind and field); later ones are only counted
MAX_EXAMPLES = 5  # requests named per API that has no published schema
CHECKED, NOT_CHECKED = "checked", "not checked"
# The API of an answer that names none (an openstacksdk call's answer without an
# OpenStack-API-Version header: Identity, Image and Networking never send one).
UNNAMED = "unnamed"


@dataclass
class Kind:
    api: str
    method: str
    request: str  # the template: /servers/{id}
    microversion: str
    schema: str = ""
    seen: int = 0  # successful answers offered
    checked: int = 0
    mismatched: int = 0  # checked answers with at least one mismatch
    last: float = field(default=-1e18, repr=False)

    @property
    def label(self) -> str:
        return f"{self.api} {self.method} {self.request} at {self.microversion}"


@dataclass
class Mismatch:
    api: str
    method: str
    request: str
    microversion: str
    field: str
    problem: str
    schema: str
    count: int = 1  # checked answers that showed it
    first_seen: float = 0.0  # wall clock
    last_seen: float = 0.0
    our_id: str = ""  # the request ids of the first answer that showed it
    their_id: str = ""
    source: str = ""  # who saw it: the probe, or "sdk"

    @property
    def text(self) -> str:
        return (f"{self.api} {self.method} {self.request} at {self.microversion}: "
                f"{self.field}: {self.problem}")


class Watch:
    """The answers of one monitor (or of one process's API calls) checked by sample."""

    def __init__(self, every: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 available: bool | None = None) -> None:
        self.every = float(SAMPLE_EVERY if every is None else every)
        self._clock = clock
        self._lock = threading.Lock()
        self._given = available  # None: whether tempest imports, asked again at each reset
        self._resolved: dict[tuple[str, str, str, str], tuple[str, dict]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget what was seen (the next answer of each kind is checked again)."""
        with self._lock:
            self.kinds: dict[tuple[str, str, str, str], Kind] = {}
            self.mismatches: dict[tuple, Mismatch] = {}
            self.uncovered: dict[str, dict] = {}
            self.offered = 0
            self.unchecked = 0  # answers of a covered request left unchecked: no tempest
            self.dropped = 0  # mismatches counted but not kept (beyond MAX_KEPT)
            self.errors = 0
            self.last_error = ""
            self.started = time.time()
            self._available = self._given
            self._without: set[tuple[str, str, str, str]] = set()  # tempest has no schema

    @property
    def available(self) -> bool:
        if self._available is None:
            self._available = published.available()
        return self._available

    # -- offering answers -------------------------------------------------------------

    def offer(self, service: str, method: str, url: str, status: int | None,
              headers: Mapping[str, Any] | None, body: Any, our_id: str = "",
              their_id: str = "", source: str = "") -> None:
        """Looks at one answer; checks it when it is due. ``body``: bytes, text, the decoded
        JSON, or a function returning one of them (called only when the answer is checked).
        Never raises."""
        try:
            self._offer(service, method, url, status, headers, body, our_id, their_id,
                        source)
        except Exception as error:  # noqa: BLE001 - a check never fails what it looks at
            with self._lock:
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"[:300]

    def _offer(self, service: str, method: str, url: str, status: int | None,
               headers: Mapping[str, Any] | None, body: Any, our_id: str, their_id: str,
               source: str) -> None:
        if status is None or not 200 <= status < 300:
            return
        api = published.canonical(service or published.service_of(headers))
        method = method.upper()
        path = published.request_path(url)
        match = published.operation_match(api, method, path) if api in published.PACKAGES \
            else None
        if match is None:
            self._uncovered(api or UNNAMED, f"{method} {published.generic(path)}")
            return
        template = match[0]
        microversion = (published.microversion_of(headers, api)
                        or published.BASE_VERSIONS.get(api, ""))
        key = (api, method, template, microversion)
        if key in self._without:
            self._uncovered(api, f"{method} {template} at {microversion}")
            return
        with self._lock:
            self.offered += 1
            kind = self.kinds.get(key)
            if kind is None:
                if len(self.kinds) >= MAX_KINDS:
                    return
                kind = self.kinds[key] = Kind(api, method, template, microversion)
            kind.seen += 1
            if not self.available:
                self.unchecked += 1
                return
            now = self._clock()
            if now - kind.last < self.every:
                return
            kind.last = now  # taken: a concurrent answer of this kind is not checked too
        content = body() if callable(body) else body
        try:
            result = published.check(api, method, path, status, content, microversion,
                                     headers, self._resolve)
        except published.NoSchema:  # this tempest has none for it: never asked again
            with self._lock:
                self.kinds.pop(key, None)
                self.offered -= kind.seen
                self._without.add(key)
            self._uncovered(api, f"{method} {template} at {microversion}")
            return
        with self._lock:
            kind.checked += 1
            kind.schema = result.schema
            kind.mismatched += 1 if result.problems else 0
            wall = time.time()
            for where, problem in result.problems:
                found = self.mismatches.get((key, where, problem))
                if found is not None:
                    found.count += 1
                    found.last_seen = wall
                elif len(self.mismatches) < MAX_KEPT:
                    self.mismatches[(key, where, problem)] = Mismatch(
                        api, method, template, microversion, where, problem, result.schema,
                        1, wall, wall, our_id, their_id, source)
                else:
                    self.dropped += 1

    def offer_response(self, request: Any, response: Any, source: str = "sdk") -> None:
        """An answer of a ``requests`` session (an openstacksdk call): its API and
        microversion are read from its ``OpenStack-API-Version`` header. Never raises."""
        try:
            headers = getattr(response, "headers", None) or {}
            service = published.service_of(headers)
            url = str(getattr(request, "url", "") or "")
            if not service:  # no API that names no microversion has a schema: listed only
                status = getattr(response, "status_code", None)
                if status is not None and 200 <= status < 300:
                    path = published.generic(urlsplit(url).path)
                    self._uncovered(UNNAMED, f"{getattr(request, 'method', 'GET')} {path}")
                return
            self.offer(service, str(getattr(request, "method", "") or "GET"), url,
                       getattr(response, "status_code", None), headers,
                       lambda: response.content, _our_id(request),
                       str(headers.get("x-openstack-request-id")
                           or headers.get("x-compute-request-id") or ""), source)
        except Exception as error:  # noqa: BLE001 - never fails the call it looks at
            with self._lock:
                self.errors += 1
                self.last_error = f"{type(error).__name__}: {error}"[:300]

    def _uncovered(self, api: str, request: str) -> None:
        with self._lock:
            entry = self.uncovered.setdefault(api, {"api": api, "responses": 0,
                                                    "requests": []})
            entry["responses"] += 1
            if request not in entry["requests"] and len(entry["requests"]) < MAX_EXAMPLES:
                entry["requests"].append(request)

    def _resolve(self, service: str, module: str, name: str,
                 microversion: str) -> tuple[str, dict]:
        key = (service, module, name, microversion)
        if key not in self._resolved:
            self._resolved[key] = published.schema_for(service, module, name, microversion)
        return self._resolved[key]

    # -- what was found ----------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """What was checked and found, for a result and the report (JSON-ready)."""
        with self._lock:
            kinds = sorted(self.kinds.values(), key=lambda k: k.label)
            mismatches = sorted(self.mismatches.values(), key=lambda m: (m.text, m.first_seen))
            checked = self.available
            return {
                "status": CHECKED if checked else NOT_CHECKED,
                "not_checked": "" if checked else published.NOT_CHECKED,
                "source": (f"tempest {published.tempest_version() or '(version unknown)'}"
                           f", {published.PACKAGE}") if checked else "",
                "sampling": f"the first answer of each kind, then at most one every "
                            f"{self.every:g} s",
                "every_s": self.every,
                "since": self.started,
                "responses": self.offered,
                "checked": sum(k.checked for k in kinds),
                "unchecked": self.unchecked,
                "kinds": [{"api": k.api, "method": k.method, "request": k.request,
                           "microversion": k.microversion, "schema": k.schema,
                           "seen": k.seen, "checked": k.checked,
                           "mismatched": k.mismatched} for k in kinds],
                "mismatches": [asdict(m) | {"text": m.text} for m in mismatches],
                "dropped": self.dropped,
                "not_covered": [dict(e, requests=list(e["requests"]))
                                for _, e in sorted(self.uncovered.items())],
                "no_schema_published": list(published.NOT_COVERED),
                "errors": self.errors,
                "last_error": self.last_error,
            }


def _our_id(request: Any) -> str:
    headers = getattr(request, "headers", None) or {}
    value = headers.get("X-OpenStack-Request-ID") or ""
    return value.decode() if isinstance(value, bytes) else str(value)


def summary(figures: Mapping[str, Any] | None) -> str:
    """One line for a log or a report: what was checked and what did not match."""
    if not isinstance(figures, Mapping) or not figures:
        return ""
    if figures.get("status") != CHECKED:
        unchecked = figures.get("unchecked") or 0
        return (f"{figures.get('not_checked') or NOT_CHECKED}"
                + (f" ({unchecked} answer(s) of Compute/Block Storage went unchecked)"
                   if unchecked else ""))
    kinds = [k for k in figures.get("kinds") or [] if k.get("checked")]
    found = figures.get("mismatches") or []
    head = (f"{figures.get('checked', 0)} answer(s) of {len(kinds)} kind(s) checked "
            f"({figures.get('sampling', '')})")
    if not kinds:
        head = "no answer of an API with a published schema to check"
    apis = sorted({e.get("api", "") for e in figures.get("not_covered") or []})
    named = [a if a != UNNAMED else "APIs that name no microversion" for a in apis]
    rest = f"; no schema for {', '.join(named)}" if named else ""
    errors = f"; {figures['errors']} check(s) failed: {figures.get('last_error')}" \
        if figures.get("errors") else ""
    if not found:
        return f"{head}: every one matched{rest}{errors}" if kinds else head + rest + errors
    shown = "; ".join(str(m.get("text", "")) for m in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return f"{head}: {len(found)} mismatch(es): {shown}{more}{rest}{errors}"


# The API calls of this process's libraries (every openstacksdk connection made by
# cloud.connection): the Monitor's `Responses Should Match Their Schemas` of=calls judges
# them from the start of the current suite.
CALLS = Watch()

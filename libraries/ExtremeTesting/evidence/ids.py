"""Our request id on every request our libraries send.

Every request carries ``X-OpenStack-Request-ID: req-<uuid4>`` (oslo.middleware accepts it
as the *global* request id and oslo.log writes it beside the service's own id), so a
failed request can be followed into the services' logs. :func:`stamp` adds one to a
header mapping; :func:`install` makes a ``requests.Session`` (keystoneauth's, under every
openstacksdk connection) give each request a fresh one. The last id sent by each thread is
kept (:func:`last_sent`): a request that got no answer has no response to read it from.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import MutableMapping
from typing import Any

HEADER = "X-OpenStack-Request-ID"
# What oslo.middleware accepts as a global request id (anything else it ignores).
PATTERN = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_local = threading.local()
MAX_KEPT = 50  # ids kept per unit of work (a workload iteration polls: the first ones count)


def new_id() -> str:
    return f"req-{uuid.uuid4()}"


def is_ours(value: str) -> bool:
    return bool(PATTERN.match(value or ""))


def stamp(headers: MutableMapping[str, str]) -> str:
    """Gives ``headers`` our id unless the caller set a valid one; returns the id sent."""
    present = next((k for k in headers if k.lower() == HEADER.lower()), None)
    if present is not None and is_ours(str(headers[present])):
        chosen = str(headers[present])
    else:
        if present is not None:
            del headers[present]
        chosen = new_id()
        headers[HEADER] = chosen
    _local.last = chosen
    sent = getattr(_local, "sent", None)
    if sent is None:
        sent = _local.sent = []
    if len(sent) < MAX_KEPT:
        sent.append(chosen)
    return chosen


def last_sent() -> str:
    """The id of the last request this thread sent ("" when none)."""
    return getattr(_local, "last", "")


def sent_by(response: Any) -> str:
    """Our id on the request behind a ``requests.Response`` ("" when it had none)."""
    return carried_by(getattr(response, "request", None))


def carried_by(request: Any) -> str:
    """Our id on a ``requests.PreparedRequest`` ("" when it had none)."""
    headers = getattr(request, "headers", None) or {}
    value = headers.get(HEADER) or ""
    return value.decode() if isinstance(value, bytes) else str(value)


def install(session: Any, on_response: Any = None) -> bool:
    """Every request sent through ``session`` (a ``requests.Session``) carries a fresh id
    of ours; ``on_response(prepared_request, response_or_None, error_or_None)`` is called
    after each one. Idempotent; False when ``session`` is not a requests session."""
    adapters = getattr(session, "adapters", None)
    if not isinstance(adapters, MutableMapping):
        return False
    for adapter in list(adapters.values()):
        if getattr(adapter, "_extreme_ids", False):
            continue
        original = adapter.send

        def send(request: Any, *args: Any, _send: Any = original, **kwargs: Any) -> Any:
            stamp(request.headers)
            try:
                response = _send(request, *args, **kwargs)
            except Exception as error:
                if on_response is not None:
                    on_response(request, None, error)
                raise
            if on_response is not None:
                on_response(request, response, None)
            return response

        adapter.send = send
        adapter._extreme_ids = True
    return True


def forget() -> None:
    """Start a new unit of work on this thread: :func:`last_sent` is "" until it sends."""
    _local.last = ""
    _local.sent = []


def sent_since_forget() -> list[str]:
    """Every id this thread sent since :func:`forget` (the first :data:`MAX_KEPT`)."""
    return list(getattr(_local, "sent", None) or [])

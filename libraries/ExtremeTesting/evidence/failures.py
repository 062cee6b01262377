"""The failed requests of this process, each with our request id and the service's.

The HTTP layers record here (the monitor's client, every openstacksdk connection made by
``cloud.connection``): a request with no answer or a 5xx answer. The evidence keyword reads
the ones of the case that failed. Bounded: the newest :data:`CAP` are kept.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

CAP = 5000
_LOCK = threading.Lock()
_FAILED: deque[FailedRequest] = deque(maxlen=CAP)


@dataclass(frozen=True)
class FailedRequest:
    source: str  # "monitor", "sdk", ...
    method: str
    url: str  # scheme://host:port/path, never the query (it may carry names)
    our_id: str
    their_id: str = ""  # the id the service returned, "" when no answer came
    status: int | None = None
    error: str = ""
    wall: float = field(default_factory=time.time)
    other_ids: tuple[str, ...] = ()  # the other requests of the same unit of work

    @property
    def all_ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.our_id, self.their_id, *self.other_ids) if i)

    def as_dict(self) -> dict:
        return asdict(self)


def failed(status: int | None, error: str | None) -> bool:
    """What counts as a failed request here: no answer, or a server error."""
    return bool(error) or status is None or status >= 500


def record(source: str, method: str, url: str, our_id: str, their_id: str = "",
           status: int | None = None, error: str = "", wall: float | None = None,
           other_ids: tuple[str, ...] = ()) -> None:
    parts = urlsplit(url)
    clean = (f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"
             if parts.scheme else url)
    item = FailedRequest(source, method, clean, our_id, their_id, status, error[:300],
                         time.time() if wall is None else wall,
                         tuple(i for i in other_ids if i and i != our_id))
    with _LOCK:
        _FAILED.append(item)


def since(wall: float, until: float | None = None) -> list[FailedRequest]:
    with _LOCK:
        return [f for f in _FAILED if f.wall >= wall and (until is None or f.wall <= until)]


def clear() -> None:
    with _LOCK:
        _FAILED.clear()

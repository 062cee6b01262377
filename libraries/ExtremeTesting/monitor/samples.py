"""One sample per probe request, and a bounded timeline of them per probe."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

DEFAULT_SAMPLE_CAP = 50_000  # per probe: 83 min at 10/s, about 10 MB


@dataclass(slots=True)
class Sample:
    """What one probe request saw. Times are seconds: monotonic and wall clock."""

    probe: str
    seq: int
    scheduled: float  # monotonic time of the slot this sample was scheduled for
    start: float  # monotonic, just before the request was sent
    end: float  # monotonic, when the answer (or the error) came back
    wall_start: float
    wall_end: float
    ok: bool
    status: int | None = None  # HTTP status, None when no answer came
    error: str = ""  # why it failed: "HTTP 503", "timeout after 1.0 s", ...
    request_id: str = ""  # x-openstack-request-id / x-compute-request-id
    sent_id: str = ""  # our own X-OpenStack-Request-ID on the (last) request sent

    @property
    def latency(self) -> float:
        return self.end - self.start

    @property
    def lag(self) -> float:
        return self.start - self.scheduled

    def as_dict(self, origin: float = 0.0) -> dict:
        return {
            "probe": self.probe, "seq": self.seq, "t": round(self.start - origin, 6),
            "latency": round(self.latency, 6), "lag": round(self.lag, 6),
            "wall_start": self.wall_start, "wall_end": self.wall_end, "ok": self.ok,
            "status": self.status, "error": self.error, "request_id": self.request_id,
            "sent_id": self.sent_id,
        }


class ProbeTimeline:
    """The last ``cap`` samples of one probe, with counts over every sample ever taken."""

    def __init__(self, probe: str, cap: int = DEFAULT_SAMPLE_CAP) -> None:
        self.probe = probe
        self._samples: deque[Sample] = deque(maxlen=max(1, cap))
        self._lock = threading.Lock()
        self.total = 0
        self.failed = 0
        self.evicted = 0
        self.missed_slots = 0  # slots that could not be served (scheduler late, pool busy)

    def add(self, sample: Sample) -> None:
        with self._lock:
            if len(self._samples) == self._samples.maxlen:
                self.evicted += 1
            self._samples.append(sample)
            self.total += 1
            self.failed += 0 if sample.ok else 1

    def missed(self, count: int = 1) -> None:
        with self._lock:
            self.missed_slots += count

    def samples(self) -> list[Sample]:
        """The retained samples in the order they were sent."""
        with self._lock:
            found = list(self._samples)
        found.sort(key=lambda s: (s.start, s.seq))
        return found

    def since(self, start: float, disorder: float = 60.0) -> list[Sample]:
        """The retained samples sent at or after ``start`` (monotonic), in order, read from
        the newest back: cheap on a long timeline. Samples are kept in the order they
        finished, at most ``disorder`` seconds (more than any timeout) out of send order."""
        with self._lock:
            found = []
            for sample in reversed(self._samples):
                if sample.start < start - disorder:
                    break
                if sample.start >= start:
                    found.append(sample)
        found.sort(key=lambda s: (s.start, s.seq))
        return found

    def counts(self) -> dict:
        with self._lock:
            return {"samples": self.total, "failed": self.failed, "evicted": self.evicted,
                    "missed_slots": self.missed_slots}

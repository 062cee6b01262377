"""One iteration of a load workload, recorded like one sample of the availability monitor.

The monitor and the load draw on one timeline: a load sample *is* a monitor sample
(``ExtremeTesting.monitor.samples.Sample``: monotonic and wall-clock start and end, the
time it was due, ok, HTTP status, error, request id) with where it came from added
(worker, host) and whether a failure was a timeout.

Samples cross process boundaries (Locust workers write them as JSON lines), so they turn
into plain dicts and back. Monotonic clocks are only comparable on one machine: samples
from another host are placed on this host's monotonic clock through their wall-clock
times (:func:`rebase`).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..monitor.samples import Sample as MonitorSample

OK = "ok"
ERROR = "error"
TIMEOUT = "timeout"
HOST = socket.gethostname()


@dataclass(slots=True)
class Sample(MonitorSample):
    """A monitor sample (probe = the workload's name, seq = the iteration number,
    scheduled = when it was due: its start in a constant-concurrency run) and where it
    came from. Being a monitor sample, the monitor's analysis and plots take it as is."""

    outcome: str = OK  # ok | error | timeout
    source: str = "load"
    worker: int = 0
    host: str = HOST

    @property
    def duration(self) -> float:
        return self.end - self.start

    def record(self) -> dict:
        """Every field, raw (monotonic times included): one JSON line."""
        return asdict(self)

    @classmethod
    def from_record(cls, data: dict) -> Sample:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def rebase(sample: Sample, offset: float | None = None) -> Sample:
    """Place a sample from another host on this host's monotonic clock (via wall time)."""
    if sample.host == HOST:
        return sample
    if offset is None:
        offset = time.time() - time.monotonic()
    remote_offset = sample.wall_start - sample.start  # that host's wall minus monotonic
    sample.scheduled = sample.scheduled + remote_offset - offset
    sample.start, sample.end = sample.wall_start - offset, sample.wall_end - offset
    return sample


def write_jsonl(samples: Iterable[Sample | dict], path: Path) -> int:
    count = 0
    with open(path, "a", encoding="utf-8") as stream:
        for sample in samples:
            data = sample.record() if isinstance(sample, Sample) else sample
            stream.write(json.dumps(data, separators=(",", ":")) + "\n")
            count += 1
        stream.flush()
    return count


def read_jsonl(path: Path) -> Iterator[Sample]:
    """Samples from a JSON lines file; a torn last line (killed writer) is skipped."""
    if not Path(path).is_file():
        return
    offset = time.time() - time.monotonic()
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            yield rebase(Sample.from_record(data), offset)

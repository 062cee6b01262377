"""The emergency limits, judged on live figures. Pure: no clock, no thread, no I/O.

The figures are the ones the Monitor measures, computed the same simple way while it runs:

- a probe's outage: from its first failed sample to the next sample that succeeded (or to
  ``now`` while it still fails);
- the longest outage so far: the longest time during which any probe was out (the
  monitor's ``overall``: outages of different probes that overlap join);
- the error rate: the share of failed samples among those that started in the last
  ``over`` seconds, judged once the monitor has run that long;
- a node that stayed off: a power-off the run wrote to the ledger and has not undone,
  older than the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .config import Limits

POWER_OFF_ACTIONS = {"poweroff", "power off", "shutdown", "power_off"}


class SampleLike(Protocol):
    start: float  # monotonic
    ok: bool


@dataclass(frozen=True)
class Trip:
    """An emergency limit crossed: what, the limit, the figure, when (wall clock)."""

    what: str  # "longest outage", "error rate", "node off", "probe read-servers"
    limit: str
    measured: str
    when: float  # time.time()
    detail: str = ""

    def text(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.what} {self.measured}, limit {self.limit}{extra}"

    def as_dict(self) -> dict:
        return {"what": self.what, "limit": self.limit, "measured": self.measured,
                "when": self.when, "detail": self.detail}


def outages(samples: Sequence[SampleLike], now: float) -> list[tuple[float, float]]:
    """(start, end) of each failing streak of one probe, in order; the last one ends at
    ``now`` while it still fails."""
    found: list[tuple[float, float]] = []
    began: float | None = None
    for sample in sorted(samples, key=lambda s: s.start):
        if not sample.ok and began is None:
            began = sample.start
        elif sample.ok and began is not None:
            found.append((began, sample.start))
            began = None
    if began is not None:
        found.append((began, max(now, began)))
    return found


def joined(windows: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping windows joined (the cloud is out while any probe is)."""
    merged: list[list[float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def longest(windows: Iterable[tuple[float, float]]) -> tuple[float, float] | None:
    windows = list(windows)
    return max(windows, key=lambda w: w[1] - w[0]) if windows else None


def error_rate(samples: Mapping[str, Sequence[SampleLike]], now: float,
               over: float) -> tuple[float, int] | None:
    """(percent failed, samples) over the last ``over`` seconds; None before the monitor
    has run that long or without a sample."""
    every = [s for probe in samples.values() for s in probe]
    if not every or now - min(s.start for s in every) < over:
        return None
    recent = [s for s in every if s.start >= now - over]
    if not recent:
        return None
    return 100.0 * sum(1 for s in recent if not s.ok) / len(recent), len(recent)


def _s(value: float) -> str:
    return f"{value:.1f} s"


def check_monitor(limits: Limits, samples: Mapping[str, Sequence[SampleLike]], now: float,
                  wall_now: float) -> Trip | None:
    """The first emergency limit the monitor's samples cross, or None. ``now`` is on the
    samples' (monotonic) clock, ``wall_now`` the wall clock of the same instant."""
    per_probe = {name: outages(probe, now) for name, probe in samples.items()}
    for name, limit in sorted(limits.probes.items()):
        worst = longest(per_probe.get(name, []))
        if worst and worst[1] - worst[0] >= limit:
            return Trip(f"probe {name} outage", _s(limit), _s(worst[1] - worst[0]), wall_now,
                        f"out since {_ago(now - worst[0])}" if worst[1] >= now else "")
    if limits.longest_outage is not None:
        worst = longest(joined(w for windows in per_probe.values() for w in windows))
        if worst and worst[1] - worst[0] >= limits.longest_outage:
            out = sorted(n for n, ws in per_probe.items()
                         if any(s < worst[1] and e > worst[0] for s, e in ws))
            return Trip("longest outage", _s(limits.longest_outage), _s(worst[1] - worst[0]),
                        wall_now, f"probes out: {', '.join(out)}")
    if limits.error_rate is not None:
        figure = error_rate(samples, now, limits.error_rate_over)
        if figure and figure[0] >= limits.error_rate:
            return Trip("error rate", f"{limits.error_rate:g} % over "
                        f"{limits.error_rate_over:g} s", f"{figure[0]:.1f} %", wall_now,
                        f"{figure[1]} samples")
    return None


def _ago(seconds: float) -> str:
    return f"{seconds:.1f} s ago"


@dataclass(frozen=True)
class PowerOff:
    """A power-off the ledger holds open: its fault id, node(s) and when (wall clock)."""

    id: str
    nodes: tuple[str, ...]
    since: float


def power_offs(entries: Iterable) -> list[PowerOff]:
    """The open ledger entries that powered a node off (ledger :class:`Entry` objects)."""
    found = []
    for entry in entries:
        if getattr(entry, "open", True) and entry.step.action in POWER_OFF_ACTIONS:
            try:
                since = datetime.fromisoformat(entry.time).timestamp()
            except (TypeError, ValueError):
                continue
            found.append(PowerOff(entry.id, tuple(entry.step.nodes), since))
    return found


def check_nodes(limits: Limits, offs: Iterable[PowerOff], wall_now: float) -> Trip | None:
    if limits.node_off is None:
        return None
    for off in offs:
        if wall_now - off.since >= limits.node_off:
            return Trip("node off", _s(limits.node_off), _s(wall_now - off.since), wall_now,
                        f"{', '.join(off.nodes)} powered off by fault {off.id}, not back on")
    return None

"""The load's PNG: each iteration's duration over time (failures in red), iterations
started per second, and the fault events of the same period as vertical lines."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from ..events import Event
from .samples import Sample

_PHASE_COLOURS = {"requested": "#888888", "in effect": "#d62728", "undone": "#2ca02c",
                  "failed": "#9467bd"}


def render_png(samples: Sequence[Sample], started: float, title: str,
               events: Sequence[Event] = (), width: float = 9.0) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, 4.2), dpi=90)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    ok = [(s.start - started, s.duration) for s in samples if s.ok]
    bad = [(s.start - started, s.duration) for s in samples if not s.ok]
    if ok:
        top.scatter(*zip(*ok), s=6, color="#1f77b4", label=f"ok ({len(ok)})", linewidths=0)
    if bad:
        top.scatter(*zip(*bad), s=12, color="#d62728", marker="x", label=f"failed ({len(bad)})")
    top.set_ylabel("duration (s)")
    top.set_title(title, fontsize=10)
    top.grid(alpha=0.3)
    end = max((s.end - started for s in samples), default=1.0)
    seconds = max(1, math.ceil(end))
    started_per_second = [0] * seconds
    failed_per_second = [0] * seconds
    for sample in samples:
        slot = min(seconds - 1, max(0, int(sample.start - started)))
        started_per_second[slot] += 1
        failed_per_second[slot] += 0 if sample.ok else 1
    xs = [i + 0.5 for i in range(seconds)]
    bottom.bar(xs, started_per_second, width=1.0, color="#aec7e8", label="started/s")
    bottom.bar(xs, failed_per_second, width=1.0, color="#d62728", label="failed/s")
    bottom.set_ylabel("per s")
    bottom.set_xlabel("seconds since the load started")
    bottom.grid(alpha=0.3)
    for event in events:
        x = event.monotonic - started
        colour = _PHASE_COLOURS.get(event.phase, "#444444")
        for axis in (top, bottom):
            axis.axvline(x, color=colour, linestyle="--", linewidth=1)
        top.annotate(f"{event.action} {event.target} ({event.phase})", (x, 1.0),
                     xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                     va="top", ha="right", color=colour)
    if ok or bad:
        top.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

"""The timeline as a PNG: one row per probe over time, failures and outages in red,
fault events as vertical lines and the fault as a shaded span; latency underneath."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence


def timeline_png(samples: dict[str, Sequence], analysis: dict, events: Sequence[dict],
                 origin: float, title: str = "") -> bytes:
    # Figure without pyplot: no global state, no GUI backend, safe in any thread.
    from matplotlib.figure import Figure

    names = list(samples)
    height = 2.2 + 0.35 * max(1, len(names))
    figure = Figure(figsize=(11, height + 2.0), dpi=90)
    top, bottom = figure.subplots(2, 1, sharex=True,
                                  gridspec_kw={"height_ratios": [height, 2.0]})
    fault = analysis.get("fault", {})
    for axis in (top, bottom):
        if fault.get("start") is not None:
            end = fault["end"] if fault.get("end") is not None else axis.get_xlim()[1]
            axis.axvspan(fault["start"], end, color="orange", alpha=0.15, lw=0)
        for event in events:
            axis.axvline(event["t"], color="darkorange", lw=0.8, ls="--")
    for row, name in enumerate(names):
        points = samples[name]
        good = [s.start - origin for s in points if s.ok]
        bad = [s.start - origin for s in points if not s.ok]
        top.scatter(good, [row] * len(good), s=40, marker="|", color="tab:green", lw=0.8)
        top.scatter(bad, [row] * len(bad), s=80, marker="|", color="tab:red", lw=1.2)
        spans = [(w["start"], max(w["duration"], 0.01))
                 for w in analysis["probes"].get(name, {}).get("outages", [])]
        top.broken_barh(spans, (row - 0.3, 0.6), color="tab:red", alpha=0.35)
        ok_points = [(s.start - origin, s.latency * 1000) for s in points if s.ok]
        if ok_points:
            bottom.scatter(*zip(*ok_points), s=2, label=name)
    overall = [(w["start"], max(w["duration"], 0.01))
               for w in analysis["overall"].get("outages", [])]
    top.broken_barh(overall, (len(names) - 0.3, 0.6), color="black", alpha=0.6)
    top.set_yticks(range(len(names) + 1), names + ["overall outage"], fontsize=8)
    top.set_ylim(-0.7, len(names) + 0.7)
    for event in events:
        top.annotate(event["label"], (event["t"], len(names) + 0.5), fontsize=7,
                     rotation=90, va="top", ha="right", color="darkorange")
    top.set_title(title or "availability", fontsize=10)
    bottom.set_ylabel("latency of OK samples (ms)", fontsize=8)
    bottom.set_xlabel("seconds since the monitor started", fontsize=8)
    if any(samples.values()):
        bottom.set_yscale("log")
    if len(names) <= 8 and bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=6, markerscale=3, loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def img_html(png: bytes, alt: str = "availability timeline") -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{alt}" style="max-width:100%">'

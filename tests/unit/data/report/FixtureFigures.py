"""A tiny test library that publishes figures in the real libraries' shapes: the monitor's
through its own analysis (``monitor.analysis.analyze``) of synthetic timelines."""

import base64
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from ExtremeTesting import results
from robot.api import logger
from robot.api.deco import keyword, library


def tiny_png(width: int = 240, height: int = 60) -> str:
    """A real PNG (a red band on white) as base64, without matplotlib."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            red = 80 <= x < 140 and 10 <= y < 50
            row += bytes((220, 40, 40) if red else (245, 247, 250))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                            0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


@dataclass
class _Sample:
    start: float
    ok: bool
    error: str = ""
    latency: float = 0.02


ORIGIN = 1000.0


def _events(wall: float, *changes: tuple[str, float]) -> tuple[list[dict], list[dict]]:
    """(the fault events as the monitor publishes them, as its analysis reads them)."""
    raw = [{"phase": phase, "monotonic": ORIGIN + t} for phase, t in changes]
    shown = [{"source": "faults", "phase": e["phase"], "action": "restart",
              "target": "keystone on ctl1", "fault_id": "f1", "detail": "",
              "monotonic": e["monotonic"], "wall": wall + e["monotonic"] - ORIGIN,
              "t": round(e["monotonic"] - ORIGIN, 6),
              "label": f"restart keystone on ctl1 ({e['phase']})"} for e in raw]
    return shown, raw


def _requests(prefix: str, n: int) -> list[dict]:
    return [{"name": f"{prefix}{i}", "request_id": f"req-{prefix}{i}"} for i in range(n)]


def _result(analysis: dict, events: list[dict], wall: float, writes: dict) -> dict:
    """The rest of what `Stop Availability Monitor` publishes (MonitorSession.snapshot)."""
    for name, figures in analysis["probes"].items():
        figures["config"] = {"name": name, "rate": 20.0}
        figures["counts"] = {"ok": figures["samples"] - figures["failed"],
                             "failed": figures["failed"]}
        figures["lag_p99"] = 0.002
    return {
        "monitor": "default", "target": "fixture-cloud", "running": False,
        "started": "2026-01-01T00:00:00.000", "stopped": "2026-01-01T00:00:30.000",
        "origin_wall": wall, "duration": 30.0, "prefix": "extreme-mon-", "events": events,
        "fault": analysis["fault"], "probes": analysis["probes"],
        "overall": analysis["overall"], "writes": writes,
        "scheduling": {"lag_p99": 0.002}, "cpu_seconds": 0.6, "cpu_share": 0.02,
        "logins": 1,
    }


def monitor_result(outage: float = 0.0, lost: int = 0, duplicates: int = 0,
                   stuck: int = 0) -> dict:
    """The Monitor library's result from its own analysis of a 20 Hz timeline of 30 s
    (two probes, the same timeline) with an outage of ``outage`` s from +12.40 s: the
    window is exactly ``outage`` ± 50 ms; requests answer in 25 ms before the fault,
    1.25 s during it, 27 ms after; the fault is undone 400 ms before the outage ends."""
    from ExtremeTesting.monitor.analysis import analyze

    step, first = 0.05, 248  # sample i at (i + 0.5) * step: +12.40 s is between 247 and 248
    failing = range(first, first + round(outage / step))
    fault_from, fault_to = 12.4 - 0.5, 12.4 + outage - 0.4
    timeline = []
    for i in range(600):
        t = (i + 0.5) * step
        latency = 0.025 if t < fault_from else 1.25 if t <= fault_to else 0.027
        timeline.append(_Sample(ORIGIN + t, i not in failing,
                                "HTTP 503" if i in failing else "", latency))
    wall = time.time() - 30
    changes = [("in effect", fault_from), ("undone", fault_to)] if outage else []
    events, raw = _events(wall, *changes)
    analysis = analyze({"identity.token": timeline, "compute.servers": list(timeline)}, raw,
                       ORIGIN)
    writes = {"compute.servers": {
        "checked": 40, "accepted": 40, "lost": _requests("extreme-mon-lost-", lost),
        "duplicates": _requests("extreme-mon-dup-", duplicates),
        "non_recoverable": _requests("extreme-mon-stuck-", stuck), "unconfirmed": [],
        "error": "", "settled_after": 2.5, "clean": not (lost or duplicates or stuck),
        "forgotten": 0, "cleanup_errors": [], "cleaned_up": 40 - lost}}
    return _result(analysis, events, wall, writes)


def analysed_monitor_result(outage_from: float, outage_to: float) -> dict:
    """A result shaped like the Monitor library's, from its own analysis of a synthetic
    10 Hz timeline with a planted outage (what `Stop Availability Monitor` publishes)."""
    from ExtremeTesting.monitor.analysis import analyze

    timelines = {}
    for probe, offset in (("identity.version", 0.0), ("compute.servers", 0.05)):
        timelines[probe] = [
            _Sample(ORIGIN + t, not (outage_from <= t < outage_to),
                    "" if not (outage_from <= t < outage_to) else "HTTP 503",
                    0.3 if outage_to <= t < outage_to + 1 else 0.02)
            for t in (i / 10 + offset for i in range(300))]
    wall = time.time() - 30
    events, raw = _events(wall, ("in effect", outage_from - 0.5), ("undone", outage_to - 0.2))
    analysis = analyze(timelines, raw, ORIGIN)
    return _result(analysis, events, wall, {"compute.servers": {
        "checked": 40, "accepted": 40,
        "lost": [{"name": "extreme-mon-17", "request_id": "req-17"}],
        "duplicates": [], "non_recoverable": [], "unconfirmed": [], "error": "",
        "settled_after": 2.5, "clean": False, "forgotten": 0, "cleanup_errors": [],
        "cleaned_up": 39}})


@library(scope="GLOBAL")
class FixtureFigures:
    @keyword
    def publish_monitor_figures(self, outage: float = 0.0, lost: int = 0,
                                duplicates: int = 0, stuck: int = 0) -> None:
        """What `Stop Availability Monitor` publishes: see :func:`monitor_result`."""
        picture = f'<img src="data:image/png;base64,{tiny_png()}" alt="timeline">'
        results.publish("monitor", monitor_result(outage, lost, duplicates, stuck),
                        "<b>monitor summary</b>" + picture)

    @keyword
    def publish_analysed_monitor_figures(self, outage_from: float = 10.0,
                                         outage_to: float = 13.0) -> None:
        data = analysed_monitor_result(outage_from, outage_to)
        picture = f'<img src="data:image/png;base64,{tiny_png(300, 80)}" alt="timeline">'
        results.publish("monitor", data, "<table><tr><td>summary</td></tr></table>" + picture)

    @keyword
    def publish_load_figures_with_png_file(self, output_dir: str) -> None:
        """Like the Load library: the PNG is a file next to log.html, named in the data."""
        png = base64.b64decode(tiny_png(220, 70))
        (Path(output_dir) / "fixture-load.png").write_bytes(png)
        data = {"workload": "issue tokens", "engine": "inprocess", "mode": "rate",
                "requests": 300, "failures": 12, "failure_rate": 0.04, "p50": 0.05,
                "p90": 0.09, "p95": 0.12, "p99": 0.4, "max": 1.1, "mean": 0.06,
                "throughput": 9.9, "requested_rate": 10, "achieved_rate": 9.95,
                "concurrency": 4, "max_in_flight": 4, "elapsed": 30.2, "not_started": 0,
                "unfinished": 0, "lag_p99": 0.003, "errors": {"HTTP 503": 12},
                "png": "fixture-load.png", "name": "tokens-during-restart",
                "prefix": "extreme-load-",
                "during_fault": analysed_monitor_result(10.0, 11.2)["overall"]}
        summary = (f"<b>Load</b><br><img alt='load timeline' src='data:image/png;base64,"
                   f"{base64.b64encode(png).decode()}'>")
        results.publish("load", data, summary)

    @keyword
    def publish_load_figures(self, requests: int = 2000, failures: int = 0) -> None:
        """What a load keyword publishes (LoadSummary.as_dict, name, png, prefix)."""
        results.publish("load", {
            "workload": "issue tokens", "engine": "inprocess", "mode": "concurrency",
            "requests": requests, "failures": failures, "failure_rate": failures / requests,
            "p50": 0.045, "p90": 0.08, "p95": 0.095, "p99": 0.21, "max": 0.9, "mean": 0.05,
            "throughput": 33.3, "requested_rate": None, "achieved_rate": 33.4,
            "concurrency": 4, "max_in_flight": 4, "elapsed": 60.0, "not_started": 0,
            "unfinished": 0, "lag_p99": None, "errors": {"HTTP 503": failures} if failures
            else {}, "png": "", "name": "issue tokens", "prefix": "xload-ab12-1-"},
            f'<b>Load</b><br><img src="data:image/png;base64,{tiny_png(200, 50)}">')

    @keyword
    def publish_environment(self) -> None:
        results.publish("environment", {"services": {"compute": "2.95", "identity": "3.14"},
                                        "tools": {"os-faults": "0.3.0"},
                                        "admin_password": "must-not-appear"})

    @keyword
    def publish_fault_event(self) -> None:
        results.publish("fault", {"source": "faults", "phase": "undone", "action": "restart",
                                  "target": "keystone on ctl1", "wall": 1767225620.0})

    @keyword
    def publish_expectation(self, name: str, limit: float, measured: float,
                            uncertainty: float = 0.05) -> None:
        """The record a verdict keyword publishes (as `Outage Should Be Shorter Than`)."""
        results.publish_expectation("Outage Should Be Shorter Than", name, limit, "<",
                                    measured, unit="s", uncertainty=uncertainty)

    @keyword
    def publish_custom_figures(self) -> None:
        results.publish("custom", {"widgets": 7, "nested": {"depth_s": 1.5}})

    @keyword
    def log_timeline_image(self) -> None:
        logger.info(f'<img src="data:image/png;base64,{tiny_png(120, 40)}">', html=True)

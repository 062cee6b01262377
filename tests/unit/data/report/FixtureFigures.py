"""A tiny test library that publishes synthetic figures the way the real libraries do."""

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


def analysed_monitor_result(outage_from: float, outage_to: float) -> dict:
    """A result shaped like the Monitor library's, from its own analysis of a synthetic
    10 Hz timeline with a planted outage (what `Stop Availability Monitor` publishes)."""
    from ExtremeTesting.monitor.analysis import analyze

    origin = 1000.0
    timelines = {}
    for probe, offset in (("identity.version", 0.0), ("compute.servers", 0.05)):
        timelines[probe] = [
            _Sample(origin + t, not (outage_from <= t < outage_to),
                    "" if not (outage_from <= t < outage_to) else "HTTP 503",
                    0.3 if outage_to <= t < outage_to + 1 else 0.02)
            for t in (i / 10 + offset for i in range(300))]
    events = [{"phase": "in effect", "monotonic": origin + outage_from - 0.5},
              {"phase": "undone", "monotonic": origin + outage_to - 0.2}]
    analysis = analyze(timelines, events, origin)
    wall = time.time() - 30
    return {
        "monitor": "default", "target": "fixture-cloud", "running": False,
        "started": "2026-01-01T00:00:00.000", "stopped": "2026-01-01T00:00:30.000",
        "origin_wall": wall, "duration": 30.0, "prefix": "extreme-mon-",
        "events": [{"source": "faults", "phase": e["phase"], "action": "restart",
                    "target": "keystone on ctl1", "fault_id": "f1", "detail": "",
                    "monotonic": e["monotonic"], "wall": wall + e["monotonic"] - origin,
                    "t": round(e["monotonic"] - origin, 6),
                    "label": f"restart keystone on ctl1 ({e['phase']})"} for e in events],
        "fault": analysis["fault"], "probes": analysis["probes"],
        "overall": analysis["overall"],
        "writes": {"compute.servers": {
            "checked": 40, "accepted": 40,
            "lost": [{"name": "extreme-mon-17", "request_id": "req-17"}],
            "duplicates": [], "non_recoverable": [], "unconfirmed": [], "error": "",
            "settled_after": 2.5, "clean": False, "forgotten": 0, "cleanup_errors": [],
            "cleaned_up": 39}},
        "scheduling": {"lag_p99": 0.002}, "cpu_seconds": 0.6, "cpu_share": 0.02,
        "logins": 1,
    }


@library(scope="GLOBAL")
class FixtureFigures:
    @keyword
    def publish_monitor_figures(self, outage: float = 0.0, lost: int = 0,
                                duplicates: int = 0, stuck: int = 0,
                                error_rate: float = 0.0) -> None:
        windows = ([{"start": 12.4, "end": 12.4 + outage, "duration": outage,
                     "uncertainty": 0.05}] if outage else [])
        probe = {"outages": windows, "total_outage": outage, "longest_outage": outage,
                 "recovery_time": 0.4 if outage else 0.0, "error_rate": error_rate,
                 "latency": {"before": {"p50": 0.012, "p90": 0.02, "p95": 0.025, "p99": 0.04},
                             "during": {"p50": 0.3, "p90": 0.9, "p95": 1.25, "p99": 2.0},
                             "after": {"p50": 0.013, "p90": 0.021, "p95": 0.027,
                                       "p99": 0.05}},
                 "samples": 1200}
        data = {"probes": {"identity.token": probe, "compute.servers": dict(probe)},
                "overall": dict(probe, lost=lost, duplicates=duplicates,
                                non_recoverable=stuck, probe_rate_hz=10.0),
                "events": [{"source": "power", "phase": "in effect", "action": "power off",
                            "target": "ctl1", "wall": 1767225612.5}],
                "png": tiny_png()}
        results.publish("monitor", data, "<b>monitor summary</b>")

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
        results.publish("load", {"name": "issue tokens", "requests": requests,
                                 "failures": failures, "failure_rate": failures / requests,
                                 "p50": 0.045, "p90": 0.08, "p95": 0.095, "p99": 0.21,
                                 "max": 0.9, "throughput": 33.3, "png": tiny_png(200, 50)})

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

"""A tiny test library that publishes synthetic figures the way the real libraries do."""

import base64
import struct
import zlib

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
    def publish_expectation(self, name: str, limit: float, measured: float) -> None:
        results.publish("sla", {"name": name, "limit": limit, "measured": measured,
                                "passed": measured <= limit})

    @keyword
    def publish_custom_figures(self) -> None:
        results.publish("custom", {"widgets": 7, "nested": {"depth_s": 1.5}})

    @keyword
    def log_timeline_image(self) -> None:
        logger.info(f'<img src="data:image/png;base64,{tiny_png(120, 40)}">', html=True)

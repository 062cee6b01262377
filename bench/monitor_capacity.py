"""How many probes per second the monitor sustains, its CPU, and its scheduling lag.

The endpoint is a trivial HTTP server on 127.0.0.1 in a separate process, so what is
measured is the monitor and not the server. Targets (issue 6): >= 500 probes/s within
one core, scheduling lag p99 <= 10 ms.

    .venv/bin/python bench/monitor_capacity.py [--rates 500,1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from ExtremeTesting.monitor.engine import MonitorRun
from ExtremeTesting.monitor.probes import GetProbe

PER_PROBE = 10.0  # the default rate of one probe


def start_server(seconds: float) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "ExtremeTesting.monitor.fakecloud", "--seconds", str(seconds)],
        stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        server.kill()
        raise SystemExit(f"the local server did not start: {url!r}")
    return server, url


def measure(url: str, total_rate: float, seconds: float) -> dict:
    count = max(1, round(total_rate / PER_PROBE))
    probes = [GetProbe(f"p{i}", url=f"{url}/v{i}", rate=PER_PROBE, timeout=1.0)
              for i in range(count)]
    run = MonitorRun(probes, name="bench")
    run.start()
    time.sleep(seconds)  # the monitor works in the background meanwhile
    run.stop()
    duration = run.stopped_at - run.origin
    counts = [t.counts() for t in run.timelines.values()]
    samples = sum(c["samples"] for c in counts)
    failed = sum(c["failed"] for c in counts)
    scheduling = run.scheduling()
    return {"asked": count * PER_PROBE, "probes": count, "achieved": samples / duration,
            "failed": failed, "missed": scheduling["missed_slots"],
            "cpu": run.cpu_seconds / duration, "lag_p50": scheduling["lag_p50"],
            "lag_p99": scheduling["lag_p99"], "lag_max": scheduling["lag_max"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,500,1000", help="total probes/s to try")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    server, url = start_server(args.seconds * len(rates) + 30)
    try:
        print(f"{'asked/s':>8} {'probes':>6} {'done/s':>8} {'failed':>6} {'missed':>6} "
              f"{'CPU (cores)':>11} {'lag p50 ms':>10} {'lag p99 ms':>10} {'lag max ms':>10}")
        for rate in rates:
            r = measure(url, rate, args.seconds)
            print(f"{r['asked']:8.0f} {r['probes']:6d} {r['achieved']:8.1f} {r['failed']:6d} "
                  f"{r['missed']:6d} {r['cpu']:11.3f} {r['lag_p50'] * 1000:10.2f} "
                  f"{r['lag_p99'] * 1000:10.2f} {r['lag_max'] * 1000:10.2f}", flush=True)
    finally:
        server.kill()
        server.wait(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

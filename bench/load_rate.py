"""Achieved vs requested rate, and the runner's own cost per iteration, for both engines.

Against a local HTTP server on 127.0.0.1 (a trivial endpoint, so the runner and not the
server is measured), and with a no-op workload (what remains is pure runner overhead).
The unit tests (tests/unit/test_load_*.py) only check a sanity band on a busy host; the
precise figures are these: achieved rate vs requested, schedule lag p50/p99, iterations
handed out but not started, and the most iterations in flight (never above --workers).

    .venv/bin/python bench/load_rate.py [--duration 5] [--rates 10,50,200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "unit"))  # the shared local server and workloads

from test_load_support import LocalServer  # noqa: E402

from ExtremeTesting.load.locust_engine import LocustRunner  # noqa: E402
from ExtremeTesting.load.runners import InProcessRunner, LoadPlan  # noqa: E402
from ExtremeTesting.load.stats import max_overlap, percentile, summarise  # noqa: E402
from ExtremeTesting.load.workloads import resolve  # noqa: E402


def run(engine: str, workload: str, rate: float, duration: float, workers: int,
        params: dict, processes: int = 1) -> dict:
    plan = LoadPlan(workload=workload, mode="rate", rate=rate, duration=duration,
                    concurrency=workers, timeout=5, params=params)
    cpu0, wall0 = time.process_time(), time.monotonic()
    if engine == "inprocess":
        outcome = InProcessRunner(plan, resolve(workload), None).run()
    else:
        outcome = LocustRunner(plan, {}, processes=processes).run()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    summary = summarise(outcome.samples, workload=workload, engine=engine, mode="rate",
                        started=outcome.started, ended=outcome.ended, concurrency=workers,
                        requested_rate=rate, window=duration)
    lags = [s.start - s.scheduled for s in outcome.samples]
    durations = [s.duration for s in outcome.samples]
    return {"engine": engine if processes == 1 else f"{engine}x{processes}",
            "workload": workload.split(":")[-1], "requested": rate,
            "achieved": summary.achieved_rate, "n": summary.requests,
            "not_started": outcome.not_started, "failures": summary.failures,
            "in_flight": max_overlap(outcome.samples),
            "lag_p50_ms": 1000 * percentile(lags, 50) if lags else float("nan"),
            "lag_p99_ms": 1000 * percentile(lags, 99) if lags else float("nan"),
            "iter_median_us": 1e6 * statistics.median(durations) if durations else float("nan"),
            # in-process: the Robot process's own CPU per iteration; Locust: wall only
            "cpu_per_iter_us": 1e6 * cpu / max(summary.requests, 1)
            if engine == "inprocess" else float("nan"),
            "wall_s": wall}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rates", default="10,50,200")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent / "tests" / "unit"), os.environ.get("PYTHONPATH", "")])
    rows = []
    with LocalServer() as server:
        for rate in (float(r) for r in args.rates.split(",")):
            for workload, params in (("test_load_support:noop", {}),
                                     ("test_load_support:hit", {"url": server.url})):
                rows.append(run("inprocess", workload, rate, args.duration, args.workers,
                                params))
                rows.append(run("locust", workload, rate, args.duration, args.workers,
                                params))
            rows.append(run("locust", "test_load_support:hit", rate, args.duration,
                            args.workers, {"url": server.url}, processes=2))
    header = ("engine", "workload", "requested", "achieved", "n", "not_started", "failures",
              "in_flight", "lag_p50_ms", "lag_p99_ms", "iter_median_us", "cpu_per_iter_us",
              "wall_s")
    print(" | ".join(f"{h:>14}" for h in header))
    for row in rows:
        print(" | ".join(f"{row[h]:>14.2f}" if isinstance(row[h], float) else f"{row[h]:>14}"
                         for h in header))
    return 0


if __name__ == "__main__":
    sys.exit(main())

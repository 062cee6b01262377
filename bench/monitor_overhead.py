"""What the monitor's own process spends besides its requests: the safeguards' watch and
the data-plane probes' sockets (CPU of this process, per poll and per socket).

- watch: one poll of the emergency limits over the horizon of the lab's safeguards
  (longest outage 120 s, error rate over 3 min: 190 s of samples) with the lab's probes
  at --api-scale times their rates of 2026-12-07 (five version documents at 10/s, the
  token at 5/s, four reads at 2/s, writes at 0.5/s) and two data-plane paths (ICMP and
  TCP at 20/s each): read and judged (a failure in the horizon), and skipped (no failure
  count changed within it: the watch reads nothing).
- sockets: a TCP socket made inside a network namespace (``xt-bench-sockets``, made and
  removed here), as each data-plane sample makes one.

Needs root (the namespace).

    PYTHONPATH=libraries .venv/bin/python bench/monitor_overhead.py
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import time

from ExtremeTesting.monitor import dataplane as dp
from ExtremeTesting.monitor.samples import ProbeTimeline, Sample
from ExtremeTesting.safeguards.config import Limits, Settings
from ExtremeTesting.safeguards.journal import Journal
from ExtremeTesting.safeguards.watcher import Watcher

NAMESPACE = "xt-bench-sockets"
HORIZON = 190.0


def timelines(api_scale: float, failed: bool) -> dict[str, ProbeTimeline]:
    rates = {**{f"version-{i}": 10.0 * api_scale for i in range(5)},
             "token": 5.0 * api_scale, **{f"read-{i}": 2.0 * api_scale for i in range(4)},
             "write-network": 0.5 * api_scale,
             **{f"data-plane:{p} {k}": 20.0 for p in ("north-south", "east-west")
                for k in ("icmp", "tcp")}}
    found = {}
    for name, rate in rates.items():
        timeline = ProbeTimeline(name)
        for i in range(int(250 * rate)):
            start = i / rate
            ok = not (failed and name == "token" and 200 <= start < 201)
            timeline.add(Sample(name, i, start, start, start + 0.01, start, start, ok))
        found[name] = timeline
    return found


def watch_cost(api_scale: float, failed: bool, polls: int) -> tuple[float, int]:
    """(CPU ms per poll, samples read per poll)."""
    lines = timelines(api_scale, failed)
    read = []

    def samples(since: float) -> dict:
        found = {name: t.since(since) for name, t in lines.items()}
        read.append(sum(len(s) for s in found.values()))
        return found

    clock = [250.0]
    watcher = Watcher(Settings(limits=Limits(longest_outage=120.0, error_rate=50.0,
                                             error_rate_over=180.0)),
                      Journal("/dev/null", "bench"), samples=samples,
                      failures=lambda: {n: (id(t), t.failed) for n, t in lines.items()},
                      monotonic=lambda: clock[0], wall=time.time)
    watcher.case = "bench"
    started = time.process_time()
    for _ in range(polls):
        watcher.check()
    per = (time.process_time() - started) / polls
    return 1000 * per, (read[-1] if read else 0)


def socket_cost(count: int) -> float:
    """CPU µs per socket made in the namespace."""
    subprocess.run(["ip", "netns", "add", NAMESPACE], check=True, timeout=10)
    try:
        dp.open_socket(NAMESPACE, socket.AF_INET, socket.SOCK_STREAM).close()
        started = time.process_time()
        for _ in range(count):
            dp.open_socket(NAMESPACE, socket.AF_INET, socket.SOCK_STREAM).close()
        return 1e6 * (time.process_time() - started) / count
    finally:
        time.sleep(dp.MAKER_IDLE + 0.5)  # its thread ends before the namespace goes
        subprocess.run(["ip", "netns", "delete", NAMESPACE], check=True, timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-scale", type=float, default=1.0)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--sockets", type=int, default=2000)
    args = parser.parse_args()
    for failed in (True, False):
        ms, read = watch_cost(args.api_scale, failed, args.polls)
        what = "a failure in the horizon" if failed else "no failure"
        print(f"watch, {what}: {ms:.1f} ms CPU per poll, {read} samples read "
              f"({ms / 10:.2f} % of a core at one poll a second)")
    us = socket_cost(args.sockets)
    print(f"sockets in a namespace: {us:.0f} µs CPU each ({80 * us / 1e4:.2f} % of a core "
          f"at the 80 a second of two data-plane paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How exactly the data-plane probe measures a planted outage, and what it costs.

Builds, in namespaces of its own (``xt-dp-b...``, removed at the end): a bridge, a DHCP
server (dnsmasq) and two guests (ExtremeTesting.lab.guests). Then:

- accuracy: the path a -> b (ICMP echo and TCP echo, each 20/s) while every packet b
  receives is dropped (iptables in b's namespace) for planted times on no multiple of the
  period (default 0.37, 1.13, 2.71 s, 3 runs each). The planted time is taken between the
  midpoints of the two iptables commands (each took a few ms; said in the output); the
  error is measured - planted, "within" when |error| <= the stated uncertainty plus half
  the two commands' durations.
- cost: 1, 2 and 4 paths probed for 10 s with nothing planted: CPU of this process per
  path (percent of one core), samples per second per path, scheduling lag, missed slots;
  and the guests' echo service CPU.

Needs root, iproute2, iptables, udhcpc and dnsmasq-base.

    PYTHONPATH=libraries .venv/bin/python bench/dataplane_probe.py
    PYTHONPATH=libraries .venv/bin/python bench/dataplane_probe.py --plants 0.37,1.13 --runs 5
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from ExtremeTesting.lab import guests
from ExtremeTesting.monitor import dataplane as dp

CALM = 1.0  # seconds of healthy path before and after each plant


def iptables(guest: guests.Guest, action: str) -> tuple[float, float]:
    before = time.monotonic()
    subprocess.run(["ip", "netns", "exec", guest.name, "iptables", action, "INPUT", "-j",
                    "DROP"], check=True, timeout=10)
    return before, time.monotonic()


def accuracy(a: guests.Guest, b: guests.Guest, planted: float, rate: float) -> dict:
    marks: dict[str, tuple[float, float]] = {}

    def plant() -> None:
        threading.Event().wait(CALM)
        marks["start"] = iptables(b, "-I")
        threading.Event().wait(planted)
        marks["end"] = iptables(b, "-D")

    path = dp.DataPlanePath("east-west", b.ip, a.name, port=b.echo_port)
    result = dp.measure([path], CALM + planted + CALM + 0.1, rate=rate, during=plant)
    start = sum(marks["start"]) / 2
    end = sum(marks["end"]) / 2
    spread = (marks["start"][1] - marks["start"][0] + marks["end"][1] - marks["end"][0]) / 2
    found = {"planted": end - start, "spread": spread}
    for name, figures in [("path", result["paths"]["east-west"]),
                          ("icmp", result["probes"]["east-west icmp"]),
                          ("tcp", result["probes"]["east-west tcp"])]:
        longest = figures["longest_outage"]
        measured = longest["duration"] if longest else 0.0
        uncertainty = longest["uncertainty"] if longest else 0.0
        error = measured - found["planted"]
        found[name] = {"measured": measured, "uncertainty": uncertainty, "error": error,
                       "within": abs(error) <= uncertainty + spread,
                       "outages": len(figures["outages"])}
    return found


def cost(pairs: list[tuple[guests.Guest, guests.Guest]], paths: int, seconds: float,
         rate: float) -> dict:
    made = []
    for i in range(paths):
        a, b = pairs[i % len(pairs)]
        made.append(dp.DataPlanePath(f"path{i}", b.ip, a.name, port=b.echo_port))
    echo_pids = {p for a, b in pairs for p in (a.pids["echo"], b.pids["echo"])}
    echo_before = sum(_cpu_of(p) for p in echo_pids)
    result = dp.measure(made, seconds, rate=rate)
    echo = sum(_cpu_of(p) for p in echo_pids) - echo_before
    rates = [f["samples_per_second"] for f in result["paths"].values()]
    return {"paths": paths, "cpu_share": result["cpu_share"],
            "cpu_per_path": result["cpu_share"] / paths, "samples_per_second": min(rates),
            "lost": sum(f["lost"] for f in result["paths"].values()),
            "lag_p99": result["scheduling"]["lag_p99"],
            "missed": result["scheduling"]["missed_slots"],
            "echo_cpu_share": echo / result["duration"]}


def _cpu_of(pid: int) -> float:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", default="0.37,1.13,2.71")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=dp.DEFAULT_RATE)
    parser.add_argument("--cost-seconds", type=float, default=10.0)
    args = parser.parse_args()
    if os.geteuid() != 0 or guests.missing_tools():
        print(f"Needs root and the Debian packages {guests.missing_tools()}.", file=sys.stderr)
        return 2
    prefix = f"xt-dp-b{secrets.token_hex(2)}"
    with tempfile.TemporaryDirectory() as state, \
            guests.Segment(prefix, "10.213.9.0/24", state_root=state) as segment:
        a, b = segment.guest(prefix + "a"), segment.guest(prefix + "b")
        print(f"guests {a.name} {a.ip} -> {b.name} {b.ip}, {args.rate:g} samples/s per probe "
              f"(ICMP timeout {dp.DEFAULT_ICMP_TIMEOUT} s, TCP {dp.DEFAULT_TCP_TIMEOUT} s)")
        print("\naccuracy (seconds): planted | path measured ± uncertainty, error | "
              "icmp error | tcp error | within")
        for planted in (float(x) for x in args.plants.split(",")):
            rows = [accuracy(a, b, planted, args.rate) for _ in range(args.runs)]
            for row in rows:
                p = row["path"]
                more = "" if p["outages"] == 1 else f" ({p['outages']} outages)"
                print(f"  {planted:5.2f} -> {row['planted']:.3f} (cmds ±{row['spread']:.3f}) | "
                      f"{p['measured']:.3f} ± {p['uncertainty']:.3f}, {p['error']:+.3f} | "
                      f"{row['icmp']['error']:+.3f} | {row['tcp']['error']:+.3f} | "
                      f"{'yes' if p['within'] else 'NO'}"
                      f"{more}")
            errors = [abs(r["path"]["error"]) for r in rows]
            within = sum(r["path"]["within"] and r["icmp"]["within"] and r["tcp"]["within"]
                         for r in rows)
            print(f"  {planted:5.2f} s: |error| mean {statistics.mean(errors):.3f} s, max "
                  f"{max(errors):.3f} s; path, icmp and tcp within their uncertainty in "
                  f"{within}/{len(rows)} runs")
        print(f"\ncost ({args.cost_seconds:g} s each, this process; 1 core = 100 %):")
        for paths in (1, 2, 4):
            found = cost([(a, b), (b, a)], paths, args.cost_seconds, args.rate)
            print(f"  {paths} path(s): CPU {100 * found['cpu_share']:.2f} % "
                  f"({100 * found['cpu_per_path']:.2f} % per path), "
                  f"{found['samples_per_second']:.1f} samples/s per path (ICMP + TCP), "
                  f"{found['lost']} lost, lag p99 {1000 * found['lag_p99']:.2f} ms, "
                  f"{found['missed']} missed slots; guests' echo services "
                  f"{100 * found['echo_cpu_share']:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())

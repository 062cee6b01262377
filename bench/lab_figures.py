"""Figures of the lab: time to a serving cloud, memory, idle CPU.

    python bench/lab_figures.py                       # memory and idle CPU of the running lab
    python bench/lab_figures.py --up --old-release    # also: down, then time `extreme lab up`

Targets (issue 21, the clustered lab): `up --old-release` <= 120 s with packages installed,
total RSS <= 4.5 GiB.
Memory is summed over every process inside the lab's namespaces plus its BMCs;
PSS (proportional set size) counts shared pages once, RSS counts them in every process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from ExtremeTesting.lab import lab, paths


def lab_pids() -> list[int]:
    pids = []
    for ns in lab.leftover_namespaces():
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        pids += [int(p) for p in out.stdout.split()]
    pids += lab.bmc_pids(lab.read_state())  # the base nodes share one BMC process
    return sorted(set(pids))


def memory(pids: list[int]) -> tuple[int, int]:
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss * 1024, pss * 1024


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            continue
    return total / ticks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--up", action="store_true", help="take the lab down and time 'up'")
    parser.add_argument("--old-release", action="store_true",
                        help="with --up: 'extreme lab up --old-release' (as ./run does)")
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    extreme = [sys.executable, "-m", "ExtremeTesting.cli"]
    if args.up:
        subprocess.run([*extreme, "lab", "down"], check=True)
        start = time.monotonic()
        up = [*extreme, "lab", "up"] + (["--old-release"] if args.old_release else [])
        subprocess.run(up, check=True, stdout=subprocess.DEVNULL)
        print(f"{' '.join(['extreme'] + up[3:])}, to a serving cloud: "
              f"{time.monotonic() - start:.1f} s (target <= 120 s)")
    if lab.read_state().get("phase") != "up":
        print("the lab is not up: run 'extreme lab up' (or pass --up)")
        return 1
    pids = lab_pids()
    rss, pss = memory(pids)
    print(f"lab processes: {len(pids)}")
    print(f"total RSS: {rss / 2**30:.2f} GiB (target <= 4.5 GiB); total PSS: {pss / 2**30:.2f} GiB")
    before, start = cpu_seconds(pids), time.monotonic()
    time.sleep(args.idle_seconds)
    used = cpu_seconds(lab_pids()) - before
    wall = time.monotonic() - start
    print(f"idle CPU over {wall:.0f} s: {100 * used / wall:.1f} % of one core "
          f"({100 * used / wall / os.cpu_count():.1f} % of {os.cpu_count()} cores)")
    print(f"(lab folder {paths.root()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

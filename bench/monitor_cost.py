"""What the availability monitor's own probes cost the cloud: the lab's CPU for each group.

Each group of probes runs alone for --seconds at the target's rates (its probes section:
rate, read_rate, write_rate, token), after as long with no probe at all; the figure is the
CPU the lab's processes used above that idle figure, and the CPU of this process (the
monitor) beside it. On a 2-core lab the monitor must leave the cloud most of its capacity:
a backlog built during a fault drains only with the CPU left over (see the probes section
of variables/lab-expectations.yaml).

    eval "$(extreme lab env)"; python bench/monitor_cost.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_figures import cpu_seconds, lab_pids  # noqa: E402

from ExtremeTesting.lab import lab  # noqa: E402
from ExtremeTesting.monitor import Monitor  # noqa: E402

GROUPS = {
    "version documents": (["version-identity", "version-compute", "version-image",
                           "version-placement", "version-network"], None),
    "token": (["token"], None),
    "authenticated reads": (["read-projects", "read-servers", "read-images",
                             "read-networks"], None),
    "network writes": (["write-network"], ["network"]),
}


def used(seconds: float) -> tuple[float, float]:
    """(lab CPU s, this process's CPU s) over ``seconds``."""
    lab_before, own_before = cpu_seconds(lab_pids()), sum(os.times()[:2])
    time.sleep(seconds)
    return cpu_seconds(lab_pids()) - lab_before, sum(os.times()[:2]) - own_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    if lab.read_state().get("phase") != "up":
        print("the lab is not up: run 'extreme lab up'")
        return 1
    target = os.environ.get("EXTREME_TARGET")
    if not target:
        print('EXTREME_TARGET is not set: eval "$(extreme lab env)" first')
        return 1
    monitor = Monitor(target)
    idle, _ = used(args.seconds)
    print(f"idle lab: {100 * idle / args.seconds:.0f} % of one core")
    total = 0.0
    for group, (probes, writes) in GROUPS.items():
        name = monitor.start_availability_monitor(
            name="cost", probes=probes, writes=writes, scope="global", baseline=timedelta(0),
            watch_load_balancer=False)
        try:
            rates = ", ".join(f"{p.name} {p.rate:g}/s"
                              for p in monitor._sessions[name].run.probes)
            lab_cpu, own_cpu = used(args.seconds)
        finally:
            monitor.stop_availability_monitor(name)
        cost = max(0.0, lab_cpu - idle) / args.seconds
        total += cost
        print(f"{group} ({rates}): the lab {100 * cost:.0f} % of one core, "
              f"the monitor {100 * own_cpu / args.seconds:.0f} %")
    print(f"all probes together: about {100 * total:.0f} % of one core of the lab's "
          f"{os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A node settles after a change: its CPU use back near what it was before.

A package change restarts several services of a node at once (python3-nova: nova-api,
conductor and scheduler); their start-up burns CPU for seconds after the rolled service
already answers. Returning the node to the load balancer in that burst makes the other
nodes' answers slow. So the roll-out measures the node's CPU use (every process the node
shows in /proc: on a server, all of it) while it is drained, before the change, and
returns it only once the use is back within a margin of that, or the wait ends.
"""

from __future__ import annotations

import shlex
import time

from .remote import Nodes

# One SSH call: the CPU seconds of every process over one second, in cores.
_SCRIPT = """\
import os, time
def used():
    ticks = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/" + pid + "/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                ticks[pid] = int(fields[11]) + int(fields[12])
            except (OSError, ValueError, IndexError):
                pass
    return ticks, time.monotonic()
a, t = used()
time.sleep(1)
b, u = used()
spent = sum(n - a.get(pid, 0) for pid, n in b.items())
print(round(spent / os.sysconf("SC_CLK_TCK") / (u - t), 3))
"""
CPU_COMMAND = f"python3 -c {shlex.quote(_SCRIPT)}"


def cpu_use(nodes: Nodes, node: str) -> float | None:
    """Cores the node's processes used over one second; None when it cannot tell."""
    found = nodes.run(node, CPU_COMMAND, check=False, timeout=30)
    try:
        return max(0.0, float(found.out.strip()))
    except ValueError:
        return None


def wait_settled(nodes: Nodes, node: str, before: float | None, margin: float,
                 timeout: float) -> tuple[bool, float | None, float]:
    """Polls until the node uses at most ``before + margin`` cores; returns (settled,
    last use, seconds waited). Without a ``before`` figure there is nothing to compare:
    settled at once."""
    if before is None:
        return True, None, 0.0
    started = time.monotonic()
    while True:
        last = cpu_use(nodes, node)
        waited = time.monotonic() - started
        if last is None or last <= before + margin:
            return last is not None, last, waited
        if waited >= timeout:
            return False, last, waited

"""Median seconds per fault action: the Faults library (os-faults + Ansible) beside the same
command over plain ssh, against the running lab (Keystone on ctl1).

    eval "$(extreme lab env)"; python bench/faults_actions.py [--repeat 5] [--json out.json]

os-faults alone was measured at 2-4.6 s an action, almost all ansible-playbook start-up;
this prints the library's figure, the plain-ssh figure, one SSH round trip (``ssh true``),
and the ratio to that round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time

from ExtremeTesting.faults import Faults
from ExtremeTesting.target import load

NODE = "ctl1"
SERVICE = "keystone"
GREP = "keystone-uwsgi"
# (label, library call, the same over ssh); each pair leaves keystone running again.
PAIRS = [
    ("restart", [("restart_service", {})], ["service keystone restart"]),
    ("kill / start", [("kill_service", {}), ("start_service", {})],
     [f"pkill -9 -f {GREP}", "service keystone start"]),
    ("freeze / unfreeze", [("freeze_service", {}), ("unfreeze_service", {})],
     [f"pkill -STOP -f {GREP}", f"pkill -CONT -f {GREP}"]),
    ("unplug / plug", [("unplug_service", {}), ("plug_service", {})],
     ["iptables -I INPUT -p tcp --dport 5000 -j DROP -m comment --comment bench",
      "iptables -D INPUT -p tcp --dport 5000 -j DROP -m comment --comment bench"]),
]


def ssh_command(target) -> list[str]:
    ssh = target.section("ssh")
    address = target.node(NODE)["address"]
    return ["ssh", "-i", str(target.resolve(ssh["private_key_file"])), "-p",
            str(ssh.get("port", 22)), "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=5", f"{ssh.get('username', 'root')}@{address}"]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=os.environ.get("EXTREME_TARGET"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    target = load(args.target)
    faults = Faults(str(target.path), auto_undo="MANUAL")
    ssh = ssh_command(target)

    def remote(command: str) -> None:
        subprocess.run([*ssh, command], check=True, timeout=120, capture_output=True)

    def wait_running() -> None:
        deadline = time.monotonic() + 60
        while subprocess.run([*ssh, "service keystone status"], timeout=30,
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("keystone on ctl1 did not come back within 60 s")
            time.sleep(0.5)

    rtt = [timed(lambda: remote("true")) for _ in range(args.repeat)]
    rows = []
    try:
        for label, calls, commands in PAIRS:
            lib_times: list[float] = []
            ssh_times: list[float] = []
            for _ in range(args.repeat):
                for name, kwargs in calls:
                    lib_times.append(timed(lambda: getattr(faults, name)(SERVICE, on=NODE,
                                                                         **kwargs)))
                wait_running()
                for command in commands:
                    ssh_times.append(timed(lambda: remote(command)))
                wait_running()
            rows.append({"action": label, "library_s": statistics.median(lib_times),
                         "ssh_s": statistics.median(ssh_times), "samples": len(lib_times)})
    finally:
        faults.restore_all_faults()
    rtt_median = statistics.median(rtt)
    print(f"one SSH round trip (ssh true): median {rtt_median:.3f} s over {len(rtt)}")
    print(f"{'action':<20}{'library s':>11}{'plain ssh s':>13}{'library/rtt':>13}")
    for row in rows:
        print(f"{row['action']:<20}{row['library_s']:>11.3f}{row['ssh_s']:>13.3f}"
              f"{row['library_s'] / rtt_median:>13.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"ssh_round_trip_s": rtt_median, "actions": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

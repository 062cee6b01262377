"""Latency of one power command per protocol, against a local lab BMC with a fake machine.

Starts ``python -m ExtremeTesting.lab.bmc`` on 127.0.0.1 (free ports, HTTPS Redfish as
in the lab), then times, per protocol, N power-state reads and N power commands
(off and on alternately) through the Power library's clients: IPMI logs in, sends one
command and logs out each time; Redfish is timed on a kept connection (what a keyword
pays after its first call) and on a fresh one (the first call). With ipmitool installed,
its ``power status`` is timed too, as an outside reference.

    .venv/bin/python bench/power_latency.py [-n 30]

Figures are wall-clock milliseconds on this machine (p50, p95, max). The time from
``Power On`` to a serving controller needs the lab: the Power library publishes it as
``power.boot_to_serving`` from ``Wait Until Node Accepts Connections``
(tests/lab/robot/power.robot).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ExtremeTesting.lab import bmc
from ExtremeTesting.power.clients import IpmiClient, RedfishClient
from ExtremeTesting.power.config import BmcProtocol, endpoints

ENV = "EXTREME_BENCH_BMC_PASSWORD"


def timed(call: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    row = {"what": name, "n": len(samples), "p50_ms": round(statistics.median(ordered), 1),
           "p95_ms": round(p95, 1), "max_ms": round(ordered[-1], 1)}
    print(f"{name:<44} n={row['n']:<4} p50 {row['p50_ms']:>7.1f} ms   "
          f"p95 {row['p95_ms']:>7.1f} ms   max {row['max_ms']:>7.1f} ms")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30, help="samples per figure")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    password = secrets.token_urlsafe(12)
    os.environ[ENV] = password
    with tempfile.TemporaryDirectory(prefix="power-bench-") as folder:
        work = Path(folder)
        process, ipmi_port, redfish_port = bmc.spawn(
            "bench", password, work / "bmc", fake_machine=work / "machine.json",
            exit_after=600)
        try:
            found = endpoints({"bench": {
                "protocol": "ipmi", "address": "127.0.0.1", "port": ipmi_port,
                "username": "admin", "password_env": ENV,
                "redfish": {"port": redfish_port}}}, "bench")
            ipmi = IpmiClient(found[BmcProtocol.IPMI])
            redfish = RedfishClient(found[BmcProtocol.REDFISH])
            ipmi.power_state()  # imports and first handshakes out of the figures
            redfish.power_state()
            rows = []
            toggle = {"on": True}

            def flip(client) -> Callable[[], None]:
                def call() -> None:
                    (client.power_off if toggle["on"] else client.power_on)()
                    toggle["on"] = not toggle["on"]
                return call

            print(f"BMC process on 127.0.0.1 (IPMI udp/{ipmi_port}, Redfish https/"
                  f"{redfish_port}), fake machine, {args.n} samples each")
            rows.append(summary("IPMI power status (login+cmd+logout)",
                                timed(ipmi.power_state, args.n)))
            rows.append(summary("IPMI power off/on", timed(flip(ipmi), args.n)))
            rows.append(summary("Redfish power status (kept connection)",
                                timed(redfish.power_state, args.n)))
            rows.append(summary("Redfish power off/on (kept connection)",
                                timed(flip(redfish), args.n)))
            rows.append(summary("Redfish power status (fresh connection)", timed(
                lambda: RedfishClient(found[BmcProtocol.REDFISH]).power_state(), args.n)))
            if shutil.which("ipmitool"):
                command = ["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p",
                           str(ipmi_port), "-U", "admin", "-E", "power", "status"]
                env = {"IPMI_PASSWORD": password, "PATH": os.environ["PATH"]}
                rows.append(summary("ipmitool power status (process)", timed(
                    lambda: subprocess.run(command, env=env, capture_output=True,
                                           timeout=20, check=True), args.n)))
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))
        finally:
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How exactly the monitor measures a planted outage: |measured - planted| for 1, 3, 10 s.

Local (default): a fake cloud on 127.0.0.1 answers 503 for exactly the planted time.
Lab (``--target FILE``, for the lead once the lab runs): both Keystone backends are
disabled through HAProxy's admin socket (``load_balancer.admin_socket`` in the target file) and
enabled again; probes are the target's identity version document and token validation.
Target (issue 6): error <= 0.2 s at 10 probes/s.

    .venv/bin/python bench/monitor_accuracy.py [--plants 1,3,10] [--rate 10]
    .venv/bin/python bench/monitor_accuracy.py --target /var/lib/extreme-lab/target.yaml
    .venv/bin/python bench/monitor_accuracy.py --partial     # one backend of two black-holed

``--partial`` (local): the fake cloud hangs every other request for the planted time, as
one backend of two black-holed while the balancer keeps it: the longest outage is one
sample, and the failing time during the plant (the sum of the outages) should be half of
(planted - timeout): a request that hangs in the last timeout before the plant ends is
answered when it ends (as a frozen backend that resumes), and so succeeds.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from ExtremeTesting import events
from ExtremeTesting.monitor.fakecloud import FakeCloud
from ExtremeTesting.monitor.probes import GetProbe, Probe
from ExtremeTesting.monitor.session import MonitorSession

CALM = 2.0  # seconds of healthy service before and after each plant


def lab_planter(target_file: str, backend: str, servers: list[str]):
    from ExtremeTesting.monitor.haproxy import set_servers
    from ExtremeTesting.target import load

    target = load(target_file)
    socket_path = str(target.resolve(target.section("load_balancer")["admin_socket"]))

    def down() -> float:
        return set_servers(socket_path, backend, servers, False)

    def up() -> float:
        return set_servers(socket_path, backend, servers, True)

    return target, down, up


def lab_probes(target, rate: float) -> list[Probe]:
    from ExtremeTesting.monitor.config import build_probes, credentials, run_prefix, settings
    from ExtremeTesting.monitor.probes import TokenHolder

    endpoints = {k: str(v) for k, v in target.section("endpoints").items()}
    found = settings({"rate": rate, "versions": ["identity"], "reads": []}, endpoints)
    creds = credentials(target)
    tokens = TokenHolder(creds.auth_url, creds.body, verify=creds.verify)
    return build_probes(found, endpoints, tokens, run_prefix("bench"), creds.verify)


def plant(probes: list[Probe], seconds: float, down: Callable[[], float],
          up: Callable[[], float]) -> dict:
    session = MonitorSession("accuracy", probes, settle=0)
    session.start()
    time.sleep(CALM)  # healthy before
    started = down()
    time.sleep(seconds)  # the planted outage
    ended = up()
    time.sleep(CALM)  # healthy after
    result = session.stop(draw=False)
    origin = session.run.origin
    planted = ended - started
    found = {"planted": planted, "cpu": result["cpu_share"]}
    for name, figures in [("overall", result["overall"]), *result["probes"].items()]:
        windows = figures["outages"]
        if not windows:
            found[name] = {"measured": 0.0, "error": planted, "windows": 0}
            continue
        longest = max(windows, key=lambda w: w["duration"])
        found[name] = {
            "measured": longest["duration"], "error": abs(longest["duration"] - planted),
            "edge_errors": (longest["start"] - (started - origin),
                            longest["end"] - (ended - origin)),
            "uncertainty": longest["uncertainty"], "windows": len(windows)}
    return found


def partial(seconds: list[float], rate: float) -> None:
    """One probe on the fake cloud, every other request of it hanging for each plant."""
    print(f"{'planted s':>9} {'longest s':>9} {'failing s':>9} {'± s':>6} "
          f"{'expected s':>10} {'share %':>7}")
    with FakeCloud() as cloud:
        for planted in seconds:
            probe = GetProbe("version", url=f"{cloud.url}/", rate=rate, timeout=0.5)
            session = MonitorSession("partial", [probe], settle=0)
            session.start()
            time.sleep(CALM)  # healthy before
            events.publish("bench", "in effect", "black-hole", "every other request")
            cloud.down("every other hangs")
            time.sleep(planted)  # the planted partial outage
            cloud.up()
            events.publish("bench", "undone", "black-hole", "every other request")
            time.sleep(CALM)  # healthy after
            figures = session.stop(draw=False)["probes"]["version"]
            during = figures["partial"]["during"]
            longest = figures["longest_outage"]["duration"] if figures["longest_outage"] \
                else 0.0
            print(f"{planted:9.3f} {longest:9.3f} {during['failing_time']:9.3f} "
                  f"{during['uncertainty']:6.3f} {(planted - probe.timeout) / 2:10.3f} "
                  f"{during['failed_share'] or 0:7.1f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", default="1,3,10", help="outage lengths in seconds")
    parser.add_argument("--rate", type=float, default=10.0, help="samples/s per probe")
    parser.add_argument("--target", help="lab target file: plant through HAProxy")
    parser.add_argument("--backend", default="keystone")
    parser.add_argument("--servers", default="ctl1,ctl2")
    parser.add_argument("--partial", action="store_true",
                        help="plant partial outages (local): every other request hangs")
    args = parser.parse_args()
    plants = [float(p) for p in args.plants.split(",")]
    if args.partial:
        partial(plants, args.rate)
        return 0
    print(f"{'planted s':>9} {'probe':>18} {'measured s':>10} {'|error| s':>9} "
          f"{'± s':>6} {'start err':>9} {'end err':>8} {'windows':>7} {'CPU':>6}")
    cloud = None
    up: Callable[[], float] | None = None
    try:
        if args.target:
            target, down, up = lab_planter(args.target, args.backend, args.servers.split(","))
            make = lambda: lab_probes(target, args.rate)  # noqa: E731
        else:
            cloud = FakeCloud().__enter__()
            down, up = (lambda: cloud.down("503")), cloud.up
            make = lambda: [GetProbe(f"version-{i}", url=f"{cloud.url}/v{i}",  # noqa: E731
                                     rate=args.rate, timeout=1.0) for i in range(2)]
        for seconds in plants:
            found = plant(make(), seconds, down, up)
            for name, figures in found.items():
                if name in ("planted", "cpu"):
                    continue
                start_err, end_err = figures.get("edge_errors", (float("nan"),) * 2)
                print(f"{found['planted']:9.3f} {name:>18} {figures['measured']:10.3f} "
                      f"{figures['error']:9.3f} {figures.get('uncertainty', 0):6.3f} "
                      f"{start_err:9.3f} {end_err:8.3f} {figures['windows']:7d} "
                      f"{found['cpu']:6.3f}", flush=True)
    finally:
        if cloud is not None:
            cloud.__exit__(None, None, None)
        if args.target and up is not None:
            up()  # never leave the backends disabled
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`extreme target discover`: write a target file from a running cloud, or check one.

    extreme target discover --cloud NAME --ssh-key KEY --lb ADDRESS [-o target.yaml]
    extreme target discover --check target.yaml

Exit codes: 0 written (or no difference), 1 differences found, 2 an error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from ..errors import ExtremeError
from . import build, check, gather, render

USAGE_EPILOG = """\
Discovery reads the catalog, Nova's compute services and hypervisors and Neutron's agents
(openstacksdk, the cloud's clouds.yaml entry), HAProxy's configuration on the load
balancer's node, and each node's hostname, processes and listening ports over SSH (key
login). It changes nothing and writes no secret. What it cannot find is a commented line
saying what to fill in.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="extreme target discover", epilog=USAGE_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Write a target file from a running cloud, or "
                                            "name every difference between one and the cloud.")
    p.add_argument("--check", metavar="TARGET",
                   help="compare this target file with the cloud (seeds from the file)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    p.add_argument("--cloud", default="", help="clouds.yaml entry (default $OS_CLOUD)")
    p.add_argument("--clouds-yaml", default="", help="clouds.yaml file to write in the target")
    p.add_argument("--region", default="")
    p.add_argument("--ssh-user", default="root")
    p.add_argument("--ssh-key", default="", help="private key that logs in to every node")
    p.add_argument("--ssh-port", type=int, default=22)
    p.add_argument("--lb", default="", metavar="ADDRESS",
                   help="address of the node running HAProxy (default: the VIP)")
    p.add_argument("--node", action="append", default=[], metavar="NAME=ADDRESS",
                   help="a node to read as well (repeatable)")
    p.add_argument("--bmc", action="append", default=[], metavar="NODE=ADDRESS",
                   help="a node's BMC, ipmi by default or NODE=redfish://ADDRESS")
    p.add_argument("--bmc-user", default="")
    p.add_argument("--bmc-password-env", default="EXTREME_BMC_PASSWORD",
                   help="environment variable that will hold the BMC password")
    p.add_argument("--name", default="discovered", help="the target's name")
    p.add_argument("--timeout", type=float, default=20.0,
                   help="seconds for each SSH command and API call")
    return p


def _pairs(values: list[str], what: str) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, address = value.partition("=")
        if not sep or not name or not address:
            raise ExtremeError(f"{what} '{value}': write NAME=ADDRESS, e.g. ctl1=10.0.0.11.")
        found[name] = address
    return found


def options_of(args: argparse.Namespace) -> build.Options:
    bmcs = {}
    for node, address in _pairs(args.bmc, "--bmc").items():
        match = re.match(r"^(ipmi|redfish)://(.+)$", address)
        bmcs[node] = (match.group(1), match.group(2)) if match else ("ipmi", address)
    if args.ssh_key and not Path(args.ssh_key).expanduser().is_file():
        raise ExtremeError(f"--ssh-key {args.ssh_key}: no such file. Give the private key "
                           "that logs in to every node.")
    return build.Options(
        cloud=args.cloud or os.environ.get("OS_CLOUD", ""), clouds_yaml=args.clouds_yaml,
        region=args.region, ssh_user=args.ssh_user,
        ssh_key=str(Path(args.ssh_key).expanduser()) if args.ssh_key else "",
        ssh_port=args.ssh_port, lb=args.lb, nodes=_pairs(args.node, "--node"), bmcs=bmcs,
        bmc_user=args.bmc_user, bmc_password_env=args.bmc_password_env,
        timeout=args.timeout, name=args.name)


def ssh_runner(options: build.Options) -> gather.Runner:
    from .. import loadbalancer
    from ..target import Target

    ssh = {"username": options.ssh_user, "port": options.ssh_port}
    if options.ssh_key:
        ssh["private_key_file"] = options.ssh_key
    return loadbalancer.ssh_runner(Target(Path("discover.yaml"), {"ssh": ssh}))


def read_cloud(options: build.Options, target=None) -> gather.CloudView:
    from datetime import timedelta

    from ..cloud import connection

    settings = connection.settings_for(target, options.cloud or None,
                                       api_timeout=timedelta(seconds=options.timeout))
    if options.clouds_yaml and settings.clouds_yaml is None:
        settings.clouds_yaml = Path(options.clouds_yaml)
    if not settings.cloud:
        raise ExtremeError("Name the cloud: --cloud NAME (a clouds.yaml entry), or set "
                           "$OS_CLOUD.")
    if options.region:
        settings.region = options.region
    conn = connection.connect(settings)
    try:
        return gather.read_cloud(conn, options.region or None)
    finally:
        conn.close()


def run(options: build.Options, target_data: dict | None = None, target=None,
        runner: gather.Runner | None = None) -> build.Discovery:
    started = time.monotonic()
    cloud = read_cloud(options, target)
    found = build.discover(options, cloud, runner or ssh_runner(options))
    found.seconds = time.monotonic() - started
    return found


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        if args.check:
            return _check(args)
        options = options_of(args)
        if args.output and Path(args.output).exists() and not args.force:
            raise ExtremeError(f"{args.output} exists: give --force to overwrite it, or "
                               "another --output.")
        found = run(options)
        text = render.render(found, options.cloud)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        data = found.data
        print(f"extreme target discover: {len(data.get('nodes') or {})} nodes, "
              f"{len(data.get('services') or {})} services in {found.seconds:.1f} s; "
              f"{len(found.notes)} things to fill in"
              + (f"; written to {args.output}" if args.output else ""), file=sys.stderr)
        return 0
    except ExtremeError as error:
        print(f"extreme target discover: {error}", file=sys.stderr)
        return 2


def _check(args: argparse.Namespace) -> int:
    from .. import target as target_module

    target = target_module.load(args.check)
    options = check.options_from_target(target.data, options_of(args))
    key = (target.data.get("ssh") or {}).get("private_key_file")
    if key and not options.ssh_key:
        options.ssh_key = str(target.resolve(str(key)))
    runner = ssh_runner(options)
    found = run(options, target.data, target, runner)
    diffs = check.differences(target.data, found)
    diffs += check.log_differences(target.data, found, runner, options.timeout)
    for note in found.notes:
        print(f"note: {note}")
    for diff in diffs:
        print(f"DIFFERENCE: {diff}")
    print(f"extreme target discover --check {args.check}: "
          f"{len(diffs) or 'no'} difference{'s' if len(diffs) != 1 else ''} "
          f"({found.seconds:.1f} s)")
    return 1 if diffs else 0

"""`extreme lab install | up | down | status [--json] | ssh NODE [CMD...] | env | power |
check-data-plane | add-node NAME --role ROLE | remove-node NAME`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import lab, paths, scaling, targetfile
from . import topology as topo
from .machine import Machine
from .shell import LabError

# Every node a command may name: those `up` makes and those `add-node` may add.
NODE_NAMES = [n.name for n in topo.NODES + topo.SPARE_NODES]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="extreme lab", description=(
        "A real OpenStack cloud (Debian's packages) in Linux namespaces on this machine. "
        f"Files live in {paths.root()} ($EXTREME_LAB_DIR)."))
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("install", help="install Debian's packages (idempotent, quick if present)")
    up = sub.add_parser("up", help="install if needed, build the lab, wait until it serves")
    up.add_argument("--no-verify", action="store_true",
                    help="skip the server lifecycle check at the end")
    up.add_argument("--old-release", action="store_true",
                    help="run the older of the mirror's two Keystone and Nova revisions "
                         "(for a rolling upgrade to the newer one)")
    sub.add_parser("down", help="remove every namespace, process, link and file of the lab")
    st = sub.add_parser("status", help="what runs where")
    st.add_argument("--json", action="store_true")
    ssh = sub.add_parser("ssh", help="open a shell (or run CMD) on a node over SSH")
    ssh.add_argument("node", choices=NODE_NAMES + [topo.SWITCH])
    ssh.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("env", help="print the exports a run needs (credentials included)")
    check = sub.add_parser("check-data-plane", help=(
        "boot a server behind an HA router with a floating IP, check the client namespace "
        "gets ICMP and TCP echo answers from it, remove it all"))
    check.add_argument("--timeout", type=float, default=120,
                       help="seconds for each wait (default 120)")
    check.add_argument("--keep", action="store_true",
                       help="leave what it made in place (to debug it)")
    power = sub.add_parser("power", help="press a node's power button (without its BMC)")
    power.add_argument("node", choices=NODE_NAMES)
    power.add_argument("state", choices=["on", "off", "soft-off", "reset", "status"])
    spares = ", ".join(f"{n.name} ({n.roles[0]})" for n in topo.SPARE_NODES)
    add = sub.add_parser("add-node", help=(
        f"add a node while the lab runs ({spares}): built like the others of its role, "
        "written into the target file"))
    add.add_argument("name", help=f"the node to add: {spares}")
    add.add_argument("--role", required=True, choices=list(scaling.ROLES),
                     help="compute (like cmp1) or controller (the API services)")
    remove = sub.add_parser("remove-node", help=(
        "remove a node 'add-node' added: its services stopped and deleted from the cloud, "
        "out of HAProxy, the switch, the BMCs and the target file"))
    remove.add_argument("name", help="a node 'add-node' added")
    return p



def print_status(data: dict) -> None:
    print(f"lab: {data['phase']}  (dir {data['dir']}, VIP {data['vip']})")
    if data.get("up_seconds"):
        print(f"came up in {data['up_seconds']} s")
    if data.get("release"):
        print(f"Keystone and Nova: the {data['release']} release "
              f"({'--old-release' if data['release'] == 'old' else 'the newest'})")
    for node in data["nodes"]:
        services = ", ".join(f"{s['name']}:{s['state']}" for s in node["services"])
        added = f"  (added by add-node: {node['added']})" if node.get("added") else ""
        print(f"  {node['name']:<5} {node['address']:<14} power {node['power']:<4} "
              f"{'/'.join(node['roles']):<20} {services}{added}")
    for what, path in data.get("files", {}).items():
        print(f"  {what:<12} {path}")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        if args.action == "install":
            lab.install()
        elif args.action == "up":
            lab.install()
            lab.up(verify=not args.no_verify, old_release=args.old_release)
        elif args.action == "down":
            lab.down()
        elif args.action == "status":
            data = lab.status()
            if args.json:
                print(json.dumps(data, indent=1))
            else:
                print_status(data)
        elif args.action == "env":
            require_up()
            print(targetfile.shell_exports(json.loads((paths.root() / "secrets.json").read_text())))
        elif args.action == "add-node":
            scaling.add_node(args.name, args.role)
        elif args.action == "remove-node":
            scaling.remove_node(args.name)
        elif args.action == "ssh":
            require_up()
            require_present(args.node)
            address = (topo.SWITCH_MGMT_ADDRESS if args.node == topo.SWITCH
                       else topo.node(args.node).address)
            cmd = ["ssh", "-i", targetfile.key_path(), "-o", "StrictHostKeyChecking=no",
                   "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                   "-o", "ConnectTimeout=5", f"root@{address}", *args.command]
            os.execvp("ssh", cmd)
        elif args.action == "check-data-plane":
            require_up()
            from .dpcheck import check_data_plane

            values = json.loads((paths.root() / "secrets.json").read_text())
            result = check_data_plane(values["admin"], args.timeout, args.keep)
            for what, seconds in result["steps"]:
                print(f"  {seconds:6.1f} s  {what}")
            print(f"data plane OK: {result['floating_ip']} answers from "
                  f"{paths.netns(topo.CLIENT)}" + (f" (kept: {result['ids']})" if args.keep
                                                   else ""))
            if result["left"]:
                print("could not remove: " + "; ".join(result["left"]), file=sys.stderr)
                return 1
        elif args.action == "power":
            require_up()
            require_present(args.node)
            machine = Machine(args.node)
            {"on": machine.power_on, "off": machine.power_off, "reset": machine.reset,
             "soft-off": machine.soft_power_off, "status": lambda: None}[args.state]()
            print(f"{args.node}: power {'on' if machine.is_on() else 'off'}")
    except LabError as error:
        print(f"extreme lab {args.action}: {error}", file=sys.stderr)
        return 1
    return 0


def require_up() -> None:
    if lab.read_state().get("phase") != "up":
        raise LabError("the lab is not up: run 'extreme lab up'")


def require_present(node: str) -> None:
    """A node `add-node` may add exists only once added."""
    if topo.spare(node) is not None and node not in lab.added_nodes():
        raise LabError(f"{node} is not in the lab: 'extreme lab add-node {node} --role "
                       f"{topo.role_of(node)}' adds it")

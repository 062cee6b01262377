#!/usr/bin/python3
"""The lab switch's command line, installed as ``switch`` inside the switch node.

Standard library only: it runs with the system's Python 3 inside the switch's namespaces.
The switch's ports are the interfaces enslaved to the bridge (``br0``)::

    switch show ports [--json]        port, admin state, oper state, peer
    switch port NAME down|up          one port
    switch restart [--down-seconds N] all ports down now, back after N s (1..300, default 10)
    switch status [--json]            bridge, ports up, restart in progress

``restart`` returns at once: a detached process (its own session) brings the ports back,
so the SSH session that asked can end (it is cut anyway). A port's *peer* is its
interface alias (``ip link set PORT alias ctl1``), else the veth peer's name.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

BRIDGE = os.environ.get("SWITCH_BRIDGE", "br0")
DEFAULT_DOWN = 10
MIN_DOWN, MAX_DOWN = 1, 300
IP = "ip"


def state_file() -> str:
    return os.environ.get("SWITCH_STATE_FILE", f"/run/switch-{socket.gethostname()}.json")


def run(argv: list[str]) -> str:
    """Run a command; on failure raise SystemExit with its error."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SystemExit(f"switch: {' '.join(argv)} failed: {error}") from None
    if done.returncode != 0:
        raise SystemExit(f"switch: {' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout


def ports() -> list[dict]:
    """The bridge's ports, as ``{name, admin, oper, peer}``, sorted by name."""
    links = json.loads(run([IP, "-j", "link", "show", "master", BRIDGE]) or "[]")
    found = []
    for link in links:
        flags = link.get("flags") or []
        found.append({
            "name": link["ifname"],
            "admin": "up" if "UP" in flags else "down",
            "oper": str(link.get("operstate", "UNKNOWN")).lower(),
            "peer": link.get("ifalias") or link.get("link") or "-",
        })
    return sorted(found, key=lambda port: port["name"])


def set_port(name: str, state: str) -> list[str]:
    """The command that sets one port ``up`` or ``down``."""
    return [IP, "link", "set", "dev", name, state]


def read_state() -> dict:
    try:
        with open(state_file()) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_state(data: dict) -> None:
    path = state_file()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def pending_restart(now: float | None = None) -> dict | None:
    """The restart in progress, if its helper still runs."""
    state = read_state()
    if not state.get("pid"):
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except (ProcessLookupError, PermissionError, ValueError):
        return None
    return state


def down_seconds(value: str) -> int:
    seconds = int(value)
    if not MIN_DOWN <= seconds <= MAX_DOWN:
        raise argparse.ArgumentTypeError(f"must be between {MIN_DOWN} and {MAX_DOWN}")
    return seconds


def helper_command(names: list[str], until: float) -> list[str]:
    """The detached process that brings ``names`` back up at ``until`` (epoch seconds)."""
    return [sys.executable, os.path.abspath(__file__), "_bring-up", "--until", f"{until:.3f}",
            *names]


def cmd_show_ports(args) -> int:
    found = ports()
    if args.json:
        print(json.dumps(found))
        return 0
    print(f"{'PORT':<16}{'ADMIN':<7}{'OPER':<16}PEER")
    for port in found:
        print(f"{port['name']:<16}{port['admin']:<7}{port['oper']:<16}{port['peer']}")
    return 0


def cmd_port(args) -> int:
    names = [port["name"] for port in ports()]
    if args.name not in names:
        print(f"switch: no port {args.name} on {BRIDGE}; ports: {', '.join(names) or 'none'}",
              file=sys.stderr)
        return 2
    run(set_port(args.name, args.state))
    print(f"port {args.name} {args.state}")
    return 0


def cmd_restart(args) -> int:
    previous = pending_restart()
    if previous and int(previous["pid"]) != os.getpid():  # a second restart replaces the first
        try:
            os.kill(int(previous["pid"]), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    names = [port["name"] for port in ports()]
    now = time.time()
    until = now + args.down_seconds
    for name in names:
        run(set_port(name, "down"))
    helper = subprocess.Popen(helper_command(names, until), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True, close_fds=True)
    write_state({"pid": helper.pid, "down_at": now, "until": until, "ports": names})
    back = time.strftime("%H:%M:%S", time.localtime(until))
    print(f"restarting: {len(names)} ports down; back at {back} (in {args.down_seconds} s)")
    return 0


def cmd_bring_up(args) -> int:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    delay = args.until - time.time()
    if delay > 0:
        time.sleep(min(delay, MAX_DOWN))
    for name in args.names:
        subprocess.run(set_port(name, "up"), capture_output=True, timeout=10, check=False)
    state = read_state()
    if state.get("pid") == os.getpid():
        write_state({"up_at": time.time(), "ports": args.names})
    return 0


def cmd_status(args) -> int:
    found = ports()
    up = sum(1 for port in found if port["admin"] == "up")
    pending = pending_restart()
    status = {"switch": socket.gethostname(), "bridge": BRIDGE, "ports": len(found),
              "ports_up": up, "restarting": bool(pending),
              "back_in": round(max(pending["until"] - time.time(), 0), 1) if pending else 0}
    if args.json:
        print(json.dumps(status))
        return 0
    print(f"switch {status['switch']}: bridge {BRIDGE}, {up}/{len(found)} ports up"
          + (f", restarting (back in {status['back_in']:g} s)" if pending else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="switch", description="The lab switch.")
    sub = top.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="show ports")
    show.add_argument("what", choices=["ports"])
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show_ports)
    port = sub.add_parser("port", help="take one port down or up")
    port.add_argument("name")
    port.add_argument("state", choices=["down", "up"])
    port.set_defaults(func=cmd_port)
    restart = sub.add_parser("restart", help="all ports down, back after --down-seconds")
    restart.add_argument("--down-seconds", type=down_seconds, default=DEFAULT_DOWN,
                         metavar="N", help=f"{MIN_DOWN}..{MAX_DOWN}, default {DEFAULT_DOWN}")
    restart.set_defaults(func=cmd_restart)
    status = sub.add_parser("status", help="bridge, ports up, restart in progress")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    bring_up = sub.add_parser("_bring-up", help=argparse.SUPPRESS)
    bring_up.add_argument("--until", type=float, required=True)
    bring_up.add_argument("names", nargs="*")
    bring_up.set_defaults(func=cmd_bring_up)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

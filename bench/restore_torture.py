"""Restore under torture: kill a destructive run at a random moment, then `extreme recover`,
and count what the lab still has broken (goal: 0).

    flock /tmp/xt-lab.lock python bench/restore_torture.py [--runs 10] [--seed S]
        [--add-node cmp2 --kill-before 90]

Each run starts a small suite (freeze nova-scheduler on ctl1, unplug glance-api on ctl2,
power cmp1 off through its BMC; when the target has clusters: also one cluster fault in
each cluster, on one member picked at random, so quorum holds: the kind turns with the
run, so that 4 runs in a row kill, stop, freeze and partition a member of each cluster;
hold; with --add-node, first `Add Compute Node` of that node, whose undo is its removal),
SIGKILLs
the whole robot process group at a random moment between 0.5 s and --kill-before s (so
also in the middle of an injection), runs `extreme recover` and counts on the lab:
  stopped     processes in state T (frozen) on any node
  drops       iptables DROP rules in any node (partition rules and Neutron's own
              security-group chains apart)
  partitions  iptables rules of a cluster partition (comment extreme-fault-...) left
  members     cluster members not back in a whole cluster --settle s after recover
              (stopped, not Synced, partitioned: each as the steady state names it)
  off         nodes powered off
  drained     HAProxy servers in MAINT or DRAIN
  added       nodes added to the lab (`extreme lab status` marks them) still there: the
              ledger's undo of an addition is the node's removal
  files       changed files: no fault changes files yet (issue 11), so not counted
It prints one line a run and the totals, with the time recover took. Whatever recover
left is then repaired (power on, SIGCONT, the DROP rules removed, members started,
servers enabled, added nodes removed), so the lab stays healthy; that repair is counted,
never hidden. Every step has a timeout: a run is bounded by --kill-before + recover's
300 s (900 s with --add-node) + --settle + 2 min of counting and repair (15 more with an
added node left).
Needs the lab up and its environment ($EXTREME_TARGET etc.: read from `extreme lab env`
when unset). Credentials are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ExtremeTesting import clusters, loadbalancer
from ExtremeTesting.clusters.reader import Shell
from ExtremeTesting.faults.clusters import COMMENT_PREFIX, Operator
from ExtremeTesting.monitor import haproxy
from ExtremeTesting.target import load

SUITE = """\
*** Settings ***
Library    ExtremeTesting.Faults    ${TARGET}
Library    ExtremeTesting.Power    ${TARGET}
{changes_library}
*** Test Cases ***
Torture
{add_node}    Freeze Service    nova-scheduler    on=ctl1
    Unplug Service    glance-api    on=ctl2
    Power Off    cmp1
{cluster_faults}    Sleep    120 s    hold every fault until killed
"""
# One member of a cluster, each kind undone its own way by `extreme recover`: start (kill,
# stop), SIGCONT (freeze), the iptables rules with the fault's comment removed (partition).
CLUSTER_FAULTS = {
    "kill": "Kill Cluster Member    {cluster}    {member}",
    "stop": "Stop Cluster Member    {cluster}    {member}",
    "freeze": "Freeze Cluster Member    {cluster}    {member}",
    "partition": "Partition Cluster Member    {cluster}    {member}    from the others",
}
KINDS = tuple(CLUSTER_FAULTS)
NODES = ("lb", "ctl1", "ctl2", "db", "cmp1")


def cluster_faults(members: dict[str, list[str]], index: int, rng: random.Random
                   ) -> list[tuple[str, str, str]]:
    """(kind, cluster, member) for run ``index``: one fault in each cluster (quorum holds),
    the kind turning with the run and shifted per cluster, the member picked at random."""
    return [(KINDS[(index + shift) % len(KINDS)], cluster, rng.choice(sorted(names)))
            for shift, (cluster, names) in enumerate(sorted(members.items()))]


def suite_text(faults: list[tuple[str, str, str]], add_node: str = "") -> str:
    """The torture suite: ``add_node`` (a node the lab adds, e.g. cmp2) added first when
    given, then the service and power faults, one fault per cluster, the hold."""
    lines = "".join(f"    {CLUSTER_FAULTS[kind].format(cluster=cluster, member=member)}\n"
                    for kind, cluster, member in faults)
    added = f"    Add Compute Node    {add_node}\n" if add_node else ""
    library = "Library    ExtremeTesting.Changes    ${TARGET}\n" if add_node else ""
    # not format: ${TARGET} has braces
    return (SUITE.replace("{cluster_faults}", lines).replace("{add_node}", added)
            .replace("{changes_library}", library))


def lab_environment() -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("EXTREME_TARGET") or not env.get("EXTREME_LAB_BMC_PASSWORD"):
        exports = subprocess.run(["extreme", "lab", "env"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
        for line in exports.splitlines():
            if line.startswith("export "):
                key, _, value = line[7:].partition("=")
                env[key] = shlex.split(value)[0] if value else ""
    return env


def lab_status() -> dict:
    out = subprocess.run(["extreme", "lab", "status", "--json"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return json.loads(out)


def on_node(node: str, command: str, timeout: float = 20) -> str:
    done = subprocess.run(["extreme", "lab", "ssh", node, command], capture_output=True,
                          text=True, timeout=timeout)
    return done.stdout


def cluster_members(target, settle: float) -> list[str]:
    """Members not back in a whole cluster within ``settle`` s (a restarted member may
    still be joining when recover returns), as the steady state names them."""
    specs = clusters.clusters_of(target).values()
    shell = Shell(target)
    deadline = time.monotonic() + settle
    while True:
        problems = [p for spec in specs for p in clusters.read_cluster(spec, shell).problems]
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(2)


def count(socket: str, target=None, settle: float = 0) -> dict[str, list[str]]:
    """What the lab still has broken, by kind, as human-readable items."""
    left: dict[str, list[str]] = {"stopped": [], "drops": [], "partitions": [],
                                  "members": [], "off": [], "drained": [], "added": []}
    status = lab_status()
    powered = {n["name"]: n["power"] for n in status["nodes"]}
    left["added"] = added_nodes(status)
    for node in NODES:
        if powered.get(node) != "on":
            left["off"].append(node)
            continue
        for line in on_node(node, "ps -eo pid=,stat=,comm=").splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1].startswith("T"):
                left["stopped"].append(f"{node}:{parts[0]}:{parts[2]}")
        for line in on_node(node, "iptables -S").splitlines():
            if COMMENT_PREFIX in line and line.startswith("-A "):
                left["partitions"].append(f"{node}: {line}")
            elif "DROP" in line and not line.startswith("-P") and not neutrons(line):
                left["drops"].append(f"{node}: {line}")
    if target is not None:
        left["members"] = cluster_members(target, settle)
    for server in loadbalancer.parse_stat(haproxy.command(socket, "show stat", timeout=5)):
        if any(word in server.status for word in ("MAINT", "DRAIN")):
            left["drained"].append(f"{server.backend}/{server.name}")
    return left


def neutrons(rule: str) -> bool:
    """Whether an ``iptables -S`` line belongs to Neutron's own chains (the Linux bridge
    agent's security groups: ``neutron-linuxbri-sg-fallback`` drops what no rule allows),
    which are the cloud's, never a fault's."""
    parts = rule.split()
    return len(parts) > 1 and parts[0] in ("-A", "-N") and parts[1].startswith("neutron-")


def added_nodes(status: dict) -> list[str]:
    """The nodes `extreme lab add-node` added that the lab still has (``lab status``)."""
    return [n["name"] for n in status.get("nodes", []) if n.get("added")]


def repair(left: dict[str, list[str]], socket: str, target=None) -> None:
    """Put back what recover did not, so the lab stays healthy for the next run."""
    for node in left.get("added", []):  # first: its services leave the cloud with it
        subprocess.run(["extreme", "lab", "remove-node", node], capture_output=True,
                       timeout=900)
    for node in left["off"]:
        subprocess.run(["extreme", "lab", "power", node, "on"], capture_output=True,
                       timeout=120)
    for item in left["stopped"]:
        node, pid, _ = item.split(":", 2)
        on_node(node, f"kill -CONT {pid}")
    for item in left["drops"] + left["partitions"]:
        node, rule = item.split(": ", 1)
        on_node(node, "iptables " + rule.replace("-A ", "-D ", 1))
    if left["members"] and target is not None:
        operator = Operator(target)
        for spec in clusters.clusters_of(target).values():
            operator.start_members(spec, list(spec.members))
    for item in left["drained"]:
        backend, server = item.split("/", 1)
        haproxy.command(socket, f"set server {backend}/{server} state ready", timeout=5)


def one_run(index: int, rng: random.Random, args, env: dict[str, str], workdir: Path,
            socket: str, target) -> dict:
    suite = workdir / "torture.robot"
    members = {name: list(spec.members) for name, spec in clusters.clusters_of(target).items()}
    faults = cluster_faults(members, index, rng)
    suite.write_text(suite_text(faults, args.add_node))
    kill_at = rng.uniform(0.5, args.kill_before)
    out = workdir / f"run{index}"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "robot", "--outputdir", str(out), "--console", "none",
         "--variable", f"TARGET:{env['EXTREME_TARGET']}", str(suite)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        process.wait(timeout=kill_at)
    except subprocess.TimeoutExpired:
        pass
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: robot, ansible, ssh
    process.wait(timeout=30)
    begin = time.monotonic()
    # An added node's removal (its undo) runs the remove command: up to 10 min more.
    recover = subprocess.run(["extreme", "recover"], env=env, capture_output=True,
                             text=True, timeout=900 if args.add_node else 300)
    took = time.monotonic() - begin
    left = count(socket, target, args.settle)  # recover returns when its undo is done
    repair(left, socket, target)
    return {"run": index, "kill_at": round(kill_at, 2), "killed": killed,
            "faults": ", ".join(f"{kind} {cluster}/{member}" for kind, cluster, member in faults),
            "recover_rc": recover.returncode, "recover_s": round(took, 1),
            "left": left, "elapsed": round(time.monotonic() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--kill-before", type=float, default=12.0,
                        help="latest kill moment, s after the start (default 12)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--settle", type=float, default=60.0,
                        help="s a restarted cluster member may take to rejoin (default 60)")
    parser.add_argument("--add-node", default="", metavar="NODE",
                        help="add this node first (Add Compute Node, e.g. cmp2; about a "
                             "minute: raise --kill-before to kill after it too)")
    args = parser.parse_args()
    if lab_status().get("phase") != "up":
        print("restore_torture: the lab is not up ('extreme lab status'); bring it up first.",
              file=sys.stderr)
        return 2
    env = lab_environment()
    target = load(env["EXTREME_TARGET"])
    socket = str(target.resolve(target.section("load_balancer")["admin_socket"]))
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"restore torture: {args.runs} runs, kill within {args.kill_before:g} s, "
          f"seed {seed}")
    before = count(socket, target)
    if any(before.values()):
        print(f"the lab is not clean before the first run: {before}; not starting.")
        return 2
    totals = {k: 0 for k in before}
    recover_times = []
    with tempfile.TemporaryDirectory(prefix="xt-torture-") as tmp:
        for index in range(1, args.runs + 1):
            result = one_run(index, rng, args, env, Path(tmp), socket, target)
            left = result["left"]
            for kind, items in left.items():
                totals[kind] += len(items)
            recover_times.append(result["recover_s"])
            figures = " ".join(f"{k}={len(v)}" for k, v in left.items())
            print(f"run {index}: killed at {result['kill_at']:5.2f} s"
                  f"{'' if result['killed'] else ' (had ended)'}, recover rc "
                  f"{result['recover_rc']} in {result['recover_s']} s; left: {figures} "
                  f"files=n/a ({result['elapsed']} s); cluster faults: "
                  f"{result['faults'] or 'none'}")
            for kind, items in left.items():
                for item in items:
                    print(f"    left {kind}: {item}")
    total = sum(totals.values())
    print(f"total left after recover: {total} "
          f"({', '.join(f'{k} {v}' for k, v in totals.items())}); goal 0")
    print(f"recover took {min(recover_times)}–{max(recover_times)} s "
          f"(median {sorted(recover_times)[len(recover_times) // 2]} s)")
    after = count(socket, target)
    print(f"lab after the bench: {'clean' if not any(after.values()) else after}")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

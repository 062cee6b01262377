#!/usr/bin/env python3
"""Do the verdicts say what happened? Plants known faults in the lab, one at a time, runs
the case that should catch each, and prints what it expected beside what it saw.

    eval "$(extreme lab env)"
    bench/verdict_accuracy.py                      # every plant, once
    bench/verdict_accuracy.py --times 2 --only black-hole --only resend
    bench/verdict_accuracy.py --undo               # only undo what a killed run left

Run by hand on the lab (not in CI): it breaks the lab on purpose. The plants are its own
(not the libraries' faults):

- ``black-hole``: the load balancer's health checks of Keystone on its first node turned
  off (HAProxy ``disable health``), so the case "Freeze Keystone On One Node" leaves a
  frozen backend in rotation for the whole hold: every other request hangs. Expected:
  FAIL, the partial outage of the identity probes.
- ``rollout``: Keystone on its first node given a policy file of its own (read at the
  roll-out's restart) that denies token validation and project listing: the node answers
  its health URL and fails every real request (HTTP 403). "Rolling Restart Of Keystone
  With Drain" must stop at that node. Expected: FAIL, the roll-out stopped at it, the
  next node not touched.
- ``policy``: Neutron's policy on the second controller lets anyone create networks.
  Expected: FAIL of "The Deployed Policy Says What The Matrix Says", naming that node.
- ``resend``: HAProxy re-sends Neutron's requests, writes included, after a short server
  timeout (``--resend-after``): a create it sent twice makes two networks, a delete sent
  twice answers 404. "Rolling Restart Of Placement With Drain" (a roll-out measured with
  writes) must report them duplicated or deleted twice, never lost.
- ``not-back``: Keystone on its first node given a configuration it cannot start with
  (takes effect at the case's restart). Expected: FAIL of "Restart Keystone On One Node",
  the instance not serving again on that node.

Before each plant the lab must pass the steady-state check (else the plant is skipped
and its row says so). What a plant changed is written to a ledger (0600, beside the
target file; an option's old value or a file without secrets, never a whole service
configuration) before it is changed, and undone: as soon as the case's teardown starts
(the bench is also the case's Robot listener), again when the case ends (try/finally,
SIGTERM and SIGINT included), and at the next start of the bench when a run was killed
with SIGKILL. Prints one table row per plant and run: plant, expected verdict and
finding, seen verdict and finding, whether they agree.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "libraries"))

from ExtremeTesting import loadbalancer  # noqa: E402
from ExtremeTesting import target as targets  # noqa: E402
from ExtremeTesting.changes import ini, undo  # noqa: E402

SUITES = REPO / "suites"
KEYSTONE_CONF = "/etc/keystone/keystone.conf"
NEUTRON_POLICY = "/etc/neutron/policy.yaml"
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
OWN_POLICY = "/etc/keystone/xt-bench-policy.yaml"  # the rollout plant's policy
CASE_TIMEOUT = 20 * 60  # s: the longest a case may run before the bench stops it


@dataclass
class Plant:
    name: str
    suite: str  # under suites/
    test: str
    expected: str  # in words, for the table
    finding: str  # a regular expression the failure message must match ({node}: the
    # first node of Keystone)
    absent: str = ""  # ... and one it must not match ("" for none)


PLANTS = [
    Plant("black-hole", "destructive/service_restart.robot", "Freeze Keystone On One Node",
          "FAIL: partial outage of identity (keystone)",
          r"Partial outage during .*\(identity: keystone\)"),
    Plant("rollout", "changes/rolling_restart.robot", "Rolling Restart Of Keystone With Drain",
          "FAIL: roll-out stopped at the first node, its statuses named, next untouched",
          r"Roll-out of keystone stopped at \w+: .*HTTP [45]\d\d.* not touched"),
    Plant("policy", "policy/policy_matrix.robot", "The Deployed Policy Says What The Matrix Says",
          "FAIL: drift on the second controller, network:create_network",
          r"\w+: \S+ / network:create_network: matrix says deny, deployed policy says allow"),
    Plant("resend", "changes/rolling_restart.robot", "Rolling Restart Of Placement With Drain",
          "FAIL: writes duplicated or deleted twice, none lost",
          r"write-network: \d+ (duplicated|deleted twice)", r"write-network: \d+ lost"),
    Plant("not-back", "destructive/service_restart.robot", "Restart Keystone On One Node",
          "FAIL: keystone on the first node did not serve again",
          r"keystone on {node} did not serve again|No process of keystone runs on {node}"
          r"|(?i:keystone\b.*\b{node}\b|\b{node}\b.*\bkeystone)"),
]


class Lab:
    """The target, its nodes over SSH, its load balancer, and the bench's ledger."""

    def __init__(self) -> None:
        self.target = targets.load(None)
        self.nodes = undo.connect(self.target, 60.0)
        self.lb = loadbalancer.from_target(self.target)
        if self.lb is None or not self.lb.spec.admin_socket:
            raise SystemExit("verdict_accuracy: the target names no load balancer with an "
                             "admin socket; run it on the lab (eval \"$(extreme lab env)\").")
        self.ledger = self.target.path.with_name("verdict-accuracy.ledger.json")

    def node_of(self, service: str, index: int) -> str:
        return self.target.section("services")[service]["nodes"][index]

    def restart(self, node: str, service: str) -> None:
        undo.restart(self.target, self.nodes, node, [service])

    # --- the ledger: what is planted, written before it is -----------------------------
    def entries(self) -> dict[str, dict]:
        if not self.ledger.is_file():
            return {}
        return json.loads(self.ledger.read_text(encoding="utf-8") or "{}")

    def record(self, name: str, state: dict) -> None:
        found = self.entries()
        found[name] = state
        self._write(found)

    def forget(self, name: str) -> None:
        found = self.entries()
        found.pop(name, None)
        if found:
            self._write(found)
        else:
            self.ledger.unlink(missing_ok=True)

    def _write(self, found: dict) -> None:
        fd = os.open(self.ledger, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(found, out)
            out.flush()
            os.fsync(out.fileno())

    # --- files on nodes, kept as they were ----------------------------------------------
    def keep_file(self, node: str, path: str) -> dict:
        original = self.nodes.read_file(node, path)
        return {"node": node, "path": path,
                "original": None if original is None else base64.b64encode(original).decode()}

    def put_back(self, kept: dict) -> None:
        if kept["original"] is None:
            self.nodes.run(kept["node"], f"rm -f {kept['path']}")
        else:
            self.nodes.write_file(kept["node"], kept["path"],
                                  base64.b64decode(kept["original"]))

    def option(self, node: str, path: str, section: str, option: str) -> str | None:
        """An INI option's value on the node (the plants keep values, never whole
        configuration files: those hold passwords)."""
        found = self.nodes.read_file(node, path)
        return None if found is None else ini.get_option(found.decode(), section, option)

    def edit(self, node: str, path: str, change: Callable[[str], str]) -> None:
        found = self.nodes.read_file(node, path)
        self.nodes.write_file(node, path, change("" if found is None else found.decode())
                              .encode())


# --- each plant: what it changes (recorded first) and how it is undone ---------------------

def plant(lab: Lab, name: str, resend_after: float) -> None:
    if name == "black-hole":
        node = lab.node_of("keystone", 0)
        backend = lab.lb.spec.backend("keystone")
        lab.record(name, {"backend": backend, "server": node})
        _admin(lab, f"disable health {backend}/{node}")
    elif name == "rollout":
        # A policy file of its own, read at the roll-out's restart: the node answers its
        # health URL (GET /v3) and denies every token validation and project listing
        # (HTTP 403). (Fernet keys of its own were not enough: the lab's shared memcache
        # answers validations for every node.)
        node = lab.node_of("keystone", 0)
        lab.record(name, {"node": node, "path": KEYSTONE_CONF, "section": "oslo_policy",
                          "option": "policy_file",
                          "original": lab.option(node, KEYSTONE_CONF, "oslo_policy",
                                                 "policy_file"),
                          "created": OWN_POLICY})
        lab.nodes.write_file(node, OWN_POLICY, yaml.safe_dump(
            {"identity:validate_token": "!", "identity:get_auth_projects": "!"}).encode())
        lab.nodes.run(node, f"chmod 644 {shlex.quote(OWN_POLICY)}")
        lab.edit(node, KEYSTONE_CONF, lambda text: ini.set_option(
            text, "oslo_policy", "policy_file", OWN_POLICY))
    elif name == "not-back":  # a value oslo.config cannot read: Keystone does not start
        node = lab.node_of("keystone", 0)
        lab.record(name, {"node": node, "path": KEYSTONE_CONF, "section": "DEFAULT",
                          "option": "debug",
                          "original": lab.option(node, KEYSTONE_CONF, "DEFAULT", "debug")})
        lab.edit(node, KEYSTONE_CONF, lambda text: ini.set_option(
            text, "DEFAULT", "debug", "not-a-boolean"))
    elif name == "policy":
        node = lab.node_of("neutron-server", 1)
        lab.record(name, lab.keep_file(node, NEUTRON_POLICY))
        lab.edit(node, NEUTRON_POLICY, lambda text: yaml.safe_dump(
            {**(yaml.safe_load(text) or {}), "create_network": ""}))  # anyone may
    elif name == "resend":
        node = lab.lb.spec.node
        lab.record(name, lab.keep_file(node, HAPROXY_CFG))
        backend = lab.lb.spec.backend("neutron-server")
        lab.edit(node, HAPROXY_CFG, lambda text: resending(text, backend, resend_after))
        lab.restart(node, "haproxy")
    else:
        raise SystemExit(f"verdict_accuracy: unknown plant {name!r}")


def undo_plant(lab: Lab, name: str) -> None:
    """Undo ``name`` as the ledger recorded it; nothing when it holds no such plant."""
    state = lab.entries().get(name)
    if state is None:
        return
    if name == "black-hole":
        _admin(lab, f"enable health {state['backend']}/{state['server']}")
    elif name in ("rollout", "not-back"):
        section, option, original = state["section"], state["option"], state["original"]
        lab.edit(state["node"], state["path"], lambda text: (
            ini.remove_option(text, section, option)[0] if original is None
            else ini.set_option(text, section, option, original)))
        lab.restart(state["node"], "keystone")
        if state.get("created"):
            lab.nodes.run(state["node"], f"rm -rf {shlex.quote(state['created'])}")
    else:
        lab.put_back(state)
        if name == "resend":
            lab.restart(state["node"], "haproxy")
    lab.forget(name)


def undo_all(lab: Lab) -> list[str]:
    undone = []
    for name in list(lab.entries()):
        undo_plant(lab, name)
        undone.append(name)
    return undone


def resending(text: str, backend: str, after: float) -> str:
    """HAProxy's configuration with ``backend`` re-sending every request, writes included,
    when its server has not answered within ``after`` seconds."""
    out, section = [], ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.strip()
        if section == f"frontend {backend}" and "disable-l7-retry" in line:
            continue  # writes may be re-sent
        out.append(line)
        if section == f"backend {backend}" and line.strip() == section:
            out += ["    retries 3", "    retry-on all-retryable-errors",
                    f"    timeout server {int(after * 1000)}ms"]
    return "\n".join(out) + "\n"


def _admin(lab: Lab, command: str) -> None:
    answer = lab.lb.command(command).strip()
    if answer:
        raise RuntimeError(f"HAProxy refused '{command}': {answer}")


# --- the case, its verdict, the lab's health -----------------------------------------------

HEALTH_SUITE = """*** Settings ***
Resource    common.resource

*** Test Cases ***
The Lab Is Healthy
    Cloud Should Become Healthy Within    5 min
"""


def robot(args: list[str], outdir: Path, timeout: float) -> tuple[int, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "robot", "--pythonpath", str(REPO / "resources"),
               "--outputdir", str(outdir), "--console", "dotted", *args]
    process = subprocess.Popen(command, cwd=outdir, stdout=subprocess.DEVNULL,  # noqa: S603
                               start_new_session=True)
    try:
        return process.wait(timeout=timeout), outdir / "output.xml"
    finally:
        if process.poll() is None:  # stopped or timed out: end the case we started
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def healthy(outdir: Path) -> bool:
    suite = outdir / "health.robot"
    outdir.mkdir(parents=True, exist_ok=True)
    suite.write_text(HEALTH_SUITE, encoding="utf-8")
    rc, _ = robot(["--log", "NONE", "--report", "NONE", str(suite)], outdir / "health", 420)
    return rc == 0


def verdict_of(output: Path, test: str) -> tuple[str, str]:
    from robot.api import ExecutionResult

    if not output.is_file():
        return "NO RESULT", "the case wrote no output.xml"
    found = []

    class Tests:
        def visit_suite(self, suite):
            found.extend(t for t in suite.tests if t.name == test)
            for child in suite.suites:
                child.visit(self)

    ExecutionResult(str(output)).suite.visit(Tests())
    if not found:
        return "NO RESULT", f"no test named {test!r} ran"
    return found[0].status, " ".join(found[0].message.split())


def run_plant(lab: Lab, chosen: Plant, outdir: Path, resend_after: float) -> dict:
    row = {"plant": chosen.name, "case": chosen.test, "expected": chosen.expected}
    if not healthy(outdir):
        return {**row, "seen": "NOT RUN", "finding": "the lab failed the steady-state "
                "check before the plant", "agrees": False}
    try:
        plant(lab, chosen.name, resend_after)
        rc, output = robot(["--test", chosen.test, "--listener",
                            f"{Path(__file__).resolve()}:{chosen.name}",
                            str(SUITES / chosen.suite)], outdir, CASE_TIMEOUT)
    finally:
        undo_plant(lab, chosen.name)
    status, message = verdict_of(output, chosen.test)
    finding = chosen.finding.replace("{node}", re.escape(lab.node_of("keystone", 0)))
    agrees = status == "FAIL" and bool(re.search(finding, message)) and not (
        chosen.absent and re.search(chosen.absent, message))
    return {**row, "seen": status, "finding": message[:400], "agrees": agrees}


class verdict_accuracy:  # noqa: N801 - Robot finds a listener class by its module's name
    """The case's listener (``--listener bench/verdict_accuracy.py:PLANT``): undoes the
    plant as soon as the test's teardown starts, so the teardown's steady-state check
    meets a lab without it (the verdict is the body's)."""

    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, name: str) -> None:
        self.name = name
        self.done = False

    def start_keyword(self, data, result) -> None:
        if not self.done and getattr(result, "type", "") == "TEARDOWN" and \
                type(result.parent).__name__ == "TestCase":
            self.done = True
            undo_plant(Lab(), self.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=[p.name for p in PLANTS],
                        help="a plant to run (repeat for several; default: every one)")
    parser.add_argument("--times", type=int, default=1, help="runs of each plant")
    parser.add_argument("--resend-after", type=float, default=0.15,
                        help="s HAProxy waits before re-sending a Neutron request (resend)")
    parser.add_argument("--output", default="", help="folder for the cases' outputs")
    parser.add_argument("--undo", action="store_true",
                        help="only undo what a killed run left planted")
    args = parser.parse_args(argv)

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")  # the finally blocks undo the plant

    signal.signal(signal.SIGTERM, stop)
    lab = Lab()
    left = undo_all(lab)
    if left:
        print(f"Undid what a killed run left planted: {', '.join(left)}", flush=True)
    if args.undo:
        return 0
    outdir = Path(args.output or tempfile.mkdtemp(prefix="xt-verdict-accuracy-"))
    chosen = [p for p in PLANTS if not args.only or p.name in args.only]
    rows = []
    started = time.monotonic()
    try:
        for turn in range(1, args.times + 1):
            for each in chosen:
                print(f"[{time.monotonic() - started:6.0f} s] run {turn}: {each.name} "
                      f"({each.test})", flush=True)
                rows.append({"run": turn, **run_plant(lab, each,
                                                      outdir / f"{turn}-{each.name}",
                                                      args.resend_after)})
    finally:
        undo_all(lab)
        (outdir / "verdict_accuracy.json").write_text(json.dumps(rows, indent=1),
                                                      encoding="utf-8")
    print(f"\nVerdict accuracy ({len(rows)} rows, {time.monotonic() - started:.0f} s; "
          f"outputs in {outdir}):\n")
    print("| run | plant | case | expected | seen | finding seen | agrees |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        finding = row["finding"].replace("|", "/")[:220]
        print(f"| {row['run']} | {row['plant']} | {row['case']} | {row['expected']} | "
              f"{row['seen']} | {finding} | {'yes' if row['agrees'] else 'NO'} |")
    return 0 if rows and all(r["agrees"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

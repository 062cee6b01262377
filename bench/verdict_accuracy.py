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
- ``resend``: HAProxy re-sends Neutron's writes after a short server timeout
  (``--resend-after``), and every write is made slow enough on its first attempt for the
  re-send to happen: a create it sent twice makes two networks. "Rolling Restart Of
  Placement With Drain" (a roll-out measured with writes) must report them duplicated
  (or deleted twice), never lost. How it is made certain: see "The resend plant" below.
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

The resend plant: why every run has re-sent writes. Its first version only shortened
HAProxy's server timeout (0.15 s) and let re-sends happen to writes that were slower than
that: in one of two runs none was, and nothing was re-sent (0 duplicated, 0 lost). A
second race hid behind it: HAProxy 2.6 arms an L7 retry only when the whole request had
arrived before it first wrote to the server, and the monitor's client (http.client) sends
a POST's head and body in two writes, so a create was re-sendable or not by luck of the
packets. Now, on the load balancer's node:

1. Neutron's writes (every method but GET and HEAD) go to a backend of the bench's own
   (``xt-bench-resend``) with ``option http-buffer-request`` (HAProxy waits for the
   whole body before it connects, so every write can be retried), ``retry-on
   all-retryable-errors`` (a server timeout among them), ``retries 3`` and ``timeout
   server`` of ``--resend-after`` seconds. Reads stay on Neutron's own backend.
2. That backend's servers are not Neutron's but the hold (bench/resend_hold.py, copied to
   the node and run there with its python3, one listener per Neutron server on the node's
   loopback). The hold does not send the first copy of a write to Neutron at all until
   HAProxy has sent that write again: the first attempt cannot be answered, however fast
   Neutron is, so HAProxy's server timeout strikes and it re-sends. The re-send goes to
   Neutron at once and its answer to the client; then the held copy goes too. Neutron runs
   each write twice: each create leaves two networks of one name (duplicated); a delete's
   second copy answers 404 to no one.
3. The monitor's write probe sends at least one create a second for the whole roll-out
   (tens of seconds on the lab), so every run has dozens of re-sent writes, each a
   duplicate. The hold counts them; the row shows the counts, and a run in which HAProxy
   re-sent nothing says that the plant did not take (the row disagrees) rather than
   passing a verdict off as the plant's.

Nothing depends on timing but HAProxy's own timer firing within ``--resend-after`` plus
the hold's cap (20 s). The hold deletes what its held creates made when it stops (the
undo stops it after HAProxy's configuration is back), and it stops by itself after
``CASE_TIMEOUT`` + 10 min if nothing else did.
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
from ExtremeTesting.changes.errors import ChangeError  # noqa: E402

SUITES = REPO / "suites"
KEYSTONE_CONF = "/etc/keystone/keystone.conf"
NEUTRON_POLICY = "/etc/neutron/policy.yaml"
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
OWN_POLICY = "/etc/keystone/xt-bench-policy.yaml"  # the rollout plant's policy
# The resend plant's backend and hold on the load balancer's node (its /run is its own).
RESEND_BACKEND = "xt-bench-resend"
HOLD_SOURCE = REPO / "bench" / "resend_hold.py"
HOLD_SCRIPT = "/run/xt-bench-resend-hold.py"
HOLD_STATE = "/run/xt-bench-resend-hold.json"
HOLD_PID = "/run/xt-bench-resend-hold.pid"
HOLD_LOG = "/run/xt-bench-resend-hold.log"
HOLD_PORT = 19696  # the first listener on the node's loopback; one per Neutron server
HOLD_CAP = 20.0  # s the hold keeps a first copy that HAProxy never re-sends
CASE_TIMEOUT = 20 * 60  # s: the longest a case may run before the bench stops it
HOLD_LIFETIME = CASE_TIMEOUT + 10 * 60  # s: the hold stops by itself after it


class PlantError(Exception):
    """A plant that could not be made (its row says why; what was made is undone)."""


@dataclass
class Plant:
    name: str
    suite: str  # under suites/
    test: str
    expected: str  # in words, for the table
    finding: str  # a regular expression the failure message must match ({node}: the
    # first node of Keystone)
    absent: str = ""  # ... and one it must not match ("" for none)
    # Robot options of the plant's own: the resend plant's case runs without the data
    # plane, whose guests' router create takes longer than the plant's server timeout:
    # HAProxy answered it 504 in the case's setup (2026-12-07, both runs).
    robot_args: tuple[str, ...] = ()


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
          r"write-network: \d+ (duplicated|deleted twice)", r"write-network: \d+ lost",
          ("--variablefile", str(Path(__file__).with_name("without_data_plane.py")))),
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

    def _write(self, found: dict, path: Path | None = None) -> None:
        fd = os.open(path or self.ledger, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(found, out)
            out.flush()
            os.fsync(out.fileno())

    # --- notes: what an undo saw of its plant (the listener undoes in Robot's process) ----
    @property
    def notes(self) -> Path:
        return self.ledger.with_name("verdict-accuracy.notes.json")

    def _notes(self) -> dict:
        if not self.notes.is_file():
            return {}
        return json.loads(self.notes.read_text(encoding="utf-8") or "{}")

    def note(self, name: str, found: dict) -> None:
        self._write({**self._notes(), name: found}, self.notes)

    def take_note(self, name: str) -> dict | None:
        found = self._notes()
        taken = found.pop(name, None)
        if found:
            self._write(found, self.notes)
        else:
            self.notes.unlink(missing_ok=True)
        return taken

    def wait_for_backend(self, backend: str, count: int, timeout: float = 60.0) -> None:
        """HAProxy (just restarted) shows ``count`` servers of ``backend`` in rotation."""
        deadline = time.monotonic() + timeout
        seen = "nothing"
        while True:
            try:
                servers = [s for s in self.lb.servers() if s.backend == backend]
                seen = ", ".join(str(s) for s in servers) or f"no backend {backend}"
                if len(servers) == count and all(s.in_rotation for s in servers):
                    return
            except Exception as error:  # noqa: BLE001 - restarting: ask again, say it at the end
                seen = f"its admin socket did not answer: {error}"
            if time.monotonic() >= deadline:
                raise PlantError(f"HAProxy did not show {count} servers of {backend} in "
                                 f"rotation within {timeout:g} s: {seen}")
            time.sleep(0.5)  # the pace of polling HAProxy's admin socket

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
    elif name == "resend":  # see "The resend plant" in the module's docstring
        node = lab.lb.spec.node
        backend = lab.lb.spec.backend("neutron-server")
        found = lab.nodes.read_file(node, HAPROXY_CFG)
        servers = servers_of(found.decode() if found else "", backend)
        if not servers:
            raise PlantError(f"{HAPROXY_CFG} on {node} has no server in backend {backend}")
        holds = {server: f"127.0.0.1:{HOLD_PORT + index}"
                 for index, (server, _) in enumerate(servers)}
        lab.record(name, {**lab.keep_file(node, HAPROXY_CFG), "hold": True})
        lab.nodes.write_file(node, HOLD_SCRIPT, HOLD_SOURCE.read_bytes())
        try:
            lab.nodes.run(node, start_hold(
                [(holds[server], address) for server, address in servers], resend_after),
                timeout=60)
        except ChangeError as error:
            raise PlantError(str(error)) from None
        lab.edit(node, HAPROXY_CFG, lambda text: resending(text, backend, resend_after,
                                                           holds))
        lab.restart(node, "haproxy")
        lab.wait_for_backend(RESEND_BACKEND, len(holds))
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
            try:
                lab.restart(state["node"], "haproxy")  # no write reaches the hold any more
            finally:
                if state.get("hold"):
                    lab.note(name, stop_hold(lab, state["node"]))
    lab.forget(name)


def undo_all(lab: Lab) -> list[str]:
    undone = []
    for name in list(lab.entries()):
        undo_plant(lab, name)
        undone.append(name)
    return undone


def servers_of(text: str, backend: str) -> list[tuple[str, str]]:
    """``(name, address:port)`` of each server of ``backend`` in HAProxy's configuration."""
    found, section = [], ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.strip()
        words = line.split()
        if section == f"backend {backend}" and len(words) >= 3 and words[0] == "server":
            found.append((words[1], words[2]))
    return found


def resending(text: str, backend: str, after: float, holds: dict[str, str]) -> str:
    """HAProxy's configuration with the writes of ``backend``'s frontend sent to a backend
    of the bench's own that waits for each whole request (so it can always be re-sent)
    and re-sends it when its server has not answered within ``after`` seconds; its
    servers are the hold's listeners (``holds``: server name -> address:port), named as
    the servers they stand for. Reads stay on ``backend``."""
    out, section = [], ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.strip()
        if section == f"frontend {backend}":
            if "disable-l7-retry" in line:
                continue  # writes may be re-sent
            if line.split()[:1] == ["default_backend"]:
                out.append(f"    use_backend {RESEND_BACKEND} if !METH_GET !METH_HEAD")
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    out += ["", f"backend {RESEND_BACKEND}", "    option http-buffer-request", "    retries 3",
            "    retry-on all-retryable-errors", f"    timeout server {int(after * 1000)}ms"]
    out += [f"    server {server} {address}" for server, address in holds.items()]
    return "\n".join(out) + "\n"


def start_hold(pairs: list[tuple[str, str]], after: float) -> str:
    """The shell line that starts the hold on the node, detached, and returns once it
    listens (its state file says ready), or fails with its log."""
    listen = " ".join(f"--listen {shlex.quote(f'{here}={there}')}" for here, there in pairs)
    cap = max(HOLD_CAP, 10 * after)
    # The subshell's own descriptors are redirected before it forks nothing but the hold
    # (exec): no descriptor of the SSH session stays open, so the session ends.
    return (f"rm -f {HOLD_STATE} {HOLD_PID}; (cd / && exec setsid /usr/bin/python3 "
            f"{HOLD_SCRIPT} {listen} --state {HOLD_STATE} --pidfile {HOLD_PID} --cap {cap:g} "
            f"--lifetime {HOLD_LIFETIME}) </dev/null >{HOLD_LOG} 2>&1 & h=$!; "
            f"i=0; while [ $i -lt 200 ] && kill -0 $h 2>/dev/null; do grep -q "
            f"'\"ready\": true' {HOLD_STATE} 2>/dev/null && exit 0; sleep 0.1; "
            f"i=$((i+1)); done; "
            f"echo 'the resend hold did not start:' >&2; cat {HOLD_LOG} >&2; exit 1")


def stop_hold(lab: Lab, node: str) -> dict:
    """Stop the hold (SIGTERM: it deletes what its held creates made, then ends; SIGKILL
    after 60 s), remove its files; its last counts (and its log's last lines)."""
    pid = f"$(cat {HOLD_PID} 2>/dev/null)"
    found = lab.nodes.run(node, (
        f"p={pid}; if [ -n \"$p\" ] && grep -qa xt-bench-resend-hold /proc/$p/cmdline "
        f"2>/dev/null; then kill -TERM $p; i=0; while kill -0 $p 2>/dev/null && "
        f"[ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL $p 2>/dev/null; fi; "
        f"cat {HOLD_STATE} 2>/dev/null; echo; echo '--- log'; tail -n 5 {HOLD_LOG} "
        f"2>/dev/null; rm -f {HOLD_SCRIPT} {HOLD_STATE} {HOLD_STATE}.new {HOLD_PID} "
        f"{HOLD_LOG}"), check=False, timeout=120)
    counts, _, log = found.out.partition("--- log")
    try:
        stats = json.loads(counts.strip() or "{}")
    except ValueError:
        stats = {}
    return {**stats, "log": log.strip()[-600:]}


def hold_said(note: dict | None) -> tuple[bool, str]:
    """Whether the resend plant took (HAProxy re-sent at least one write), in words."""
    if not note or "resent" not in note:
        log = (note or {}).get("log") or "no log"
        return False, f"the plant's hold left no counts ({log})"
    words = (f"plant: {note['held']} writes held, {note['resent']} re-sent by HAProxy, "
             f"{note.get('created_by_held', 0)} created twice, "
             f"{note.get('released_at_cap', 0)} never re-sent")
    if note.get("errors"):
        words += f", {note['errors']} errors ({note.get('log') or 'no log'})"
    if not note["resent"]:
        return False, f"the plant did not take: HAProxy re-sent no write ({words})"
    return True, words


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
    lab.take_note(chosen.name)  # a killed run's, if any
    if not healthy(outdir):
        return {**row, "seen": "NOT RUN", "finding": "the lab failed the steady-state "
                "check before the plant", "agrees": False}
    try:
        plant(lab, chosen.name, resend_after)
        rc, output = robot([*chosen.robot_args, "--test", chosen.test, "--listener",
                            f"{Path(__file__).resolve()}:{chosen.name}",
                            str(SUITES / chosen.suite)], outdir, CASE_TIMEOUT)
    except (PlantError, ChangeError) as error:  # ChangeError: a node refused a command
        return {**row, "seen": "NOT RUN", "finding": f"the plant could not be made: {error}",
                "agrees": False}
    finally:
        undo_plant(lab, chosen.name)
    status, message = verdict_of(output, chosen.test)
    return {**row, **judge(chosen, status, message, lab.node_of("keystone", 0),
                           lab.take_note(chosen.name))}


def judge(chosen: Plant, status: str, message: str, node: str,
          note: dict | None = None) -> dict:
    """The row's verdict: the case failed with the expected finding and without the
    absent one; for the resend plant, also only when HAProxy did re-send writes."""
    finding = chosen.finding.replace("{node}", re.escape(node))
    agrees = status == "FAIL" and bool(re.search(finding, message)) and not (
        chosen.absent and re.search(chosen.absent, message))
    if chosen.name == "resend":
        took, words = hold_said(note)
        agrees = agrees and took
        message = f"[{words}] {message}"
    return {"seen": status, "finding": message[:600], "agrees": agrees}


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
    parser.add_argument("--resend-after", type=float, default=1.0,
                        help="s HAProxy waits for a Neutron write before re-sending it "
                             "(resend; the hold makes every first attempt wait longer)")
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
        finding = row["finding"].replace("|", "/")[:360]
        print(f"| {row['run']} | {row['plant']} | {row['case']} | {row['expected']} | "
              f"{row['seen']} | {finding} | {'yes' if row['agrees'] else 'NO'} |")
    return 0 if rows and all(r["agrees"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

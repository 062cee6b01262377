"""The deployed (effective) policy, read on a node with oslo.policy's own tools.

For each API service on a node, the service's own enforcer (the one
``oslopolicy-policy-generator`` loads, through the service's ``oslo.policy.enforcer``
entry point) gives the rules it enforces: its defaults as configured, merged with the
node's override files, and, where ``enforce_new_defaults`` is off, OR-ed with the
deprecated rules (the generator's text output leaves that fallback out, so it would say
"deny" where the service allows). oslo.policy's checker (``oslo_policy.shell.tool``, the
code of ``oslopolicy-checker``) then evaluates each operation's rule for each persona's
credentials. The checker knows nothing of scope: where the service enforces scope, a
rule whose ``scope_types`` exclude the token's scope is a denial too. One SSH session per
node runs :data:`REMOTE` with the questions on stdin and prints the answers as JSON.
Comparing the answers with the written matrix gives the drift, named with its node.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from .errors import PolicyError

# service (API) -> (the target's service name, oslo.policy namespace)
SOURCES = {"identity": ("keystone", "keystone"), "compute": ("nova-api", "nova"),
           "image": ("glance-api", "glance"), "network": ("neutron-server", "neutron"),
           "placement": ("placement", "placement")}
# The configuration each API server reads. Glance's enforcer entry point reads only
# glance.conf, where the API's [oslo_policy] is in glance-api.conf: without this, the
# tools would judge Glance with the legacy defaults the API does not run.
CONFIG_FILES = {"keystone": "/etc/keystone/keystone.conf", "nova": "/etc/nova/nova.conf",
                "glance": "/etc/glance/glance-api.conf",
                "neutron": "/etc/neutron/neutron.conf",
                "placement": "/etc/placement/placement.conf"}

REMOTE = r'''
import contextlib, io, json, os, subprocess, sys, tempfile
from oslo_policy import shell
ask = json.load(sys.stdin)
out = {"errors": {}, "results": []}
work = tempfile.mkdtemp(prefix="xt-policy-")
SCOPES = (
    "import json, os\n"
    "from oslo_config import cfg\n"
    "files = [f for f in os.environ['XT_CONFIG'].split(':') if os.path.isfile(f)]\n"
    "if files:\n"
    "    cfg.find_config_files = lambda *args, **kwargs: files\n"
    "from oslo_policy import generator\n"
    "e = generator._get_enforcer(os.environ['XT_NAMESPACE'])\n"
    "e.load_rules()\n"
    "print(json.dumps({'enforce': bool(e.conf.oslo_policy.enforce_scope),"
    " 'rules': {n: str(r) for n, r in e.rules.items()},"
    " 'scopes': {n: r.scope_types for n, r in e.registered_rules.items()}}))\n")
scopes = {}
def write(name, data):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(data if isinstance(data, str) else json.dumps(data))
    return path
try:
    policies = {}
    for ns in ask["namespaces"]:
        # Neutron's enforcer parses sys.argv: the namespace goes by the environment.
        run = subprocess.run([sys.executable, "-c", SCOPES], capture_output=True, text=True,
                             timeout=120, env=dict(os.environ, XT_NAMESPACE=ns,
                                                   XT_CONFIG=ask["config"].get(ns, "")))
        if run.returncode:
            out["errors"][ns] = (run.stderr or run.stdout).strip()[-300:]
        else:
            scopes[ns] = json.loads(run.stdout.strip().splitlines()[-1])
            policies[ns] = write(ns + ".json", scopes[ns]["rules"])
    for case in ask["cases"]:
        if case["namespace"] not in policies:
            continue
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                shell.tool(policies[case["namespace"]], write("a.json", case["access"]),
                           case["rule"], False, write("t.json", case["target"]))
            except KeyError:
                print("missing: " + case["rule"])
        said = buf.getvalue().strip()[-200:]
        token = case["access"]["token"]
        scope = "system" if token.get("system") else "project"
        known = scopes.get(case["namespace"], {})
        allowed = (known.get("scopes") or {}).get(case["rule"]) or []
        if said.startswith("passed") and known.get("enforce") and allowed \
                and scope not in allowed:
            said = "failed: %s (scope %s, the rule allows %s)" % (case["rule"], scope, allowed)
        out["results"].append({"id": case["id"], "said": said})
finally:
    subprocess.run(["rm", "-rf", work], timeout=30)
print(json.dumps(out))
'''


@dataclass
class Answer:
    node: str
    persona: str
    operation: str
    rule: str
    deployed: str      # allow, deny, or "unknown: ..." when the rule cannot be evaluated


def access(user_id: str, roles: list[str], project_id: str | None) -> dict:
    # The services' credentials always carry project_id and tenant_id (None for a system
    # token: oslo.policy then compares "None" with "None", as the services do).
    token: dict = {"roles": [{"name": r} for r in roles],
                   "user": {"id": user_id, "domain": {"id": "default"}},
                   "project_id": project_id, "tenant_id": project_id}
    if project_id:
        token["project"] = {"id": project_id, "domain": {"id": "default"}}
    else:
        token["system"] = {"all": True}
    return {"token": token}


def target(project_id: str | None, user_id: str) -> dict:
    """What the services put in a policy target for a resource of ``project_id`` (None:
    a call on no project's resource by a persona without a project, as a list call's
    target is the caller's project)."""
    return {"project_id": project_id, "tenant_id": project_id, "user_id": user_id,
            "owner": project_id, "network:tenant_id": project_id,
            "network:project_id": project_id, "domain_id": "default",
            "target": {"project": {"id": project_id, "domain_id": "default"}}}


def ask_node(address: str, ssh: dict, key_file: str | None, namespaces: list[str],
             cases: list[dict], timeout: float = 300) -> dict:
    """Run the generator and the checker on one node; its JSON answer."""
    command = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
               "-o", "LogLevel=ERROR", "-p", str(ssh.get("port", 22))]
    if key_file:
        command += ["-i", key_file]
    script = json.dumps({"namespaces": namespaces, "cases": cases, "config": CONFIG_FILES})
    remote = "python3 -c " + _quote(REMOTE)
    try:
        run = subprocess.run(command + [f"{ssh.get('username', 'root')}@{address}", remote],
                             input=script, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PolicyError(f"Reading the deployed policy on {address} took over {timeout:.0f} s;"
                          " check the node answers SSH.") from None
    if run.returncode:
        raise PolicyError(f"Reading the deployed policy on {address} failed (rc {run.returncode}"
                          f"): {run.stderr.strip()[-300:]}. Check SSH access and that "
                          "python3-oslo.policy is installed there.")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def verdict_of(said: str) -> str:
    if said.startswith("passed:"):
        return "allow"
    if said.startswith("failed:"):
        return "deny"
    return f"unknown: {said}"

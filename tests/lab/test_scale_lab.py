"""`extreme lab add-node` and `remove-node` on the running lab: cmp2 is built like cmp1,
serves (Nova and Neutron see it, its BMC and switch port answer, the target file lists it),
and its removal leaves nothing of it, in the lab or in the cloud. A node `up` made is
refused. (The scale keywords and the suite around them: suites/changes/scale.robot.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
import yaml

from ExtremeTesting.lab import config, lab, paths
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.lab.api import Api

EXTREME = [sys.executable, "-m", "ExtremeTesting.cli"]
NODE = "cmp2"
# A compute node was measured at about 1 min to add on the 2-core lab; 10 min bound.
ADD_TIMEOUT = 600


def extreme(*args: str, timeout: float = ADD_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([*EXTREME, "lab", *args], capture_output=True, text=True,
                          timeout=timeout)


def admin() -> Api:
    api = Api(json.loads((paths.root() / "secrets.json").read_text())["admin"])
    api.login()
    return api


def compute_services(api: Api, host: str) -> list[dict]:
    url = config.vip_url(8774, f"/v2.1/os-services?host={host}")
    return api.call("GET", url).json()["services"]


def target() -> dict:
    return yaml.safe_load((paths.root() / "target.yaml").read_text())


@pytest.fixture
def added(running_lab):
    """cmp2 added for the test, removed after it whatever happened."""
    started = time.monotonic()
    done = extreme("add-node", NODE, "--role", "compute")
    took = time.monotonic() - started
    print(f"add-node {NODE}: {took:.1f} s")
    try:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        yield took
    finally:
        extreme("remove-node", NODE)


def test_an_added_compute_node_serves_like_cmp1_and_leaves_nothing_when_removed(added, ssh):
    address = topo.node(NODE).address
    rows = json.loads(ssh(address, "service list --json").stdout)
    assert [r["name"] for r in rows] == ["neutron-linuxbridge-agent", "nova-compute"]
    assert {r["state"] for r in rows} == {"running"}, rows
    assert ssh(address, "hostname").stdout.strip() == NODE
    api = admin()
    assert [(s["binary"], s["state"], s["status"]) for s in compute_services(api, NODE)] == \
        [("nova-compute", "up", "enabled")]
    assert not api.missing_agents([("Linux bridge agent", NODE)])
    data = target()
    assert data["nodes"][NODE]["address"] == address
    assert NODE in data["services"]["nova-compute"]["nodes"]
    assert NODE in data["bmcs"] and NODE in data["switches"]["sw1"]["ports"]
    assert data["scale"]["add"]["command"].endswith("lab add-node {node} --role {role}")
    bmc = f"https://{topo.node(NODE).bmc_address}:8000"
    auth = ("admin", json.loads((paths.root() / "secrets.json").read_text())["bmc"])
    systems = requests.get(f"{bmc}/redfish/v1/Systems", verify=False, timeout=10, auth=auth)
    system = systems.json()["Members"][0]["@odata.id"]
    assert requests.get(f"{bmc}{system}", verify=False, timeout=10,
                        auth=auth).json()["PowerState"] == "On"
    status = {n["name"]: n for n in lab.status()["nodes"]}
    assert status[NODE]["added"] == "up" and status[NODE]["power"] == "on"
    bmcs = lab.read_state()["bmcs"]  # the base nodes share one BMC process, cmp2 has its own
    shared = {bmcs[n.name] for n in topo.NODES}
    assert len(shared) == 1 and bmcs[NODE] not in shared

    done = extreme("remove-node", NODE)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert compute_services(api, NODE) == []
    assert not [a for a in api.agents() if a["host"] == NODE]
    assert NODE not in target()["nodes"] and NODE not in lab.added_nodes()
    assert paths.netns(NODE) not in lab.leftover_namespaces()
    assert not paths.node_dir(NODE).exists()
    assert NODE not in (lab.read_state().get("bmcs") or {})
    assert all("ExtremeTesting.lab.bmc" in lab._cmdline(pid) for pid in shared)
    cmp1 = f"https://{topo.node('cmp1').bmc_address}:8000/redfish/v1/Systems"
    assert requests.get(cmp1, verify=False, timeout=10, auth=auth).status_code == 200


def test_a_node_up_made_is_never_removed(running_lab):
    done = extreme("remove-node", "cmp1", timeout=60)
    assert done.returncode == 1
    assert "made by 'extreme lab up'" in done.stderr
    assert "cmp1" in target()["nodes"]

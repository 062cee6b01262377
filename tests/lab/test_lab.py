"""The lab is a real, HA-shaped cloud: checked over SSH and through the VIP."""

import json
import threading
import time

import requests

from ExtremeTesting.lab import topology as topo
from ExtremeTesting.lab.api import Api

VIP_KEYSTONE = f"http://{topo.VIP}:5000/v3"


def admin_api():
    from ExtremeTesting.lab import paths

    values = json.loads((paths.root() / "secrets.json").read_text())
    api = Api(values["admin"])
    api.login()
    return api


def test_each_node_has_its_hostname_and_sees_only_its_own_processes(ssh):
    for node in topo.NODES:
        out = ssh(node.address, "hostname; ps -eo comm=").stdout.split()
        assert out[0] == node.name
        processes = set(out[1:])
        assert "tini" in processes and "sshd" in processes
        if node.name in topo.MEMBERS:
            assert "mariadbd" in processes
        else:
            assert "mariadbd" not in processes, f"{node.name} sees a member's processes"
        if node.name != "lb":
            assert "haproxy" not in processes


def test_each_node_reports_its_services_running(ssh):
    for node in topo.NODES:
        rows = json.loads(ssh(node.address, "service list --json").stdout)
        assert [r["name"] for r in rows] == [s.name for s in topo.services_of(node.name)]
        assert {r["state"] for r in rows} == {"running"}, rows


def test_a_service_restarted_through_the_service_manager_comes_back(ssh):
    ctl2 = topo.node("ctl2").address
    before = json.loads(ssh(ctl2, "service list --json").stdout)
    pids_before = {r["name"]: r["pids"] for r in before}
    assert ssh(ctl2, "service glance-api restart", timeout=120).returncode == 0
    after = {r["name"]: r for r in json.loads(ssh(ctl2, "service list --json").stdout)}
    assert after["glance-api"]["state"] == "running"
    assert after["glance-api"]["pids"] != pids_before["glance-api"]
    assert after["keystone"]["pids"] == pids_before["keystone"]
    response = requests.get(f"http://{ctl2}:9292/versions", timeout=5)
    assert response.status_code in (200, 300)


def test_a_token_and_a_server_lifecycle_through_the_vip(running_lab):
    api = admin_api()
    seeds = running_lab["seeds"]
    took = api.server_lifecycle(seeds["flavor"], seeds["image"])
    assert took < 90


def test_killing_keystone_on_ctl1_leaves_ctl2_untouched_and_requests_succeeding(ssh):
    api = admin_api()
    ctl1, ctl2 = topo.node("ctl1").address, topo.node("ctl2").address
    ctl2_before = json.loads(ssh(ctl2, "service list --json").stdout)
    outcomes: dict[str, list[tuple[float, int]]] = {"version": [], "token": []}
    stop = threading.Event()

    def client(kind: str, url: str, headers: dict):
        session = requests.Session()
        while not stop.is_set():
            try:
                status = session.get(url, timeout=3, headers=headers).status_code
            except requests.RequestException:
                status = 0
            outcomes[kind].append((time.monotonic(), status))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=("version", VIP_KEYSTONE, {})),
               threading.Thread(target=client, args=("token", f"{VIP_KEYSTONE}/auth/tokens", {
                   "X-Auth-Token": api.token, "X-Subject-Token": api.token}))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        killed_at = time.monotonic()
        ssh(ctl1, "pkill -KILL -f keystone-uwsgi")
        time.sleep(5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        ssh(ctl1, "service keystone start", timeout=120)
    for kind, samples in outcomes.items():
        after = [status for at, status in samples if at > killed_at]
        failures = [status for status in after if status != 200]
        assert len(after) >= 5, f"{kind}: the client made too few requests to judge"
        # FINDINGS: at most the request in flight at the kill fails
        assert len(failures) <= 1, f"{kind}: {len(failures)} of {len(after)} failed: {failures}"
    assert len([1 for at, _ in outcomes["version"] if at > killed_at]) > 30
    ctl2_after = json.loads(ssh(ctl2, "service list --json").stdout)
    assert ctl2_after == ctl2_before, "killing keystone on ctl1 touched ctl2"
    assert json.loads(ssh(ctl1, "service list --json").stdout)[0]["state"] == "running"

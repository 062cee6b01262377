"""The lab's clusters and its service manager, checked over SSH as an operator would."""

import json
import shlex
import uuid

import requests

from ExtremeTesting.lab import topology as topo

WSREP = "mysql -N -B -e \"SHOW GLOBAL STATUS LIKE 'wsrep_%'\""


def member_addresses():
    return [topo.node(name).address for name in topo.MEMBERS]


def test_every_galera_member_is_synced_in_one_primary_component(ssh):
    for address in member_addresses():
        out = ssh(address, WSREP).stdout  # root over the unix socket: no password
        status = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
        assert status["wsrep_local_state_comment"] == "Synced", (address, status)
        assert status["wsrep_cluster_status"] == "Primary"
        assert status["wsrep_ready"] == "ON"
        assert status["wsrep_cluster_size"] == str(len(topo.MEMBERS))


def test_every_rabbitmq_member_runs_in_one_cluster_with_quorum_queues(ssh):
    wanted = sorted(f"rabbit@{name}" for name in topo.MEMBERS)
    for address in member_addresses():
        status = json.loads(ssh(address, "rabbitmqctl cluster_status --formatter json",
                                timeout=60).stdout)
        assert sorted(status["running_nodes"]) == wanted, (address, status["running_nodes"])
        assert not any(status.get("partitions") or {}), status.get("partitions")
    queues = json.loads(ssh(member_addresses()[0], "rabbitmqctl list_queues name type leader "
                            "members --formatter json", timeout=60).stdout)
    quorum = [q for q in queues if q["type"] == "quorum"]
    assert quorum, "no quorum queue: oslo.messaging's rabbit_quorum_queue is not in effect"
    for queue in quorum:
        assert queue["leader"] in wanted and sorted(queue["members"]) == wanted, queue


def test_haproxy_sends_mariadb_clients_to_one_member_and_keeps_the_others_as_backups():
    stats = requests.get(f"http://{topo.node('lb').address}:8404/;csv", timeout=5).text
    rows = [line.split(",") for line in stats.splitlines() if line.startswith("mariadb,")]
    servers = {row[1]: row for row in rows if row[1] not in ("FRONTEND", "BACKEND")}
    header = stats.splitlines()[0].lstrip("# ").split(",")
    status, active, backup = (header.index(k) for k in ("status", "act", "bck"))
    assert set(servers) == set(topo.MEMBERS)
    assert {name: row[status] for name, row in servers.items()} == \
        {name: "UP" for name in topo.MEMBERS}
    assert [name for name, row in servers.items() if row[active] == "1"] == [topo.MEMBERS[0]]
    assert sorted(name for name, row in servers.items() if row[backup] == "1") == \
        sorted(topo.MEMBERS[1:])


def test_no_service_logged_a_traceback_while_the_lab_started(running_lab):
    assert running_lab.get("tracebacks") == {}, running_lab.get("tracebacks")


def test_a_restart_of_a_service_slower_to_stop_than_its_timeout_leaves_it_running(ssh):
    """A planted service that ignores SIGTERM (as a neutron-server waiting on a worker):
    `service X restart` must kill it, wait until it is gone and start it again, or say
    it could not (never exit 0 with nothing running)."""
    address = topo.node("cmp1").address
    marker = f"xt-slowstop-{uuid.uuid4().hex[:8]}"
    folder = f"/tmp/{marker}"
    command = ["/bin/bash", "-c", f"exec -a {marker} /bin/bash -c "
               f"\"trap '' TERM; while true; do sleep 0.2; done\""]
    config = {"order": ["slowstop"], "services": {"slowstop": {
        "command": command, "user": "root", "grep": marker, "ready": None, "rundirs": [],
        "log": f"{folder}/slowstop.out", "chdir": "/", "stop_timeout": 2}}}
    service = f"EXTREME_LAB_SERVICES={folder}/services.json service slowstop"
    ssh(address, f"mkdir -p {folder} && echo {shlex.quote(json.dumps(config))} "
                 f"> {folder}/services.json")
    try:
        assert ssh(address, f"{service} start").returncode == 0
        before = ssh(address, f"pgrep -f {marker}").stdout.split()
        restart = ssh(address, f"{service} restart", timeout=60, check=False)
        after = ssh(address, f"pgrep -f {marker}", check=False).stdout.split()
        running = ssh(address, f"{service} status", check=False).returncode == 0
        if restart.returncode == 0:
            assert "restarted" in restart.stdout
            assert running and after and not set(before) & set(after), (before, after)
        else:
            assert restart.stderr.strip(), "a failed restart must say why"
    finally:
        ssh(address, f"{service} stop; rm -rf {folder}", check=False)
    assert ssh(address, f"pgrep -f {marker}", check=False).stdout.strip() == ""

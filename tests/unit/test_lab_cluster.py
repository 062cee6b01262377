"""The clustered lab's configuration: Galera and RabbitMQ members, HAProxy in front of
MariaDB, the members' health check, the target's `clusters:` section, and the start-up
traceback scan (no lab needed)."""

import configparser
import http.client
import importlib.util
import os
import stat
import threading
from pathlib import Path

import yaml

from ExtremeTesting.lab import config, lab, targetfile
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.target import load

SECRETS = {"admin": "A-pw", "service": "S-pw", "db": "D-pw", "rabbit": "R-pw",
           "bmc": "B-pw", "switch": "W-pw", "erlang_cookie": "C-pw"}
CHECK = Path(__file__).parents[2] / "libraries" / "ExtremeTesting" / "lab" / "clustercheck.py"
ADDRESSES = {"ctl1": "198.18.0.11", "ctl2": "198.18.0.12", "db": "198.18.0.20"}


def parse(text):
    parser = configparser.ConfigParser(interpolation=None, allow_no_value=True)
    parser.read_string(text)
    return parser


def test_each_galera_member_uses_its_own_address_and_knows_the_others():
    for name, address in ADDRESSES.items():
        mysqld = parse(config.my_cnf(name))["mysqld"]
        assert mysqld["bind-address"] == address
        assert mysqld["wsrep_node_name"] == name and mysqld["wsrep_node_address"] == address
        assert mysqld["wsrep_cluster_address"] == \
            "gcomm://198.18.0.11,198.18.0.12,198.18.0.20"
        assert mysqld["wsrep_sst_method"] == "rsync"
        assert mysqld["wsrep_sst_receive_address"] == f"{address}:4444"
        assert f"gmcast.listen_addr=tcp://{address}:4567" in mysqld["wsrep_provider_options"]
        assert f"ist.recv_addr={address}:4568" in mysqld["wsrep_provider_options"]
        assert mysqld["binlog_format"] == "ROW" and mysqld["innodb_autoinc_lock_mode"] == "2"


def test_haproxy_fronts_mariadb_with_one_writer_and_checks_each_members_wsrep_state():
    text = config.haproxy_cfg("/x/admin.sock")
    block = text.split("listen mariadb\n", 1)[1].split("\n\n", 1)[0].splitlines()
    lines = [line.strip() for line in block]
    assert f"bind {topo.VIP}:3306" in lines and "mode tcp" in lines
    assert "option httpchk GET /" in lines and "http-check expect status 200" in lines
    assert any(line.startswith("default-server port 9200 ") and "shutdown-sessions" in line
               for line in lines)
    servers = [line for line in lines if line.startswith("server ")]
    assert servers == ["server ctl1 198.18.0.11:3306 check on-marked-up shutdown-backup-sessions",
                       "server ctl2 198.18.0.12:3306 check backup",
                       "server db 198.18.0.20:3306 check backup"]


def test_services_reach_the_database_through_the_vip_and_every_rabbitmq_member():
    nova = parse(config.nova_conf(SECRETS, "198.18.0.11"))
    assert f"@{topo.VIP}/nova" in nova["database"]["connection"]
    neutron = parse(config.neutron_conf(SECRETS, "198.18.0.11"))
    url = neutron["DEFAULT"]["transport_url"]
    assert all(f"@{address}:5672" in url for address in ADDRESSES.values()), url
    assert neutron["oslo_messaging_rabbit"]["rabbit_quorum_queue"] == "true"


def test_keystone_caches_in_memcached_on_both_controllers():
    keystone = parse(config.keystone_conf(SECRETS))
    assert keystone["cache"]["memcache_servers"] == "198.18.0.11:11211,198.18.0.12:11211"
    glance = parse(config.glance_conf(SECRETS, "198.18.0.11"))
    assert glance["keystone_authtoken"]["memcached_servers"] == \
        "198.18.0.11:11211,198.18.0.12:11211"


def test_neutron_has_placement_credentials():
    placement = parse(config.neutron_conf(SECRETS, "198.18.0.11"))["placement"]
    assert placement["auth_type"] == "password" and placement["password"] == "S-pw"
    assert placement["auth_url"] == f"http://{topo.VIP}:5000/v3"


def test_nova_api_runs_more_than_one_process():
    nova = parse(config.uwsgi_ini("nova-api-uwsgi", "198.18.0.11", 8774, "/x", "nova", "/l",
                                  processes=config.NOVA_API_PROCESSES))
    assert int(nova["uwsgi"]["processes"]) >= 2


def test_rabbitmq_members_share_a_cluster_name_and_name_themselves_by_host():
    for name, address in ADDRESSES.items():
        conf = config.rabbitmq_conf(SECRETS, name)
        assert f"listeners.tcp.1 = {address}:5672" in conf
        assert "cluster_partition_handling = pause_minority" in conf
        assert f"cluster_name = {topo.CLUSTER_NAME}" in conf
        assert config.rabbitmq_env(name).startswith(f"NODENAME=rabbit@{name}\n")


def test_the_target_names_the_clusters_and_the_three_members(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    files = {"clouds.yaml": str(tmp_path / "clouds.yaml"),
             "os-faults": str(tmp_path / "os-faults.yaml")}
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(targetfile.target(files), sort_keys=False))
    raw = yaml.safe_load(path.read_text())
    assert raw["clusters"] == {
        "database": {"type": "galera", "service": "mariadb", "members": ["ctl1", "ctl2", "db"],
                     "ports": [3306, 4567, 4568, 4444]},
        "messaging": {"type": "rabbitmq", "service": "rabbitmq",
                      "members": ["ctl1", "ctl2", "db"], "ports": [5672, 25672, 4369]}}
    target = load(path)
    for name in ("mariadb", "rabbitmq", "clustercheck"):
        assert target.section("services")[name]["nodes"] == ["ctl1", "ctl2", "db"]
    assert target.section("services")["memcached"]["nodes"] == ["ctl1", "ctl2"]
    faults = targetfile.os_faults_config()["services"]
    for name in ("mariadb", "rabbitmq"):
        assert faults[name]["hosts"] == list(ADDRESSES.values())
    for cluster in raw["clusters"].values():
        assert set(cluster["members"]) <= set(raw["nodes"])
        assert cluster["service"] in raw["services"]


def load_check():
    spec = importlib.util.spec_from_file_location("clustercheck", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clustercheck_is_healthy_only_when_synced_primary_and_ready():
    check = load_check()
    good = {"wsrep_local_state_comment": "Synced", "wsrep_cluster_status": "Primary",
            "wsrep_ready": "ON"}
    assert check.verdict(good)[0] is True
    for name, value in (("wsrep_local_state_comment", "Donor/Desynced"),
                        ("wsrep_local_state_comment", "Joining"),
                        ("wsrep_cluster_status", "non-Primary"), ("wsrep_ready", "OFF")):
        healthy, text = check.verdict({**good, name: value})
        assert healthy is False and f"{name}={value}" in text
    healthy, text = check.verdict({})
    assert healthy is False and "wsrep_ready=missing" in text


def fake_mysql(folder, output, code=0):
    """A `mysql` on PATH that prints ``output`` and exits ``code``."""
    folder.mkdir(exist_ok=True)
    script = folder / "mysql"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\necho 'refused' >&2\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_clustercheck_answers_haproxy_over_http(tmp_path, monkeypatch):
    check = load_check()
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    server = check.Server(("127.0.0.1", 0), check.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def get():
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
        connection.request("GET", "/")
        response = connection.getresponse()
        return response.status, response.read().decode()

    try:
        fake_mysql(bin_dir, "wsrep_local_state_comment\\tSynced\\nwsrep_cluster_status\\t"
                            "Primary\\nwsrep_ready\\tON\\n")
        assert get()[0] == 200
        fake_mysql(bin_dir, "wsrep_local_state_comment\\tJoined\\nwsrep_cluster_status\\t"
                            "Primary\\nwsrep_ready\\tON\\n")
        status, text = get()
        assert status == 503 and "wsrep_local_state_comment=Joined" in text
        fake_mysql(bin_dir, "", code=1)  # the server is down
        status, text = get()
        assert status == 503 and "MariaDB refused" in text
    finally:
        server.shutdown()
        server.server_close()


def test_lab_up_names_every_log_with_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    logs = tmp_path / "nodes" / "ctl1" / "log" / "neutron"
    logs.mkdir(parents=True)
    (logs / "neutron-server.log").write_text(
        "start\n2026 ERROR x Traceback (most recent call last):\n  File...\n"
        "MissingAuthPlugin\nok\n2026 ERROR x Traceback (most recent call last):\n")
    (logs / "quiet.log").write_text("all fine\n")
    (tmp_path / "nodes" / "db" / "log").mkdir(parents=True)
    assert lab.logged_tracebacks() == {
        "ctl1 neutron/neutron-server.log": "2 tracebacks, first at line 2"}


def test_a_controller_that_is_off_costs_a_request_at_most_a_short_memcached_wait():
    glance = parse(config.glance_conf(SECRETS, "198.18.0.11"))["keystone_authtoken"]
    assert int(glance["memcache_pool_socket_timeout"]) <= 1
    assert int(glance["memcache_pool_conn_get_timeout"]) <= 2
    cache = parse(config.keystone_conf(SECRETS))["cache"]
    assert float(cache["memcache_socket_timeout"]) <= 1
    assert int(cache["memcache_dead_retry"]) >= 60


def test_neutron_serves_its_api_from_two_workers_that_every_fault_reaches():
    """One green-thread process held every request behind a network create or delete (a
    quiet lab lost 3.7 % of network reads to a 1 s timeout); two API workers do not. A
    kill, freeze or restart finds its processes by the service's pattern: it must match
    the workers' process titles too, or a frozen neutron-server would go on serving."""
    neutron = parse(config.neutron_conf(SECRETS, "198.18.0.11"))["DEFAULT"]
    assert int(neutron["api_workers"]) == 2
    [server] = [s for s in topo.SERVICES if s.name == "neutron-server"]
    titles = ["/usr/bin/python3 /usr/bin/neutron-server --config-file /etc/neutron/neutron.conf",
              "neutron-server: api worker (/usr/bin/python3 /usr/bin/neutron-server "
              "--config-file /etc/neutron/neutron.conf)",
              "neutron-server: rpc worker (/usr/bin/python3 /usr/bin/neutron-server "
              "--config-file /etc/neutron/neutron.conf)"]
    # svcmgr.matching_pids's rule (the pattern within /proc/PID/cmdline), as os-faults'
    # `ps ax | grep` finds them
    assert all(server.grep in title for title in titles), server.grep

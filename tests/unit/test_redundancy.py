"""Full redundancy: HAProxy's answers parsed, the target's load balancer section, the
per-node API instances and the keywords' verdicts, with small fakes (no lab)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ExtremeTesting import loadbalancer, target
from ExtremeTesting.cloud import redundancy
from ExtremeTesting.cloud.apierrors import CloudError
from ExtremeTesting.cloud.keywords.redundancy import RedundancyKeywords
from ExtremeTesting.errors import TargetError
from robot.api import SkipExecution

FIXTURE = Path(__file__).parent / "data" / "suites" / "lab" / "target.yaml"
HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,check_status,"
          "check_code,addr,cookie")
STAT = "\n".join([
    HEADER,
    "stats,FRONTEND,,,0,1,4000,1,OPEN,,,,,",
    "stats,BACKEND,0,0,0,0,400,0,UP,0,,,,",
    "keystone,FRONTEND,,,12,12,4000,13,OPEN,,,,,",
    "keystone,ctl1,0,0,3,3,,34,UP,1,L7OK,200,198.18.0.11:5000,",
    "keystone,ctl2,0,0,0,1,,30,MAINT,1,L7OK,200,198.18.0.12:5000,",
    "keystone,BACKEND,0,0,3,3,400,64,UP,1,,,,",
    "nova-api,ctl1,0,0,0,1,,3,DOWN,1,L4CON,,198.18.0.11:8774,",
    "nova-api,ctl2,0,0,0,1,,3,UP 1/2,1,L7STS,503,198.18.0.12:8774,",
    "glance-api,ctl1,0,0,0,1,,3,DRAIN,0,L7OK,200,198.18.0.11:9292,",
    "glance-api,other,0,0,0,1,,3,no check,1,,,10.9.9.9:9292,",
    "",
])
SERVERS_STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight \
srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health \
srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord
4 keystone 1 ctl1 198.18.0.11 2 0 1 1 33 15 3 3 6 0 0 0 - 5000 -
4 keystone 2 ctl2 198.18.0.12 2 1 1 1 33 15 3 3 6 0 0 0 - 5000 -
5 nova-api 1 ctl1 198.18.0.11 0 0 1 1 33 15 3 3 6 0 0 0 - 8774 -
5 nova-api 2 ctl2 198.18.0.12 2 8 1 1 33 15 3 3 6 0 0 0 - 8774 -
"""


@pytest.fixture
def lab():
    return target.load(FIXTURE)


# --- HAProxy's answers -------------------------------------------------------------------

def test_show_stat_gives_every_server_and_its_state(lab):
    servers = loadbalancer.parse_stat(STAT, lab.section("nodes"))
    assert [(s.backend, s.name, s.status) for s in servers] == [
        ("keystone", "ctl1", "UP"), ("keystone", "ctl2", "MAINT"),
        ("nova-api", "ctl1", "DOWN"), ("nova-api", "ctl2", "UP 1/2"),
        ("glance-api", "ctl1", "DRAIN"), ("glance-api", "other", "no check")]
    assert servers[0].sessions == 3 and servers[0].node == "ctl1"
    assert servers[-1].node == "", "an address the target does not know names no node"


def test_problems_name_backend_server_and_state_of_each_server_out_of_rotation(lab):
    found = loadbalancer.problems(loadbalancer.parse_stat(STAT, lab.section("nodes")))
    assert found == [
        "backend keystone server ctl2 is MAINT, last check L7OK",
        "backend nova-api server ctl1 is DOWN, last check L4CON",
        "backend nova-api server ctl2 is UP 1/2, last check L7STS",
        "backend glance-api server ctl1 is DRAIN, last check L7OK"]


def test_a_server_named_otherwise_is_matched_to_its_node_by_address():
    text = HEADER + "\nkeystone,api-a,0,0,0,0,,0,DOWN,1,L4CON,,10.0.0.5:5000,\n"
    server = loadbalancer.parse_stat(text, {"ctl7": {"address": "10.0.0.5"}})[0]
    assert server.node == "ctl7"
    assert str(server) == "backend keystone server api-a (node ctl7) is DOWN, last check L4CON"


def test_not_haproxy_output_is_refused():
    with pytest.raises(ValueError, match="show stat"):
        loadbalancer.parse_stat("Unknown command. Please enter one of the following...")


def test_show_servers_state_gives_maintenance_drain_and_down(lab):
    servers = loadbalancer.parse_servers_state(SERVERS_STATE, lab.section("nodes"))
    assert [(s.backend, s.name, s.status) for s in servers] == [
        ("keystone", "ctl1", "UP"), ("keystone", "ctl2", "MAINT"),
        ("nova-api", "ctl1", "DOWN"), ("nova-api", "ctl2", "DRAIN")]
    assert servers[1].address == "198.18.0.12:5000" and servers[1].node == "ctl2"


# --- the target's section --------------------------------------------------------------------

def test_the_lab_fixture_and_the_example_name_their_load_balancer(lab):
    spec = loadbalancer.spec_from_target(lab)
    assert (spec.type, spec.node, spec.address) == ("haproxy", "lb", "198.18.0.10")
    assert spec.admin_socket.endswith("nodes/lb/haproxy/admin.sock")
    example = target.load(Path(__file__).parents[2] / "variables" / "example-3-controllers.yaml")
    assert loadbalancer.spec_from_target(example).node == "ctl1"


@pytest.mark.parametrize("section, message", [
    ({"type": "f5", "node": "lb", "admin_socket": "/s"}, "type is 'f5'; supported: haproxy"),
    ({"type": "haproxy", "admin_socket": "/s"}, "node is missing"),
    ({"type": "haproxy", "node": "nosuch", "admin_socket": "/s"}, "Unknown node 'nosuch'"),
    ({"type": "haproxy", "node": "lb"}, "needs admin_socket"),
    ({"type": "haproxy", "node": "lb", "socket": "/s"}, "unknown keys socket"),
    ("haproxy", "must be a mapping"),
])
def test_a_bad_section_is_one_line_naming_the_fix(tmp_path, section, message):
    data = yaml.safe_load(FIXTURE.read_text())
    data["load_balancer"] = section
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetError, match=message) as error:
        loadbalancer.spec_from_target(target.load(path))
    assert "\n" not in str(error.value)


def test_a_backend_not_named_after_its_service_is_in_the_section(tmp_path, lab):
    assert loadbalancer.spec_from_target(lab).backend("keystone") == "keystone"
    data = yaml.safe_load(FIXTURE.read_text())
    data["load_balancer"]["backends"] = {"nova-api": "compute"}
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    spec = loadbalancer.spec_from_target(target.load(path))
    assert (spec.backend("nova-api"), spec.backend("keystone")) == ("compute", "keystone")
    data["load_balancer"]["backends"] = ["compute"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetError, match="backends must be a mapping of service to backend"):
        loadbalancer.spec_from_target(target.load(path))


def test_no_section_means_no_load_balancer(tmp_path):
    data = yaml.safe_load(FIXTURE.read_text())
    del data["load_balancer"]
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    assert loadbalancer.from_target(target.load(path)) is None


# --- asking HAProxy ------------------------------------------------------------------------

@pytest.fixture
def fake_admin_socket(haproxy_socket):
    """Answers 'show stat' like HAProxy, and records each command."""
    return haproxy_socket(lambda text: STAT)


@pytest.mark.parametrize("with_socat", [True, False])
def test_the_shell_line_run_on_the_node_reaches_the_socket(fake_admin_socket, with_socat):
    path, commands = fake_admin_socket
    line = loadbalancer.socket_command(path, "show stat")
    env = None if with_socat else {"PATH": "/nonexistent", "HOME": "/"}
    shell = ["/bin/bash", "-c", line if with_socat else line.replace("python3", _python3())]
    out = subprocess.run(shell, capture_output=True, text=True, timeout=20, env=env, check=True)
    assert commands == ["show stat"]
    assert len(loadbalancer.parse_stat(out.stdout)) == 6


def _python3() -> str:
    import shutil

    return shutil.which("python3") or "/usr/bin/python3"


def test_haproxy_runs_show_stat_on_its_node_or_reads_the_stats_page(lab):
    calls = []

    def run(address, line, timeout):
        calls.append((address, line, timeout))
        return STAT

    spec = loadbalancer.spec_from_target(lab)
    balancer = loadbalancer.HAProxy(spec, run, lab.section("nodes"))
    assert len(balancer.servers()) == 6
    assert calls[0][0] == "198.18.0.10" and "show stat" in calls[0][1]
    pages = []
    page = loadbalancer.HAProxy(
        loadbalancer.LoadBalancerSpec("haproxy", "lb", "198.18.0.10", "",
                                      "http://198.18.0.10:8404/"),
        run, fetch=lambda url, timeout: pages.append(url) or STAT)
    assert len(page.servers()) == 6 and pages == ["http://198.18.0.10:8404/;csv"]
    with pytest.raises(ValueError, match="no admin_socket"):
        page.command("disable server keystone/ctl1")


# --- API instances on their nodes ----------------------------------------------------------

def test_every_api_instance_is_the_node_address_the_port_and_the_vip_path(lab):
    instances = redundancy.api_instances(lab.data)
    assert len(instances) == 10
    urls = {str(i): i.url for i in instances}
    assert urls["keystone on ctl1"] == "http://198.18.0.11:5000/v3"
    assert urls["nova-api on ctl2"] == "http://198.18.0.12:8774/v2.1"
    assert urls["glance-api on ctl1"] == "http://198.18.0.11:9292/"
    assert [str(i) for i in redundancy.api_instances(lab.data, "nova-api", "ctl2")] == [
        "nova-api on ctl2"]
    assert len(redundancy.api_instances(lab.data, node="ctl1")) == 5


@pytest.mark.parametrize("service, node, message", [
    ("nova-conductor", None, "not an API service"),
    ("keystone", "ctl9", "Unknown node 'ctl9'"),
    ("keystone", "db", "does not place keystone on db"),
])
def test_a_bad_service_or_node_is_named(lab, service, node, message):
    with pytest.raises(TargetError, match=message):
        redundancy.api_instances(lab.data, service, node)


def test_silent_instances_are_the_unanswered_and_the_5xx(lab):
    def get(url, timeout):
        if ":5000" in url and "198.18.0.12" in url:
            raise TimeoutError("read timed out")
        return 503 if ":8774" in url and "198.18.0.11" in url else 300

    answers, failed = redundancy.silent(redundancy.api_instances(lab.data), 1.0, get)
    assert len(answers) == 10
    assert [str(a).split(":")[0] for a in failed] == ["keystone on ctl2 http",
                                                      "nova-api on ctl1 http"]
    assert "no answer (TimeoutError: read timed out)" in str(failed[0])
    assert "HTTP 503" in str(failed[1])


# --- the keywords' verdicts ----------------------------------------------------------------

class FakeContext:
    def __init__(self, target_, balancer=None):
        self._target, self._balancer = target_, balancer

    def target(self):
        return self._target

    def load_balancer(self):
        return self._balancer


def keywords(ctx, get):
    component = RedundancyKeywords(ctx)
    component.get = get
    return component


def test_every_api_should_serve_names_each_node_and_service(lab):
    down = {"http://198.18.0.11:9696/"}

    def get(url, timeout):
        if url in down:
            raise ConnectionRefusedError("refused")
        return 200

    checks = keywords(FakeContext(lab), get)
    with pytest.raises(CloudError) as error:
        checks.every_api_should_serve_on_every_node()
    assert "1 of 10 instances did not: neutron-server on ctl1" in str(error.value)
    down.clear()
    checks.every_api_should_serve_on_every_node()


def test_without_a_target_the_instances_are_skipped_not_passed():
    with pytest.raises(SkipExecution):
        keywords(FakeContext(None), lambda url, timeout: 200).every_api_should_serve_on_every_node()


def test_wait_until_service_serves_on_node_polls_until_it_answers(lab):
    answers = iter([ConnectionRefusedError("refused"), 503, 200])

    def get(url, timeout):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    from datetime import timedelta

    keywords(FakeContext(lab), get).wait_until_service_serves_on_node(
        "keystone", "ctl1", timeout=timedelta(seconds=30))
    with pytest.raises(StopIteration):
        next(answers)


def test_wait_until_service_serves_on_node_fails_naming_node_and_service(lab):
    from datetime import timedelta

    def get(url, timeout):
        raise TimeoutError("read timed out")

    with pytest.raises(CloudError) as error:
        keywords(FakeContext(lab), get).wait_until_service_serves_on_node(
            "nova-api", "ctl2", timeout=timedelta(seconds=1))
    assert str(error.value).startswith("nova-api on ctl2 did not serve again: Timed out")
    assert "http://198.18.0.12:8774/v2.1: no answer (TimeoutError" in str(error.value)


def test_every_load_balancer_backend_should_be_up_names_what_is_not(lab):
    answer = {"text": STAT}
    balancer = loadbalancer.HAProxy(loadbalancer.spec_from_target(lab),
                                    lambda address, line, timeout: answer["text"],
                                    lab.section("nodes"))
    checks = keywords(FakeContext(lab, balancer), lambda url, timeout: 200)
    with pytest.raises(CloudError) as error:
        checks.every_load_balancer_backend_should_be_up()
    assert "4 of 6 servers are not: backend keystone server ctl2 is MAINT" in str(error.value)
    answer["text"] = "\n".join(line for line in STAT.splitlines()
                               if line.startswith("#") or ",UP," in line or "no check" in line)
    checks.every_load_balancer_backend_should_be_up()


def test_an_unreadable_load_balancer_is_named_with_the_fix(lab):
    def run(address, line, timeout):
        raise OSError("No route to host")

    balancer = loadbalancer.HAProxy(loadbalancer.spec_from_target(lab), run)
    with pytest.raises(CloudError, match="Could not read the load balancer haproxy on lb"):
        keywords(FakeContext(lab, balancer), None).every_load_balancer_backend_should_be_up()


def test_no_load_balancer_in_the_target_skips(lab):
    with pytest.raises(SkipExecution, match="names no load_balancer"):
        keywords(FakeContext(lab, None), None).every_load_balancer_backend_should_be_up()

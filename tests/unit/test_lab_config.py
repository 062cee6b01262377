"""The lab's rendered configuration: what HA, safety and os-faults depend on."""

import configparser

import pytest
import yaml

from ExtremeTesting.lab import config, targetfile
from ExtremeTesting.lab import topology as topo
from ExtremeTesting.target import load

SECRETS = {"admin": "A-pw", "service": "S-pw", "db": "D-pw", "rabbit": "R-pw",
           "bmc": "B-pw", "switch": "W-pw"}


def parse(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def haproxy_sections(text):
    sections, current = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            current = line.strip()
            sections[current] = []
        elif line.strip() and current:
            sections[current].append(line.strip())
    return sections


def test_every_api_is_balanced_over_both_controllers_with_fast_checks():
    sections = haproxy_sections(config.haproxy_cfg("/tmp/admin.sock"))
    for service in topo.api_services():
        backend = sections[f"backend {service.name}"]
        servers = [line.split()[1] for line in backend if line.startswith("server ")]
        assert servers == ["ctl1", "ctl2"]
        assert all(line.endswith("check") for line in backend if line.startswith("server "))
        assert any(line.startswith("option httpchk") for line in backend)
    defaults = sections["defaults"]
    # a dead backend is noticed within about a second: 2 checks 500 ms apart
    assert "default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2" in defaults


def test_haproxy_never_resends_what_reached_a_backend():
    sections = haproxy_sections(config.haproxy_cfg("/tmp/admin.sock"))
    retry_on = next(line for line in sections["defaults"] if line.startswith("retry-on"))
    assert "response-timeout" not in retry_on and "5" not in retry_on
    for service in topo.api_services():
        frontend = sections[f"frontend {service.name}"]
        assert "http-request disable-l7-retry if !METH_GET !METH_HEAD" in frontend


def test_nova_can_delete_servers_and_uses_the_fake_driver():
    nova = parse(config.nova_conf(SECRETS, "198.18.0.11"))
    assert nova["DEFAULT"]["compute_driver"] == "fake.FakeDriver"
    assert nova["neutron"]["auth_type"] == "password"
    assert nova["neutron"]["password"] == "S-pw"
    # every RabbitMQ member, by address
    assert nova["DEFAULT"]["transport_url"] == (
        "rabbit://openstack:R-pw@198.18.0.11:5672,openstack:R-pw@198.18.0.12:5672,"
        "openstack:R-pw@198.18.0.20:5672/")
    assert nova["oslo_messaging_rabbit"]["rabbit_quorum_queue"] == "true"
    assert nova["conductor"]["workers"] == "1"


def test_services_bind_to_their_own_node_address():
    assert parse(config.glance_conf(SECRETS, "198.18.0.12"))["DEFAULT"]["bind_host"] == \
        "198.18.0.12"
    assert parse(config.neutron_conf(SECRETS, "198.18.0.11"))["DEFAULT"]["bind_host"] == \
        "198.18.0.11"
    uwsgi = parse(config.uwsgi_ini("keystone-uwsgi", "198.18.0.11", 5000, "/x", "keystone",
                                   "/var/log/k.log"))
    assert uwsgi["uwsgi"]["http-socket"] == "198.18.0.11:5000"


def test_ini_leaves_out_none_and_lowercases_booleans():
    text = config.ini({"a": {"x": None, "y": True, "z": 3}})
    assert "x =" not in text and "y = true" in text and "z = 3" in text


def test_lab_addresses_stay_in_the_benchmarking_range():
    for node in topo.NODES:
        assert node.address.startswith("198.18.0.")
        assert node.bmc_address.startswith("127.")
    assert topo.VIP.startswith("198.18.0.")


def test_target_file_loads_and_holds_no_credential(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_DIR", str(tmp_path))
    files = {"clouds.yaml": str(tmp_path / "clouds.yaml"),
             "os-faults": str(tmp_path / "os-faults.yaml")}
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(targetfile.target(files)))
    target = load(path)
    assert target.destructive is True
    assert set(target.section("nodes")) == {"lb", "ctl1", "ctl2", "db", "cmp1"}
    assert target.section("services")["keystone"]["nodes"] == ["ctl1", "ctl2"]
    text = path.read_text()
    for secret in SECRETS.values():
        assert secret not in text


def test_os_faults_config_is_valid_for_os_faults():
    from os_faults import registry
    from os_faults.api import error  # noqa: F401
    import jsonschema
    from os_faults import CONFIG_SCHEMA

    data = targetfile.os_faults_config()
    jsonschema.validate(data, CONFIG_SCHEMA)
    drivers = registry.get_drivers()
    for name, service in data["services"].items():
        jsonschema.validate(service["args"], drivers["process"].CONFIG_SCHEMA)
        assert service["hosts"], name
    assert "password" not in yaml.safe_dump(data)


@pytest.mark.parametrize("argv", [["lab", "ssh", "nosuchnode"],
                                  ["lab", "power", "ctl1", "sideways"]])
def test_cli_rejects_bad_input_before_touching_anything(argv, capsys):
    from ExtremeTesting.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_unknown_command_lists_the_known_ones(capsys):
    from ExtremeTesting.cli import main

    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'frobnicate'" in err and "lab" in err

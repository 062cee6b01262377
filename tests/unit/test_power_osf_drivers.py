"""os-faults power drivers powering a fake node through a real lab BMC process."""

from __future__ import annotations

import json

import jsonschema
import pytest
from os_faults import registry
from os_faults.api import error, node_collection

from ExtremeTesting.lab import bmc
from ExtremeTesting.power import osf_drivers
from ExtremeTesting.power.config import BmcProtocol

PASSWORD = "osf-test-pw"
ENV = "EXTREME_TEST_OSF_BMC_PASSWORD"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("osf")
    machine = state / "machine.json"
    process, ipmi_port, redfish_port = bmc.spawn(
        "node-1", PASSWORD, state / "bmc", fake_machine=machine, exit_after=120)
    yield {"ipmi": ipmi_port, "redfish": redfish_port, "machine": machine}
    process.terminate()
    process.wait(10)


@pytest.fixture
def bmcs(server, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    server["machine"].write_text(json.dumps({"on": True, "calls": []}))
    return {"node-1": {"protocol": "ipmi", "address": "127.0.0.1", "port": server["ipmi"],
                       "username": "admin", "password_env": ENV,
                       "redfish": {"port": server["redfish"]}}}


def machine(server) -> dict:
    return json.loads(server["machine"].read_text())


def driver_for(bmcs: dict, protocol: BmcProtocol, **extra):
    entries = osf_drivers.power_managements_from_target(
        bmcs, {"node-1": {"address": "192.0.2.7"}}, protocol)
    (entry,) = entries
    cls = registry.get_driver(entry["driver"])
    args = {**entry["args"], "timeout": 10, **extra}
    jsonschema.validate(args, cls.CONFIG_SCHEMA)  # what os_faults.connect() does
    return cls(args)


def test_register_adds_both_drivers_once():
    osf_drivers.register()
    osf_drivers.register()
    drivers = registry.get_drivers()
    assert drivers["extreme_ipmi"] is osf_drivers.IpmiPowerDriver
    assert drivers["extreme_redfish"] is osf_drivers.RedfishPowerDriver
    assert drivers["ipmi"].__module__ == "os_faults.drivers.power.ipmi"


@pytest.mark.parametrize("protocol", list(BmcProtocol), ids=lambda p: p.value)
def test_poweroff_poweron_reset_shutdown(server, bmcs, protocol):
    osf_drivers.register()
    driver = driver_for(bmcs, protocol)
    host = node_collection.Host(ip="192.0.2.7", fqdn="node-1")
    assert driver.supports(host)
    driver.poweroff(host)
    assert machine(server)["on"] is False
    driver.poweron(host)
    assert machine(server)["on"] is True
    driver.reset(host)
    driver.shutdown(host)
    assert machine(server) == {"on": False,
                               "calls": ["power_off", "power_on", "reset", "power_off"]}
    driver.reset(host)  # a reset of a node that is off turns it on
    assert machine(server)["on"] is True


def test_host_found_by_ip_and_unknown_host_not_supported(bmcs):
    driver = driver_for(bmcs, BmcProtocol.IPMI)
    assert driver.supports(node_collection.Host(ip="192.0.2.7"))
    assert not driver.supports(node_collection.Host(ip="192.0.2.8", fqdn="other"))


def test_power_manager_with_wrong_password_raises_and_changes_nothing(server, bmcs,
                                                                      monkeypatch):
    from os_faults.api import power_management

    driver = driver_for(bmcs, BmcProtocol.REDFISH)
    monkeypatch.setenv(ENV, "wrong")
    with pytest.raises(error.PowerManagementError, match="rejected the login"):
        driver.poweroff(node_collection.Host(ip="192.0.2.7", fqdn="node-1"))
    manager = power_management.PowerManager()
    manager.add_driver(driver)
    with pytest.raises(error.PowerManagementError):
        manager.poweroff([node_collection.Host(ip="192.0.2.7", fqdn="node-1")])
    assert machine(server)["calls"] == []


def test_connect_with_power_managements_from_target(server, bmcs, monkeypatch):
    """The whole os-faults path: connect() builds the driver from the generated config."""
    import os
    import sys

    import os_faults

    # The universal cloud driver looks for ansible-playbook at connect (none is run here).
    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    osf_drivers.register()
    cloud = os_faults.connect({
        "cloud_management": {"driver": "universal"},
        "node_discover": {"driver": "node_list", "args": [
            {"ip": "192.0.2.7", "fqdn": "node-1", "auth": {"username": "root"}}]},
        "power_managements": osf_drivers.power_managements_from_target(
            bmcs, {"node-1": {"address": "192.0.2.7"}}, BmcProtocol.IPMI),
    })
    nodes = node_collection.NodeCollection(
        cloud_management=cloud, hosts=[node_collection.Host(ip="192.0.2.7", fqdn="node-1")])
    nodes.poweroff()
    assert machine(server)["on"] is False
    nodes.poweron()
    assert machine(server)["on"] is True


def test_password_in_config_is_accepted_but_not_in_repr(server):
    driver = osf_drivers.IpmiPowerDriver({"fqdn_to_bmc": {"node-1": {
        "address": "127.0.0.1", "port": server["ipmi"], "username": "admin",
        "password": PASSWORD}}})
    endpoint = driver._endpoint(node_collection.Host(ip="192.0.2.7", fqdn="node-1"))
    assert endpoint.password() == PASSWORD and PASSWORD not in repr(endpoint)


@pytest.mark.parametrize("protocol", ["ipmi", "redfish"])
def test_faults_library_seam_builds_working_drivers(server, bmcs, protocol):
    accesses = osf_drivers.bmc_accesses(bmcs, {"node-1": ("192.0.2.7", "node-1")}, protocol)
    (entry,) = osf_drivers.power_managements(accesses)
    assert entry["driver"] == f"extreme_{protocol}"
    cls = registry.get_driver(entry["driver"])
    jsonschema.validate(entry["args"], cls.CONFIG_SCHEMA)
    driver = cls(entry["args"])
    host = node_collection.Host(ip="192.0.2.7", fqdn="node-1")
    driver.poweroff(host)
    assert machine(server)["on"] is False
    driver.poweron(host)
    assert machine(server) == {"on": True, "calls": ["power_off", "power_on"]}

"""Reading BMCs from the target file's ``bmcs`` section."""

from __future__ import annotations

import pytest

from ExtremeTesting.errors import TargetError
from ExtremeTesting.power.config import BmcProtocol, endpoints

LAB = {"ctl1": {"protocol": "ipmi", "address": "127.0.10.11", "port": 623,
                "username": "admin", "password_env": "EXTREME_LAB_BMC_PASSWORD",
                "redfish": {"address": "127.0.10.11", "port": 8000, "system_id": "ctl1"}}}


def test_lab_bmc_has_both_protocols_with_inherited_credentials():
    found = endpoints(LAB, "ctl1")
    assert list(found) == [BmcProtocol.IPMI, BmcProtocol.REDFISH]
    redfish = found[BmcProtocol.REDFISH]
    assert (redfish.port, redfish.username, redfish.password_env, redfish.system_id) == (
        8000, "admin", "EXTREME_LAB_BMC_PASSWORD", "ctl1")
    assert redfish.url == "https://127.0.10.11:8000"
    assert found[BmcProtocol.IPMI].name == "BMC of ctl1 (ipmi 127.0.10.11:623)"


def test_redfish_only_bmc_defaults_to_https_443():
    found = endpoints({"n": {"protocol": "Redfish", "address": "10.0.0.5", "username": "u",
                             "password_env": "P", "scheme": "https", "verify": True}}, "n")
    assert list(found) == [BmcProtocol.REDFISH]
    assert found[BmcProtocol.REDFISH].port == 443 and found[BmcProtocol.REDFISH].verify is True


def test_password_is_read_from_the_environment_and_not_shown(monkeypatch):
    monkeypatch.setenv("EXTREME_LAB_BMC_PASSWORD", "s3cret")
    endpoint = endpoints(LAB, "ctl1")[BmcProtocol.IPMI]
    assert endpoint.password() == "s3cret"
    assert "s3cret" not in repr(endpoint)


@pytest.mark.parametrize(("section", "match"), [
    ({}, "No BMC for node 'ctl1'"),
    ({"ctl1": {"protocol": "snmp", "address": "a", "username": "u", "password_env": "P"}},
     "protocol must be"),
    ({"ctl1": {"address": "a", "username": "u"}}, "'password_env' is missing"),
])
def test_bad_sections_say_what_to_fix(section, match):
    with pytest.raises(TargetError, match=match):
        endpoints(section, "ctl1")

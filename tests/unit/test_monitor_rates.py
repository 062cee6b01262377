"""How often each probe samples: the probes section's rate, capped for the authenticated
reads and the writes (read_rate, write_rate), an item's own rate above both."""

import pytest

from ExtremeTesting.errors import TargetError
from ExtremeTesting.monitor.config import build_probes, settings
from ExtremeTesting.monitor.probes import TokenHolder

ENDPOINTS = {"identity": "http://127.0.0.1:5000", "network": "http://127.0.0.1:9696"}


def rates(section: dict) -> dict[str, float]:
    tokens = TokenHolder("http://127.0.0.1:5000/v3", {}, timeout=1.0)
    found = settings(section, ENDPOINTS)
    return {p.name: p.rate for p in build_probes(found, ENDPOINTS, tokens, "xt-test-")}


def test_reads_and_writes_sample_a_few_times_a_second_by_default():
    found = rates({"rate": 10, "reads": ["networks"], "writes": ["network"]})
    assert found == {"version-identity": 10, "version-network": 10, "token": 10,
                     "read-networks": 2, "write-network": 1}


def test_the_target_lowers_what_reads_writes_and_the_token_probe_cost():
    found = rates({"rate": 10, "read_rate": 1, "write_rate": 0.5, "token": {"rate": 5},
                   "reads": ["networks"], "writes": ["network"]})
    assert found == {"version-identity": 10, "version-network": 10, "token": 5,
                     "read-networks": 1, "write-network": 0.5}


def test_the_caps_never_raise_a_probe_above_the_rate_nor_override_an_items_own():
    found = rates({"rate": 0.2, "read_rate": 5, "write_rate": 5, "token": False,
                   "reads": ["networks", {"kind": "networks", "name": "fast", "rate": 4}],
                   "writes": ["network"]})
    assert found == {"version-identity": 0.2, "version-network": 0.2, "read-networks": 0.2,
                     "fast": 4, "write-network": 0.2}


@pytest.mark.parametrize("value", [0, -1, "often", None])
def test_a_rate_cap_that_is_not_a_positive_number_is_refused_naming_the_key(value):
    with pytest.raises(TargetError, match=r"probes\.write_rate must be a positive number.*"
                                          r"'write_rate: 1'"):
        settings({"write_rate": value}, ENDPOINTS)

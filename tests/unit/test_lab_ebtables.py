"""The lab's ebtables wrapper: a failed delete of an among-src rule is retried by number."""

import subprocess

from ExtremeTesting.lab import ebtables_delete as wrapper

NFT = """Bridge table: nat

Bridge chain: neutronMAC-tapdaff0bcb-09, entries: 2, policy: RETURN
1 -i tapdaff0bcb-09 --among-src fa:16:3e:75:e9:f6 -j RETURN
2 -j DROP
"""
RULE = ["-i", "tapdaff0bcb-09", "--among-src", "fa:16:3e:75:e9:f6", "-j", "RETURN"]
ARGV = ["-t", "nat", "--concurrent", "-D", "neutronMAC-tapdaff0bcb-09", *RULE]


def fake_run(listing: str, rc: int = 0):
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        out = listing if "-L" in argv else ""
        return subprocess.CompletedProcess(argv, 0 if "-L" in argv else rc, out, "")
    return run, calls


def test_the_rule_number_is_found_in_nft_and_legacy_listings():
    assert wrapper.rule_number(NFT, RULE) == "1"
    assert wrapper.rule_number(NFT.replace("\n1 ", "\n1. "), RULE) == "1"
    assert wrapper.rule_number(NFT, ["-j", "DROP"]) == "2"
    assert wrapper.rule_number(NFT, RULE[:-1] + ["ACCEPT"]) is None


def test_a_failed_among_delete_is_retried_by_number_in_the_same_table():
    run, calls = fake_run(NFT)
    assert wrapper.retry_by_number(ARGV, run=run) == 0
    assert calls[0] == [wrapper.REAL, "-t", "nat", "-L", "neutronMAC-tapdaff0bcb-09", "--Ln"]
    assert calls[1] == [wrapper.REAL, "-t", "nat", "--concurrent", "-D",
                        "neutronMAC-tapdaff0bcb-09", "1"]


def test_other_commands_and_unlisted_rules_keep_their_failure():
    run, calls = fake_run(NFT)
    assert wrapper.retry_by_number(["-t", "nat", "-D", "PREROUTING", "-i", "tapx", "-j",
                                    "neutronMAC-tapx"], run=run) is None
    assert wrapper.retry_by_number(["-t", "nat", "-N", "chain"], run=run) is None
    assert calls == []
    run, calls = fake_run(NFT.replace("fa:16:3e:75:e9:f6", "fa:16:3e:00:00:01"))
    assert wrapper.retry_by_number(ARGV, run=run) is None
    assert len(calls) == 1  # listed, nothing deleted

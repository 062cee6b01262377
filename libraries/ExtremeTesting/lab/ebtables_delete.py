#!/usr/bin/python3
"""``ebtables`` for the lab's Linux bridge agents: deletes a rule by its number when
Debian 12's ebtables-nft cannot delete it by its text.

Measured on the lab (2026-12-06): ebtables 1.8.9 (nf_tables) answers ``RULE_DELETE failed
(Invalid argument)`` (exit 4) to ``ebtables -t nat -D neutronMAC-tap... -i tap...
--among-src <mac> -j RETURN``, a rule it lists itself. Neutron's ARP protection deletes a
port's MAC rule that way whenever a Linux bridge agent starts with ports already wired
(a restart, a configuration change), and retries the failing command without end
(tenacity on exit 4), so that agent never wires another port: every server booted on the
node after an agent restart stays with its port DOWN. The kernel has no legacy ebtables
nat table, so the lab cannot fall back to ebtables-legacy.

This wrapper, installed as /usr/local/sbin/ebtables in the nodes that run the agent (first
on the agents' PATH), runs the real command; only when a ``-D CHAIN RULE...`` with an
``--among-src``/``--among-dst`` match fails does it find that rule's number in the chain
(``-L CHAIN --Ln``) and delete it by number. Any other failure, or a rule not listed, is
returned as it was. Standard library only (it runs inside the node).
"""

import re
import subprocess
import sys

REAL = "/usr/sbin/ebtables"  # the node's alternative: ebtables-nft
NUMBERED = re.compile(r"^\s*(\d+)\.?\s+(.*?)\s*$")


def rule_number(listing: str, rule: list[str]) -> str | None:
    """The number of ``rule`` in a ``-L CHAIN --Ln`` listing (nft: ``1 -i ...``, legacy:
    ``1. -i ...``), or None."""
    wanted = " ".join(rule)
    for line in listing.splitlines():
        match = NUMBERED.match(line)
        if match and " ".join(match[2].split()) == wanted:
            return match[1]
    return None


def retry_by_number(argv: list[str], run=subprocess.run) -> int | None:
    """Deletes by number the rule a failed ``-D`` named; None when it does not apply."""
    if "-D" not in argv:
        return None
    at = argv.index("-D")
    chain, rule = argv[at + 1:at + 2], argv[at + 2:]
    if not chain or not ({"--among-src", "--among-dst"} & set(rule)):
        return None
    table = argv[argv.index("-t") + 1] if "-t" in argv[:at] else "filter"
    listing = run([REAL, "-t", table, "-L", chain[0], "--Ln"], capture_output=True,
                  text=True, timeout=30)
    number = rule_number(listing.stdout, rule) if listing.returncode == 0 else None
    if number is None:
        return None
    extra = ["--concurrent"] if "--concurrent" in argv else []
    return run([REAL, "-t", table, *extra, "-D", chain[0], number], timeout=30).returncode


def main(argv: list[str]) -> int:
    done = subprocess.run([REAL, *argv], timeout=60)
    if done.returncode == 0:
        return 0
    retried = retry_by_number(argv)
    return done.returncode if retried is None else retried


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

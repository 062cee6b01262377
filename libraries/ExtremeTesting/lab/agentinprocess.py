#!/usr/bin/python3
"""A Neutron agent whose privileged calls run in its own process, without privsep daemons.

Installed in a lab node as /usr/local/sbin/neutron-agent-inprocess and used only when
``extreme lab up`` runs with ``EXTREME_LAB_PRIVSEP=in-process``::

    neutron-agent-inprocess /usr/bin/neutron-l3-agent --config-file ...

By default the lab runs the agents as upstream does: each privileged context of neutron in
its own privsep daemon (a Python process of 60-100 MB, up to four per agent). The agents
are root in their node, so the calls need no other process for their privileges; neutron's
own keepalived-state-change monitor makes them in-process the same way
(``privileged.default.set_client_mode(False)``). Does not work with Debian 12's pyroute2
0.7.2 (tried on the lab, 2026-12-07): in the eventlet-patched agent its socket wrapper
(pyroute2/config/asyncio.py) binds every socket's methods on the wrapper class, so each
wrapper talks to the last socket made, and the Linux bridge agent's first ``ip link add``
fails with EBADF before the agent logs anything.
Debian's python3 and neutron only (it runs inside the node).
"""

import runpy
import sys

import neutron.cmd.eventlet  # noqa: F401  eventlet's patching first, as the agent's own entry
from neutron import privileged

CONTEXTS = ("default", "dhcp_release_cmd", "ovs_vsctl_cmd", "namespace_cmd",
            "conntrack_cmd", "link_cmd")


def main(argv):
    if not argv or not argv[0].startswith("/usr/bin/neutron-"):
        print("usage: neutron-agent-inprocess /usr/bin/neutron-<agent> [options]",
              file=sys.stderr)
        return 2
    for name in CONTEXTS:
        getattr(privileged, name).set_client_mode(False)
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

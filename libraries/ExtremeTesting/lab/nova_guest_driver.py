"""SKETCH, NOT YET WIRED INTO THE LAB: the lab's Nova virt driver that gives each instance a
guest (ExtremeTesting.lab.guests) on its compute node.

Nothing imports this module and ``extreme lab up`` does not install it. To wire it (issue
23, part 2), the lab would copy this file and ``guests.py`` into cmp1's overlay (never into
this machine's Python), set ``compute_driver = nova_guest_driver.GuestDriver`` in cmp1's
nova.conf, give the Neutron ports a Linux bridge to land on (ML2 ``linuxbridge``: the
agent wires ``tap<port id[:11]>`` into ``brq<network id[:11]>``) and call
``guests.remove_all`` from ``lab down``.

What it does on top of Nova's fake driver (which keeps the bookkeeping: states, resources,
the instance list):

- spawn / power_on: for each VIF, a guest named after the instance, its tap named as Nova
  names it, its MAC the port's, plugged into the network's bridge (made when the agent
  has not made it yet, as os-vif's Linux bridge plugin does); DHCP from Neutron's agent.
- power_off: the guest's interface down (nothing answers; its lease and processes stay).
- destroy: the guest removed completely.
- Not handled yet: more than one VIF per instance, migration (the namespace would be made
  on the destination and removed on the source), reboot (off then on).
"""

from __future__ import annotations

try:
    from . import guests
except ImportError:  # pragma: no cover - copied next to guests.py in cmp1's overlay
    import guests  # type: ignore[no-redef]

try:  # only inside cmp1's Nova
    from nova.virt import fake as _fake
except ImportError:  # pragma: no cover - on this machine, and in the tests
    _fake = None


def guest_name(instance_uuid: str) -> str:
    return "guest-" + instance_uuid.replace("-", "")[:16]


def tap_name(port_id: str) -> str:
    return "tap" + port_id[:11]


def bridge_name(network_id: str) -> str:
    return "brq" + network_id[:11]


def ensure_bridge(bridge: str) -> None:
    if guests.ip("", "link", "show", bridge, check=False) == "":
        guests.ip("", "link", "add", bridge, "type", "bridge", "forward_delay", "0")
    guests.ip("", "link", "set", bridge, "up")


def start_guest(instance_uuid: str, network_info) -> None:
    if not network_info:
        return
    vif = network_info[0]
    name = guest_name(instance_uuid)
    if name in guests.guests():
        guests.power(name, True)
        return
    bridge = bridge_name(vif["network"]["id"])
    ensure_bridge(bridge)
    guests.create(name, bridge, tap=tap_name(vif["id"]), mac=vif["address"])


if _fake is not None:  # pragma: no cover - exercised only inside cmp1's Nova

    class GuestDriver(_fake.FakeDriver):
        """Nova's fake driver, each instance also a guest namespace (see the module)."""

        def spawn(self, context, instance, image_meta, injected_files, admin_password,
                  allocations, network_info=None, block_device_info=None, power_on=True,
                  accel_info=None):
            super().spawn(context, instance, image_meta, injected_files, admin_password,
                          allocations, network_info, block_device_info, power_on, accel_info)
            if power_on:
                start_guest(instance.uuid, network_info)

        def power_on(self, context, instance, network_info, block_device_info=None,
                     accel_info=None):
            super().power_on(context, instance, network_info, block_device_info, accel_info)
            start_guest(instance.uuid, network_info)

        def power_off(self, instance, timeout=0, retry_interval=0):
            super().power_off(instance, timeout, retry_interval)
            name = guest_name(instance.uuid)
            if name in guests.guests():
                guests.power(name, False)

        def destroy(self, context, instance, network_info, block_device_info=None,
                    destroy_disks=True, destroy_secrets=True):
            guests.remove(guest_name(instance.uuid))
            super().destroy(context, instance, network_info, block_device_info,
                            destroy_disks, destroy_secrets)

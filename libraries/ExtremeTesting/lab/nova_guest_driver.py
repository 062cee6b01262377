"""The lab's Nova virt driver: Nova's fake driver, and each instance a guest
(ExtremeTesting.lab.guests) on its compute node.

Installed by ``extreme lab up`` into cmp1's /usr overlay only (/usr/local/lib/extreme-lab,
beside ``guests.py``; nova-compute's PYTHONPATH there), never into this machine's Python;
cmp1's nova.conf sets ``compute_driver = extreme_lab_guests.GuestDriver``, a one-line
module in cmp1's copy of ``nova.virt`` (Zed's Nova loads drivers from there only) that
imports this one. nova-compute
runs as root in cmp1: a guest is a network namespace and a veth pair, which need
CAP_SYS_ADMIN and CAP_NET_ADMIN (Nova's own privsep has no context for them).

Nova's fake driver keeps the bookkeeping (states, resources, the instance list); on top:

- spawn / power_on: for the first VIF, a guest named after the instance, its tap named as
  Nova names it (the VIF's ``devname``, ``tap`` + the port id's start), its MAC the port's,
  plugged into the network's Linux bridge (``brq`` + the network id's start, made when the
  agent has not made it yet, as os-vif's Linux bridge plugin does). The Linux bridge agent
  sees the tap and wires it (VXLAN, security groups); the guest's DHCP client asks
  Neutron's DHCP agents until it gets its address. spawn does not wait for that lease
  (as a hypervisor does not wait for the guest's DHCP): the server is ACTIVE once its guest
  is plugged and its processes run. Nothing waits for network-vif-plugged events.
- power_off: the guest's interface down (nothing answers; its lease and processes stay).
- reboot (soft or hard): off, then on (a guest whose processes or namespace are gone is
  made again).
- destroy: the guest removed completely.
- After nova-compute starts (a restart, or cmp1 booting again): an instance Nova expects
  running whose guest is still there is adopted as it is (no interruption); one whose
  guest is gone (cmp1 was powered off) is made again by resume_state_on_host_boot
  (``resume_guests_state_on_host_boot = True`` in cmp1's nova.conf).
- Migration (needs a second compute node, which the lab adds only on demand): the guest is
  removed from the source when the instance leaves it (migrate_disk_and_power_off,
  post_live_migration) and made on the destination (finish_migration,
  post_live_migration_at_destination, finish_revert_migration). Untried on the lab: the
  destination needs this driver and a Linux bridge agent too.
- One VIF per instance: further VIFs are not plugged (logged).
"""

from __future__ import annotations

import logging

try:
    from . import guests
except ImportError:  # pragma: no cover - copied next to guests.py in cmp1's overlay
    import guests  # type: ignore[no-redef]

try:  # only inside cmp1's Nova
    from nova import exception as _exception
    from nova.compute import power_state as _power_state
    from nova.virt import fake as _fake
except ImportError:  # pragma: no cover - on this machine, and in the tests
    _fake = None

LOG = logging.getLogger(__name__)
NIC_NAME_LEN = 14  # Nova's limit for tap and bridge names (nova.network.model)


def guest_name(instance_uuid: str) -> str:
    return "guest-" + instance_uuid.replace("-", "")[:16]


def tap_name(vif) -> str:
    """The tap as Nova names it: the VIF's devname, else ``tap`` + the port id's start."""
    return (vif.get("devname") or "tap" + vif["id"])[:NIC_NAME_LEN]


def bridge_name(vif) -> str:
    """The Linux bridge agent's bridge of the VIF's network (``brq`` + its id's start),
    as Nova's network info gives it."""
    network = vif["network"]
    return (network.get("bridge") or "brq" + network["id"])[:NIC_NAME_LEN]


class Plumbing:
    """What the driver does to guests, over a guests module (the real one, or a fake in
    the tests)."""

    def __init__(self, backend=guests):
        self.guests = backend

    def ensure_bridge(self, bridge: str) -> None:
        g = self.guests
        if g.ip("", "link", "show", bridge, check=False) == "":
            # The agent may make it at the same moment: then it exists, and that is fine.
            g.ip("", "link", "add", bridge, "type", "bridge", "forward_delay", "0",
                 check=False)
            if g.ip("", "link", "show", bridge, check=False) == "":
                raise g.GuestError(f"Could not make the bridge {bridge} for a guest.")
        g.ip("", "link", "set", bridge, "up")

    def start(self, instance_uuid: str, network_info) -> str | None:
        """The instance's guest running and plugged; its name (None without a VIF)."""
        vifs = list(network_info or [])
        if not vifs:
            return None
        if len(vifs) > 1:
            LOG.warning("Guest of %s: only its first VIF (%s) is plugged, %d others not",
                        instance_uuid, vifs[0]["id"], len(vifs) - 1)
        vif = vifs[0]
        name = guest_name(instance_uuid)
        if name in self.guests.guests():
            if self.guests.healthy(name):
                self.guests.power(name, True)
                return name
            LOG.warning("Guest %s of %s is broken (a process or its namespace is gone): "
                        "making it again", name, instance_uuid)
            self.guests.remove(name)
        bridge, tap = bridge_name(vif), tap_name(vif)
        self.ensure_bridge(bridge)
        if self.guests.ip("", "link", "show", tap, check=False) != "":
            # Left by a guest whose namespace outlived its node's power cycle (something
            # held it open): the new guest's tap needs the name.
            self.guests.ip("", "link", "del", tap, check=False)
        self.guests.create(name, bridge, tap=tap, mac=vif["address"], wait_lease=False,
                           instance=instance_uuid)
        return name

    def stop(self, instance_uuid: str) -> None:
        name = guest_name(instance_uuid)
        if name in self.guests.guests():
            self.guests.power(name, False)

    def remove(self, instance_uuid: str) -> None:
        self.guests.remove(guest_name(instance_uuid))

    def running(self, instance_uuid: str) -> bool | None:
        """True: the guest is there and powered on; False: there, powered off; None: no
        guest (never made, or gone with a power cycle of the node)."""
        name = guest_name(instance_uuid)
        if name not in self.guests.guests() or not self.guests.healthy(name):
            return None
        return self.guests.load(name).powered


if _fake is not None:  # pragma: no cover - exercised only inside cmp1's Nova

    class GuestDriver(_fake.FakeDriver):
        """Nova's fake driver, each instance also a guest namespace (see the module)."""

        plumbing = Plumbing()

        def _track(self, instance, state) -> None:
            """The fake driver's record of an instance it lost with a restart."""
            if instance.uuid not in self.instances:
                self.instances[instance.uuid] = _fake.FakeInstance(
                    instance.name, state, instance.uuid)

        def spawn(self, context, instance, image_meta, injected_files, admin_password,
                  allocations, network_info=None, block_device_info=None, power_on=True,
                  accel_info=None):
            super().spawn(context, instance, image_meta, injected_files, admin_password,
                          allocations, network_info, block_device_info, power_on, accel_info)
            if power_on:
                self.plumbing.start(instance.uuid, network_info)

        def power_on(self, context, instance, network_info, block_device_info=None,
                     accel_info=None):
            self._track(instance, _power_state.SHUTDOWN)
            super().power_on(context, instance, network_info, block_device_info, accel_info)
            self.plumbing.start(instance.uuid, network_info)

        def power_off(self, instance, timeout=0, retry_interval=0):
            self._track(instance, _power_state.RUNNING)
            super().power_off(instance, timeout, retry_interval)
            self.plumbing.stop(instance.uuid)

        def reboot(self, context, instance, network_info, reboot_type,
                   block_device_info=None, bad_volumes_callback=None, accel_info=None):
            self._track(instance, _power_state.RUNNING)
            self.plumbing.stop(instance.uuid)
            self.instances[instance.uuid].state = _power_state.SHUTDOWN
            self.plumbing.start(instance.uuid, network_info)
            self.instances[instance.uuid].state = _power_state.RUNNING

        def resume_state_on_host_boot(self, context, instance, network_info,
                                      block_device_info=None):
            self._track(instance, _power_state.RUNNING)
            self.instances[instance.uuid].state = _power_state.RUNNING
            self.plumbing.start(instance.uuid, network_info)

        def get_info(self, instance, use_cache=True):
            # After a restart of nova-compute the fake driver knows nothing: the guests
            # still there are the hypervisor's truth.
            if instance.uuid not in self.instances:
                running = self.plumbing.running(instance.uuid)
                if running is None:
                    raise _exception.InstanceNotFound(instance_id=instance.uuid)
                self._track(instance, _power_state.RUNNING if running
                            else _power_state.SHUTDOWN)
            return super().get_info(instance, use_cache)

        def destroy(self, context, instance, network_info, block_device_info=None,
                    destroy_disks=True, destroy_secrets=True):
            self.plumbing.remove(instance.uuid)
            super().destroy(context, instance, network_info, block_device_info,
                            destroy_disks, destroy_secrets)

        # ---- migration: the guest leaves the source, is made on the destination
        def migrate_disk_and_power_off(self, context, instance, dest, flavor, network_info,
                                       block_device_info=None, timeout=0, retry_interval=0):
            self.plumbing.remove(instance.uuid)
            return super().migrate_disk_and_power_off(
                context, instance, dest, flavor, network_info, block_device_info, timeout,
                retry_interval)

        def finish_migration(self, context, migration, instance, disk_info, network_info,
                             image_meta, resize_instance, allocations,
                             block_device_info=None, power_on=True):
            super().finish_migration(context, migration, instance, disk_info, network_info,
                                     image_meta, resize_instance, allocations,
                                     block_device_info, power_on)
            if power_on:
                self.plumbing.start(instance.uuid, network_info)

        def finish_revert_migration(self, context, instance, network_info, migration,
                                    block_device_info=None, power_on=True):
            super().finish_revert_migration(context, instance, network_info, migration,
                                            block_device_info, power_on)
            if power_on:
                self.plumbing.start(instance.uuid, network_info)

        def post_live_migration(self, context, instance, block_device_info,
                                migrate_data=None):
            self.plumbing.remove(instance.uuid)  # on the source
            return super().post_live_migration(context, instance, block_device_info,
                                               migrate_data)

        def post_live_migration_at_destination(self, context, instance, network_info,
                                               block_migration=False, block_device_info=None):
            super().post_live_migration_at_destination(
                context, instance, network_info, block_migration, block_device_info)
            self.plumbing.start(instance.uuid, network_info)

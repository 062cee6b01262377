"""What to type on each kind of switch, by netmiko device type.

The lab's switch (``linux``) answers the small ``switch`` CLI (lab/switchcli.py). Vendor
switches get their own commands; a restart there is a reload whose confirmation dialog
is answered from :attr:`DeviceCommands.reload_answers`, and the device decides how long
it stays down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SwitchError


@dataclass(frozen=True)
class DeviceCommands:
    restart: str  # may contain {seconds}
    port_down: tuple[str, ...]  # config-mode lines (or one exec command when not config)
    port_up: tuple[str, ...]
    show_ports: str
    status: str = ""  # a JSON status (lab switch only)
    config_mode: bool = True  # port commands go through send_config_set
    commit: bool = False  # Junos: commit after config changes
    restart_takes_seconds: bool = False  # only the lab switch can be told how long to stay down
    # (prompt fragment, answer) pairs for the reload dialog, tried in order.
    reload_answers: tuple[tuple[str, str], ...] = field(default=())

    def restart_command(self, seconds: int) -> str:
        return self.restart.format(seconds=seconds)

    def port_lines(self, port: str, up: bool) -> list[str]:
        return [line.format(port=port) for line in (self.port_up if up else self.port_down)]


_CISCO_DIALOG = (("Save?", "no"), ("[yes/no]", "no"), ("[confirm]", "\n"))

COMMANDS: dict[str, DeviceCommands] = {
    "linux": DeviceCommands(
        restart="switch restart --down-seconds {seconds}",
        port_down=("switch port {port} down",), port_up=("switch port {port} up",),
        show_ports="switch show ports --json", status="switch status --json",
        config_mode=False,
        restart_takes_seconds=True),
    "cisco_ios": DeviceCommands(
        restart="reload", port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"), show_ports="show interfaces status",
        reload_answers=_CISCO_DIALOG),
    "cisco_xe": DeviceCommands(
        restart="reload", port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"), show_ports="show interfaces status",
        reload_answers=_CISCO_DIALOG),
    "cisco_nxos": DeviceCommands(
        restart="reload", port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"), show_ports="show interface brief",
        reload_answers=(("(y/n)", "y"),)),
    "arista_eos": DeviceCommands(
        restart="reload now", port_down=("interface {port}", "shutdown"),
        port_up=("interface {port}", "no shutdown"), show_ports="show interfaces status",
        reload_answers=(("Save?", "no"), ("[confirm]", "\n"))),
    "juniper_junos": DeviceCommands(
        restart="request system reboot", port_down=("set interfaces {port} disable",),
        port_up=("delete interfaces {port} disable",), show_ports="show interfaces terse",
        commit=True, reload_answers=(("[yes,no]", "yes"),)),
}
COMMANDS["juniper"] = COMMANDS["juniper_junos"]


def commands_for(device_type: str) -> DeviceCommands:
    try:
        return COMMANDS[device_type]
    except KeyError:
        raise SwitchError(f"Switch device type '{device_type}' is not supported: expected one "
                          f"of {', '.join(sorted(COMMANDS))}. Fix 'device_type' in the "
                          f"target's switches section.") from None

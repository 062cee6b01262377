"""One switch over SSH with netmiko: where it is (target file), and the commands it runs.

Each operation opens a session, does one thing and disconnects: a switch that restarts
or drops idle sessions never leaves a stale connection behind.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import TargetError
from ..target import Target, secret_from_env
from .commands import DeviceCommands, commands_for
from .errors import SwitchAuthenticationError, SwitchError, SwitchUnreachableError

LOG = logging.getLogger(__name__)
_ERROR_MARKS = ("switch:", "% Invalid", "% Incomplete", "% Ambiguous", "error:", "syntax error")


@dataclass(frozen=True)
class SwitchSpec:
    name: str
    device_type: str
    address: str
    port: int
    username: str
    password_env: str
    key_file: str | None = None

    @property
    def label(self) -> str:
        return f"switch {self.name} ({self.device_type} {self.address}:{self.port})"

    def password(self) -> str:
        return secret_from_env(self.password_env, self.label)


def spec_from_target(target: Target, name: str) -> SwitchSpec:
    switches = target.section("switches")
    if name not in switches:
        raise TargetError(f"Unknown switch '{name}' in {target.path}. Known switches: "
                          f"{', '.join(sorted(switches)) or 'none'}.")
    spec = switches[name] or {}
    missing = [k for k in ("device_type", "address", "username", "password_env") if not spec.get(k)]
    if missing:
        raise TargetError(f"switches.{name} in {target.path} lacks {', '.join(missing)}.")
    commands_for(str(spec["device_type"]))  # fail early on an unknown type
    return SwitchSpec(name=name, device_type=str(spec["device_type"]),
                      address=str(spec["address"]), port=int(spec.get("port", 22)),
                      username=str(spec["username"]), password_env=str(spec["password_env"]),
                      key_file=spec.get("key_file"))


def _netmiko_connect(**kwargs: Any):
    from netmiko import ConnectHandler

    return ConnectHandler(**kwargs)


class SwitchSession:
    """Commands on one switch; ``connect`` is netmiko's ConnectHandler (tests fake it)."""

    def __init__(self, spec: SwitchSpec, connect: Callable[..., Any] = _netmiko_connect,
                 timeout: float = 15.0):
        self.spec = spec
        self.commands: DeviceCommands = commands_for(spec.device_type)
        self.connect = connect
        self.timeout = timeout

    def _open(self):
        from netmiko import NetmikoAuthenticationException, NetmikoTimeoutException

        spec = self.spec
        options: dict[str, Any] = {
            "device_type": spec.device_type, "host": spec.address, "port": spec.port,
            "username": spec.username, "password": spec.password(),
            "conn_timeout": self.timeout, "auth_timeout": self.timeout,
            "banner_timeout": self.timeout, "read_timeout_override": self.timeout * 2}
        if spec.key_file:
            options.update(use_keys=True, key_file=spec.key_file)
        try:
            return self.connect(**options)
        except NetmikoAuthenticationException:
            raise SwitchAuthenticationError(
                f"The {spec.label} rejected user '{spec.username}'. Check the password in "
                f"${spec.password_env} and the username in the target file.") from None
        except (NetmikoTimeoutException, OSError) as error:
            raise SwitchUnreachableError(
                f"The {spec.label} did not answer SSH within {self.timeout:g} s ({error}). "
                f"Check its management address and that it is up.") from None

    def _run(self, what: str, work: Callable[[Any], str]) -> str:
        conn = self._open()
        try:
            output = work(conn)
        except SwitchError:
            raise
        except Exception as error:  # noqa: BLE001 - netmiko raises many types
            raise SwitchError(f"The {self.spec.label} failed '{what}': {error}") from None
        finally:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - a switch going down may close first
                LOG.debug("disconnect from %s failed", self.spec.label, exc_info=True)
        self._check(what, output)
        return output

    def _check(self, what: str, output: str) -> None:
        for line in (output or "").splitlines():
            if line.strip().startswith(_ERROR_MARKS):
                raise SwitchError(f"The {self.spec.label} refused '{what}': {line.strip()}")

    # --- operations -------------------------------------------------------------------
    def restart(self, seconds: int) -> str:
        """Restart the switch; returns what it printed (the lab's: when it is back)."""
        command = self.commands.restart_command(seconds)
        if self.commands.restart_takes_seconds:
            return self._run(command, lambda conn: conn.send_command(command))
        return self._run(command, lambda conn: self._reload(conn, command))

    def _reload(self, conn, command: str) -> str:
        output = conn.send_command_timing(command)
        transcript = [output]
        for _ in range(4):  # answer the reload dialog, at most a few prompts
            answer = next((a for prompt, a in self.commands.reload_answers if prompt in output),
                          None)
            if answer is None:
                break
            try:
                output = conn.send_command_timing(answer, read_timeout=self.timeout)
            except Exception:  # noqa: BLE001 - the device drops the session as it reloads
                output = ""
            transcript.append(output)
        return "\n".join(transcript)

    def set_port(self, port: str, up: bool) -> str:
        lines = self.commands.port_lines(port, up)
        what = f"port {port} {'up' if up else 'down'}"

        def work(conn) -> str:
            if not self.commands.config_mode:
                return "\n".join(conn.send_command(line) for line in lines)
            output = conn.send_config_set(lines)
            if self.commands.commit:
                output += "\n" + conn.commit()
            return output

        return self._run(what, work)

    def ports(self) -> list[dict[str, str]]:
        """Ports as ``{name, admin, oper, peer}`` (lab) or as the device's table rows."""
        output = self._run("show ports", lambda conn: conn.send_command(
            self.commands.show_ports))
        if self.commands.show_ports.endswith("--json"):
            try:
                return json.loads(output)
            except ValueError:
                raise SwitchError(f"The {self.spec.label} answered 'show ports' with "
                                  f"{output[:200]!r}; expected JSON from the lab switch "
                                  f"CLI.") from None
        return [{"line": line} for line in output.splitlines() if line.strip()]

    def status(self) -> dict[str, Any]:
        """The lab switch's status; for other switches only that it answers."""
        if not self.commands.status:
            self.ports()
            return {"reachable": True, "restarting": False}
        output = self._run("switch status", lambda conn: conn.send_command(
            self.commands.status))
        try:
            return {"reachable": True, **json.loads(output)}
        except ValueError:
            raise SwitchError(f"The {self.spec.label} answered 'switch status' with "
                              f"{output[:200]!r}; expected JSON.") from None

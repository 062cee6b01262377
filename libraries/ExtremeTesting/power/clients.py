"""Power requests to one BMC, over IPMI (pyghmi) or Redfish (sushy).

Each request logs in, does one thing and logs out, within a bounded time: a BMC that
does not answer raises :class:`BmcUnreachableError`, wrong credentials raise
:class:`BmcAuthenticationError` before anything is changed.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from .config import BmcEndpoint, BmcProtocol
from .errors import BmcAuthenticationError, BmcUnreachableError, PowerError

LOG = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0


class PowerState(enum.Enum):
    """A node's power as its BMC reports it: ``on`` or ``off``."""

    ON = "on"
    OFF = "off"


class BootDevice(enum.Enum):
    """Where the node boots next: ``default``, ``disk``, ``pxe``, ``cdrom`` or ``bios``."""

    DEFAULT = "default"
    DISK = "disk"
    PXE = "pxe"
    CDROM = "cdrom"
    BIOS = "bios"


class BmcClient(Protocol):
    endpoint: BmcEndpoint

    def power_state(self) -> PowerState: ...

    def power_off(self) -> None: ...

    def power_on(self) -> None: ...

    def reset(self) -> None: ...

    def cycle(self) -> None: ...

    def soft_off(self) -> None: ...

    def set_boot_device(self, device: BootDevice, persistent: bool) -> None: ...

    def boot_device(self) -> BootDevice: ...


def bounded(call: Callable[[], T], seconds: float, endpoint: BmcEndpoint, what: str) -> T:
    """Run ``call`` in a daemon thread; give up after ``seconds``.

    The libraries' own timeouts normally fire first; this is the guarantee that a keyword
    never hangs on a BMC. The abandoned thread ends when the library's own timeout does.
    """
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except Exception as error:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = error

    worker = threading.Thread(target=run, name=f"bmc-{endpoint.node}", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise BmcUnreachableError(
            f"{endpoint.name} did not answer '{what}' within {seconds:g} s. Expected an "
            f"answer; check that the BMC is up and reachable from here, and its address "
            f"and port in the target file.")
    if "error" in box:
        raise box["error"]
    LOG.debug("%s: %s took %.3f s", endpoint.name, what, time.monotonic() - started)
    return box["value"]


# --- IPMI -------------------------------------------------------------------------------

_IPMI_BOOT = {BootDevice.DEFAULT: "default", BootDevice.DISK: "hd", BootDevice.PXE: "network",
              BootDevice.CDROM: "optical", BootDevice.BIOS: "setup"}
_IPMI_BOOT_BACK = {"default": BootDevice.DEFAULT, "hd": BootDevice.DISK,
                   "network": BootDevice.PXE, "optical": BootDevice.CDROM,
                   "setup": BootDevice.BIOS}
_CHASSIS_CONTROL, _POWER_CYCLE = 0x02, 0x02


class IpmiClient:
    """IPMI 2.0 (RMCP+) with pyghmi's client.

    Credentials go to pyghmi as bytes: with str, a second Command() to the same BMC in
    the same process hangs (shared/FINDINGS.md).
    """

    def __init__(self, endpoint: BmcEndpoint, timeout: float = DEFAULT_TIMEOUT):
        self.endpoint = endpoint
        self.timeout = timeout

    def _run(self, what: str, action: Callable) -> object:
        return bounded(lambda: self._session(what, action), self.timeout, self.endpoint, what)

    def _session(self, what: str, action: Callable) -> object:
        from pyghmi import exceptions
        from pyghmi.ipmi import command

        endpoint = self.endpoint
        try:
            cmd = command.Command(bmc=endpoint.address, port=endpoint.port,
                                  userid=endpoint.username.encode(),
                                  password=endpoint.password().encode(), keepalive=False)
        except exceptions.IpmiException as error:
            raise self._login_error(error) from None
        try:
            result = action(cmd)
        except exceptions.IpmiException as error:
            raise PowerError(f"{endpoint.name} refused '{what}': {error}. Expected it to "
                             f"accept; check the BMC's state and the user's privilege.") from None
        finally:
            try:
                cmd.ipmi_session.logout()
            except Exception:  # logging out is a courtesy
                LOG.debug("%s: logout failed", endpoint.name, exc_info=True)
        if isinstance(result, dict) and "error" in result:
            raise PowerError(f"{endpoint.name} refused '{what}': {result['error']}.")
        return result

    def _login_error(self, error: Exception) -> PowerError:
        text = str(error.args[0]) if error.args and error.args[0] else ""
        endpoint = self.endpoint
        if "password" in text.lower() or "unauthorized" in text.lower():
            return BmcAuthenticationError(
                f"{endpoint.name} rejected the login of user '{endpoint.username}' ({text}); "
                f"nothing was changed. Check the password in ${endpoint.password_env} and the "
                f"username in the target file.")
        return BmcUnreachableError(
            f"{endpoint.name} did not answer the IPMI login ({text or 'no answer'}). Expected "
            f"an answer within a few seconds; check that the BMC is up, reachable over UDP, "
            f"and the address, port and username in the target file (some BMCs stay silent "
            f"to unknown users).")

    def power_state(self) -> PowerState:
        result = self._run("power status", lambda cmd: cmd.get_power())
        return PowerState(result["powerstate"])

    def power_off(self) -> None:
        self._run("power off", lambda cmd: cmd.set_power("off", wait=False))

    def power_on(self) -> None:
        self._run("power on", lambda cmd: cmd.set_power("on", wait=False))

    def reset(self) -> None:
        self._run("power reset", lambda cmd: cmd.set_power("reset", wait=False))

    def cycle(self) -> None:
        self._run("power cycle", lambda cmd: cmd.raw_command(
            netfn=0x00, command=_CHASSIS_CONTROL, data=[_POWER_CYCLE]))

    def soft_off(self) -> None:
        self._run("power soft", lambda cmd: cmd.set_power("shutdown", wait=False))

    def set_boot_device(self, device: BootDevice, persistent: bool = False) -> None:
        self._run("set boot device", lambda cmd: cmd.set_bootdev(
            _IPMI_BOOT[device], persist=persistent))

    def boot_device(self) -> BootDevice:
        result = self._run("get boot device", lambda cmd: cmd.get_bootdev())
        return _IPMI_BOOT_BACK.get(str(result.get("bootdev")), BootDevice.DEFAULT)


# --- Redfish ----------------------------------------------------------------------------

class RedfishClient:
    """Redfish with sushy: basic auth, no retries, bounded connect and read timeouts.

    ``verify`` comes from the target file (false by default: lab and many BMCs use
    self-signed certificates).
    """

    def __init__(self, endpoint: BmcEndpoint, timeout: float = DEFAULT_TIMEOUT):
        self.endpoint = endpoint
        self.timeout = timeout
        # One sushy connection (and the system's path) reused while the password stays
        # the same: later calls skip the service root and system lookups.
        self._cached: tuple[str, object, str] | None = None
        self._lock = threading.Lock()

    def _run(self, what: str, action: Callable) -> object:
        return bounded(lambda: self._translate(what, action), self.timeout, self.endpoint, what)

    def _connection(self, password: str):
        import sushy
        from sushy import auth

        key = hashlib.sha256(password.encode()).hexdigest()
        with self._lock:
            if self._cached and self._cached[0] == key:
                return self._cached[1], self._cached[2]
        endpoint = self.endpoint
        conn = sushy.Sushy(
            f"{endpoint.url}/redfish/v1", auth=auth.BasicAuth(endpoint.username, password),
            verify=endpoint.verify, server_side_retries=1,
            read_timeout=self.timeout, connect_timeout=min(self.timeout, 5.0))
        path = self._system_path(conn)
        with self._lock:
            self._cached = (key, conn, path)
        return conn, path

    def _session(self, action: Callable) -> object:
        try:
            conn, path = self._connection(self.endpoint.password())
            return action(conn.get_system(path))
        except Exception:
            with self._lock:
                self._cached = None
            raise

    def _translate(self, what: str, action: Callable) -> object:
        from sushy import exceptions

        endpoint = self.endpoint
        try:
            return self._session(action)
        except exceptions.AccessError as error:
            if getattr(error, "status_code", None) in (401, 403):
                raise BmcAuthenticationError(
                    f"{endpoint.name} rejected the login of user '{endpoint.username}' "
                    f"(HTTP {error.status_code}); nothing was changed. Check the password in "
                    f"${endpoint.password_env} and the username in the target file.") from None
            raise PowerError(f"{endpoint.name} refused '{what}': {error}") from None
        except exceptions.ConnectionError as error:
            raise BmcUnreachableError(
                f"{endpoint.name} did not answer '{what}' over Redfish: {error}. Expected an "
                f"HTTP answer at {endpoint.url}; check the BMC, its address, port and "
                f"scheme in the target file.") from None
        except exceptions.SushyError as error:
            raise PowerError(f"{endpoint.name} refused '{what}': {error}") from None

    def _system_path(self, conn) -> str:
        members = list(conn.get_system_collection().members_identities)
        wanted = self.endpoint.system_id
        if wanted:
            for path in members:
                if path.rstrip("/").rsplit("/", 1)[-1] == wanted:
                    return path
            for path in members:  # by Name: one GET per system, only when the Id differs
                if conn.get_system(path).name == wanted:
                    return path
            raise PowerError(f"{self.endpoint.name} has no system '{wanted}'. Systems: "
                             f"{', '.join(members) or 'none'}. Fix redfish.system_id of "
                             f"{self.endpoint.node} in the target file.")
        if len(members) != 1:
            raise PowerError(f"{self.endpoint.name} has {len(members)} systems "
                             f"({', '.join(members)}); set redfish.system_id of "
                             f"{self.endpoint.node} in the target file.")
        return members[0]

    def _reset(self, what: str, reset_type_name: str) -> None:
        import sushy

        reset_type = getattr(sushy.ResetType, reset_type_name)
        self._run(what, lambda system: system.reset_system(reset_type))

    def power_state(self) -> PowerState:
        import sushy

        state = self._run("power status", lambda system: system.power_state)
        # PoweringOn counts as on, PoweringOff as off: the transition has been accepted.
        on = state in (sushy.PowerState.ON, sushy.PowerState.POWERING_ON)
        return PowerState.ON if on else PowerState.OFF

    def power_off(self) -> None:
        self._reset("power off", "FORCE_OFF")

    def power_on(self) -> None:
        self._reset("power on", "ON")

    def reset(self) -> None:
        self._reset("power reset", "FORCE_RESTART")

    def cycle(self) -> None:
        import sushy

        def cycle(system) -> None:
            allowed = system.get_allowed_reset_system_values()
            if sushy.ResetType.POWER_CYCLE in allowed:
                system.reset_system(sushy.ResetType.POWER_CYCLE)
            else:  # many BMCs lack PowerCycle: a forced restart is the same for the node
                system.reset_system(sushy.ResetType.FORCE_RESTART)

        self._run("power cycle", cycle)

    def soft_off(self) -> None:
        self._reset("power soft", "GRACEFUL_SHUTDOWN")

    def set_boot_device(self, device: BootDevice, persistent: bool = False) -> None:
        import sushy

        target = {BootDevice.DEFAULT: sushy.BootSource.NONE, BootDevice.DISK: sushy.BootSource.HDD,
                  BootDevice.PXE: sushy.BootSource.PXE, BootDevice.CDROM: sushy.BootSource.CD,
                  BootDevice.BIOS: sushy.BootSource.BIOS_SETUP}[device]
        enabled = (sushy.BootSourceOverrideEnabled.CONTINUOUS if persistent
                   else sushy.BootSourceOverrideEnabled.ONCE)
        self._run("set boot device",
                  lambda system: system.set_system_boot_source(target, enabled=enabled))

    def boot_device(self) -> BootDevice:
        import sushy

        back = {sushy.BootSource.HDD: BootDevice.DISK, sushy.BootSource.PXE: BootDevice.PXE,
                sushy.BootSource.CD: BootDevice.CDROM,
                sushy.BootSource.BIOS_SETUP: BootDevice.BIOS}
        target = self._run("get boot device", lambda system: system.boot.target)
        return back.get(target, BootDevice.DEFAULT)


def client(endpoint: BmcEndpoint, timeout: float = DEFAULT_TIMEOUT) -> BmcClient:
    if endpoint.protocol is BmcProtocol.IPMI:
        return IpmiClient(endpoint, timeout)
    return RedfishClient(endpoint, timeout)

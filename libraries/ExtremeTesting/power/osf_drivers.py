"""os-faults power-management drivers over this library's IPMI and Redfish clients.

os-faults 0.3.0's own ``ipmi`` driver has no port (always 623) and no Redfish driver
exists. These drivers add both, so ``node.poweroff()``, ``poweron()``, ``reset()`` and
``shutdown()`` through os-faults (and the Faults library's ledger) work with either
protocol. Importing this module registers them (:func:`register`, idempotent) into
``os_faults.registry``.

It is also the one place where the target's ``bmcs`` section becomes os-faults'
``power_managements``: a *power driver factory*, registered per protocol
(:func:`register_factory`), turns the BMCs of one protocol (:class:`BmcAccess`, password
read from ``password_env``, never in a repr) into entries. ``ipmi`` and ``redfish`` use the
drivers below; :func:`stock_ipmi` is os-faults' own ``ipmi`` driver (port 623 only). The
Faults library calls :func:`bmc_accesses` and :func:`power_managements`.

Configuration (an entry of os-faults' ``power_managements``)::

    - driver: extreme_ipmi            # or extreme_redfish
      args:
        fqdn_to_bmc:                  # and/or mac_to_bmc, ip_to_bmc
          ctl1:
            address: 127.0.10.11
            port: 623
            username: admin
            password_env: EXTREME_LAB_BMC_PASSWORD   # or password: ... (kept out of logs)
            # Redfish only: system_id, scheme (https), verify (false)
        timeout: 60                   # seconds to wait for the new power state

:func:`power_managements_from_target` builds these entries from a target file's ``bmcs``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from os_faults.api import error, power_management

from ..errors import ExtremeError
from ..target import secret_from_env
from .clients import DEFAULT_TIMEOUT, PowerState, client
from .config import BmcEndpoint, BmcProtocol, endpoints
from .errors import PowerDriverConfigError

LOG = logging.getLogger(__name__)
IPMI_DEFAULT_PORT = 623

_BMC_SCHEMA = {
    "type": "object",
    "properties": {
        "address": {"type": "string"},
        "port": {"type": "integer"},
        "username": {"type": "string"},
        "password": {"type": "string"},
        "password_env": {"type": "string"},
        "system_id": {"type": "string"},
        "scheme": {"enum": ["http", "https"]},
        "verify": {"type": ["boolean", "string"]},
    },
    "required": ["address", "username"],
    "anyOf": [{"required": ["password"]}, {"required": ["password_env"]}],
    "additionalProperties": False,
}
_MAP = {"type": "object", "patternProperties": {".+": _BMC_SCHEMA}}


class _BmcPowerDriver(power_management.PowerDriver):
    NAME = "base"  # os-faults' registry skips classes named 'base'
    PROTOCOL = BmcProtocol.IPMI
    CONFIG_SCHEMA = {  # noqa: RUF012 - os-faults reads it as a class attribute
        "type": "object",
        "$schema": "http://json-schema.org/draft-04/schema#",
        "properties": {
            "fqdn_to_bmc": _MAP, "mac_to_bmc": _MAP, "ip_to_bmc": _MAP,
            "timeout": {"type": "number", "minimum": 1},
            "bmc_timeout": {"type": "number", "minimum": 1},
        },
        "anyOf": [{"required": ["fqdn_to_bmc"]}, {"required": ["mac_to_bmc"]},
                  {"required": ["ip_to_bmc"]}],
        "additionalProperties": False,
    }

    def __init__(self, params: dict):
        self.maps = {key: params.get(f"{key}_to_bmc") or {} for key in ("fqdn", "mac", "ip")}
        self.maps["mac"] = {mac.lower(): bmc for mac, bmc in self.maps["mac"].items()}
        self.timeout = float(params.get("timeout", 60))
        self.bmc_timeout = float(params.get("bmc_timeout", DEFAULT_TIMEOUT))

    def _endpoint(self, host) -> BmcEndpoint:
        for key, value in (("fqdn", host.fqdn), ("mac", (host.mac or "").lower()),
                           ("ip", host.ip)):
            if value and value in self.maps[key]:
                spec = self.maps[key][value]
                return BmcEndpoint(
                    node=host.fqdn or host.ip, protocol=self.PROTOCOL,
                    address=spec["address"],
                    port=int(spec.get("port") or (623 if self.PROTOCOL is BmcProtocol.IPMI
                                                  else 443)),
                    username=spec["username"], password_env=spec.get("password_env", ""),
                    system_id=spec.get("system_id"), scheme=spec.get("scheme", "https"),
                    verify=spec.get("verify", False), password_value=spec.get("password"))
        raise error.PowerManagementError(f"No BMC configured for {host!r} in the "
                                         f"{self.NAME} driver.")

    def supports(self, host) -> bool:
        try:
            self._endpoint(host)
        except error.PowerManagementError:
            return False
        return True

    def _do(self, host, action: str, expect: PowerState | None) -> None:
        bmc = client(self._endpoint(host), self.bmc_timeout)
        LOG.info("%s: %s", bmc.endpoint.name, action)
        try:
            getattr(bmc, action)()
            if expect is None:
                return
            deadline = time.monotonic() + self.timeout
            while (seen := bmc.power_state()) is not expect:
                if time.monotonic() >= deadline:
                    raise error.PowerManagementError(
                        f"{bmc.endpoint.name}: {host.fqdn or host.ip} still '{seen.value}' "
                        f"{self.timeout:g} s after {action}; expected '{expect.value}'.")
                time.sleep(0.1)
        except ExtremeError as failure:
            # os-faults logs driver errors and raises its own summary: keep the reason.
            raise error.PowerManagementError(str(failure)) from None

    def poweroff(self, host) -> None:
        self._do(host, "power_off", PowerState.OFF)

    def poweron(self, host) -> None:
        self._do(host, "power_on", PowerState.ON)

    def reset(self, host) -> None:
        # Unlike os-faults' ipmi driver, a node that is off is simply turned on.
        self._do(host, "reset", PowerState.ON)

    def shutdown(self, host) -> None:
        self._do(host, "soft_off", PowerState.OFF)


class IpmiPowerDriver(_BmcPowerDriver):
    """IPMI power driver with a port per BMC and bounded timeouts."""

    NAME = "extreme_ipmi"
    DESCRIPTION = "IPMI power management (port-aware, pyghmi with bytes credentials)"
    PROTOCOL = BmcProtocol.IPMI


class RedfishPowerDriver(_BmcPowerDriver):
    """Redfish power driver (sushy)."""

    NAME = "extreme_redfish"
    DESCRIPTION = "Redfish power management (sushy)"
    PROTOCOL = BmcProtocol.REDFISH


DRIVERS = {BmcProtocol.IPMI: IpmiPowerDriver, BmcProtocol.REDFISH: RedfishPowerDriver}


def register() -> None:
    """Add the drivers to os-faults' registry and their factories (idempotent)."""
    from os_faults import registry

    drivers = registry.get_drivers()
    for driver in DRIVERS.values():
        drivers.setdefault(driver.NAME, driver)
    for protocol in BmcProtocol:
        register_factory(protocol.value, _factory(protocol))


_OPTIONS = ("system_id", "scheme", "verify")


def _factory(protocol: BmcProtocol):
    """Factory: a ``BmcAccess`` list -> one power_managements entry."""

    def build(accesses: list) -> list[dict]:
        by_fqdn: dict[str, dict] = {}
        by_ip: dict[str, dict] = {}
        for access in accesses:
            spec = {"address": access.address, "username": access.username,
                    "password": access.password}
            if access.port:
                spec["port"] = int(access.port)
            for key in _OPTIONS:
                if key in access.options:
                    value = access.options[key]
                    spec[key] = value if key == "verify" else str(value)
            by_fqdn[access.host_fqdn] = spec
            if access.host_ip:
                by_ip[access.host_ip] = spec
        args: dict = {"fqdn_to_bmc": by_fqdn}
        if by_ip:
            args["ip_to_bmc"] = by_ip
        return [{"driver": DRIVERS[protocol].NAME, "args": args}]

    return build


def power_managements_from_target(bmcs: dict, nodes: dict | None = None,
                                  protocol: BmcProtocol | None = None) -> list[dict]:
    """os-faults ``power_managements`` entries for every node in a ``bmcs`` section.

    Hosts match by FQDN (the node's name) and by IP (``nodes[NAME].address``). With
    ``protocol``, nodes whose BMC lacks it are left out; without, each node uses its own.
    Passwords stay in the environment (``password_env``).
    """
    by_protocol: dict[BmcProtocol, dict[str, dict]] = {}
    ips: dict[BmcProtocol, dict[str, dict]] = {}
    for node in bmcs:
        found = endpoints(bmcs, node)
        chosen = found.get(protocol) if protocol else next(iter(found.values()))
        if chosen is None:
            continue
        spec = {"address": chosen.address, "port": chosen.port, "username": chosen.username,
                "password_env": chosen.password_env}
        if chosen.protocol is BmcProtocol.REDFISH:
            spec.update(scheme=chosen.scheme, verify=chosen.verify)
            if chosen.system_id:
                spec["system_id"] = chosen.system_id
        by_protocol.setdefault(chosen.protocol, {})[node] = spec
        address = ((nodes or {}).get(node) or {}).get("address")
        if address:
            ips.setdefault(chosen.protocol, {})[str(address)] = spec
    entries = []
    for proto, fqdn_map in by_protocol.items():
        args: dict = {"fqdn_to_bmc": fqdn_map}
        if ips.get(proto):
            args["ip_to_bmc"] = ips[proto]
        entries.append({"driver": DRIVERS[proto].NAME, "args": args})
    return entries


@dataclass(frozen=True)
class BmcAccess:
    """How to reach one node's BMC, password included (never shown)."""

    node: str  # the target's node name
    host_ip: str  # the node's address, as os-faults knows the host
    host_fqdn: str  # the node's fqdn in the os-faults config (set to its name if absent)
    protocol: str
    address: str
    port: int | None
    username: str
    password: str = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)  # e.g. system_id, verify


PowerFactory = Callable[[list[BmcAccess]], list[dict[str, Any]]]
_FACTORIES: dict[str, PowerFactory] = {}


def register_factory(protocol: str, factory: PowerFactory) -> None:
    """Make ``factory`` build the os-faults power entries for BMCs speaking ``protocol``."""
    _FACTORIES[protocol.lower()] = factory


def registered_factories() -> dict[str, PowerFactory]:
    return dict(_FACTORIES)


def factory_for(protocol: str) -> PowerFactory:
    protocol = protocol.lower()
    if protocol not in _FACTORIES:
        raise PowerDriverConfigError(
            f"No power driver for BMC protocol '{protocol}': expected one of "
            f"{', '.join(sorted(_FACTORIES)) or 'none'}. Register one with "
            f"register_factory(), as this module does for ipmi and redfish.")
    return _FACTORIES[protocol]


def stock_ipmi(bmcs: list[BmcAccess]) -> list[dict[str, Any]]:
    """os-faults' own IPMI driver: BMCs keyed by the host's fqdn, port 623 only."""
    odd = [b for b in bmcs if b.port not in (None, IPMI_DEFAULT_PORT)]
    if odd:
        raise PowerDriverConfigError(
            f"os-faults' stock IPMI driver only speaks to port {IPMI_DEFAULT_PORT}; BMCs of "
            f"{', '.join(b.node for b in odd)} use another port. Install the port-aware "
            f"driver (extreme_ipmi, this module) or use the BMCs' Redfish access "
            f"(library argument power_protocol=redfish).")
    return [{"driver": "ipmi", "args": {"fqdn_to_bmc": {
        b.host_fqdn: {"address": b.address, "username": b.username, "password": b.password}
        for b in bmcs}}}]




def bmc_accesses(bmcs: dict[str, Any], hosts: dict[str, tuple[str, str]],
                 protocol: str | None = None) -> list[BmcAccess]:
    """The target's ``bmcs`` as :class:`BmcAccess` (passwords from their ``password_env``).

    ``hosts`` maps node name -> (ip, fqdn) as in the os-faults config; ``protocol``
    overrides each BMC's own (its ``redfish:`` sub-section then gives address and port).
    """
    accesses = []
    for node, spec in sorted(bmcs.items()):
        spec = dict(spec or {})
        chosen = (protocol or spec.get("protocol") or "ipmi").lower()
        sub = spec.get(chosen) if isinstance(spec.get(chosen), dict) else {}
        merged = {**spec, **sub}
        if node not in hosts:
            raise PowerDriverConfigError(
                f"BMC of '{node}': no such node in the os-faults configuration (known: "
                f"{', '.join(sorted(hosts)) or 'none'}). Fix the target's bmcs section.")
        env = merged.get("password_env")
        if not env:
            raise PowerDriverConfigError(f"BMC of '{node}' has no password_env: name the "
                                      f"environment variable that holds its password.")
        ip, fqdn = hosts[node]
        options = {k: v for k, v in merged.items()
                   if k not in {"protocol", "address", "port", "username", "password_env",
                                "ipmi", "redfish"}}
        accesses.append(BmcAccess(
            node=node, host_ip=ip, host_fqdn=fqdn, protocol=chosen,
            address=str(merged.get("address", "")),
            port=int(merged["port"]) if merged.get("port") else None,
            username=str(merged.get("username", "")),
            password=secret_from_env(str(env), f"BMC of {node}"), options=options))
    return accesses


def power_managements(accesses: list[BmcAccess]) -> list[dict[str, Any]]:
    by_protocol: dict[str, list[BmcAccess]] = {}
    for access in accesses:
        by_protocol.setdefault(access.protocol, []).append(access)
    entries: list[dict[str, Any]] = []
    for protocol, group in sorted(by_protocol.items()):
        entries += factory_for(protocol)(group)
    return entries


register()

"""The seam between the target's ``bmcs`` section and os-faults' power drivers.

os-faults powers nodes through ``power_managements`` entries (``{driver, args}``) whose
driver class lives in ``os_faults.registry``. The target file only names BMCs::

    bmcs:
      ctl1: {protocol: ipmi, address: 127.0.10.11, port: 623, username: admin,
             password_env: EXTREME_LAB_BMC_PASSWORD,
             redfish: {address: 127.0.10.11, port: 8000, system_id: ctl1}}

A *power driver factory*, registered per protocol, turns the BMCs of one protocol into
``power_managements`` entries. The stock factory for ``ipmi`` uses os-faults' own ``ipmi``
driver (port 623 only). The Power area supplies better ones in
``ExtremeTesting.power.osf_drivers`` (a port-aware IPMI driver and a Redfish driver): that
module, imported by :func:`load_extensions` when present, registers its os-faults driver
classes into ``os_faults.registry.get_drivers()`` and calls :func:`register` for
``ipmi`` and ``redfish``. Passwords are read from the environment here, held in memory
only, and never part of a repr.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..target import secret_from_env
from .errors import OsFaultsConfigError

LOG = logging.getLogger(__name__)
EXTENSION_MODULE = "ExtremeTesting.power.osf_drivers"
IPMI_DEFAULT_PORT = 623


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


def register(protocol: str, factory: PowerFactory) -> None:
    """Make ``factory`` build the os-faults power entries for BMCs speaking ``protocol``."""
    _FACTORIES[protocol.lower()] = factory


def registered() -> dict[str, PowerFactory]:
    return dict(_FACTORIES)


def factory_for(protocol: str) -> PowerFactory:
    protocol = protocol.lower()
    if protocol not in _FACTORIES:
        raise OsFaultsConfigError(
            f"No power driver for BMC protocol '{protocol}': expected one of "
            f"{', '.join(sorted(_FACTORIES)) or 'none'}. The Redfish and port-aware IPMI "
            f"drivers come from {EXTENSION_MODULE}; check that it imports.")
    return _FACTORIES[protocol]


def load_extensions() -> bool:
    """Import the Power area's os-faults drivers if they exist; True when they did."""
    try:
        importlib.import_module(EXTENSION_MODULE)
    except ModuleNotFoundError as error:
        if error.name and EXTENSION_MODULE.startswith(error.name):
            return False
        raise
    return True


def stock_ipmi(bmcs: list[BmcAccess]) -> list[dict[str, Any]]:
    """os-faults' own IPMI driver: BMCs keyed by the host's fqdn, port 623 only."""
    odd = [b for b in bmcs if b.port not in (None, IPMI_DEFAULT_PORT)]
    if odd:
        raise OsFaultsConfigError(
            f"os-faults' stock IPMI driver only speaks to port {IPMI_DEFAULT_PORT}; BMCs of "
            f"{', '.join(b.node for b in odd)} use another port. Install the port-aware "
            f"driver ({EXTENSION_MODULE}) or use the BMCs' Redfish access "
            f"(library argument power_protocol=redfish).")
    return [{"driver": "ipmi", "args": {"fqdn_to_bmc": {
        b.host_fqdn: {"address": b.address, "username": b.username, "password": b.password}
        for b in bmcs}}}]


register("ipmi", stock_ipmi)


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
            raise OsFaultsConfigError(
                f"BMC of '{node}': no such node in the os-faults configuration (known: "
                f"{', '.join(sorted(hosts)) or 'none'}). Fix the target's bmcs section.")
        env = merged.get("password_env")
        if not env:
            raise OsFaultsConfigError(f"BMC of '{node}' has no password_env: name the "
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

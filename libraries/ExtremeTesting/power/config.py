"""Where a node's BMC is and how to log in, read from the target file's ``bmcs`` section.

Example (the lab's)::

    bmcs:
      ctl1:
        protocol: ipmi            # ipmi | redfish: the default protocol
        address: 127.0.10.11
        port: 623
        username: admin
        password_env: EXTREME_LAB_BMC_PASSWORD
        redfish:                  # optional: the same BMC over the other protocol
          address: 127.0.10.11
          port: 8000
          system_id: ctl1         # Id or Name of the system; omit when there is one
          # scheme: https, verify: false|true|/path/ca.pem,
          # username/password_env: when they differ

The password is read from the named environment variable when a request is made and is
never logged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..errors import TargetError
from ..target import Target, secret_from_env


class BmcProtocol(enum.Enum):
    """How to talk to a BMC: ``ipmi`` (IPMI 2.0 over LAN) or ``redfish`` (HTTP)."""

    IPMI = "ipmi"
    REDFISH = "redfish"


DEFAULT_PORTS = {BmcProtocol.IPMI: 623, BmcProtocol.REDFISH: 443}


@dataclass(frozen=True)
class BmcEndpoint:
    node: str
    protocol: BmcProtocol
    address: str
    port: int
    username: str
    password_env: str
    system_id: str | None = None
    scheme: str = "https"
    verify: bool | str = False
    # A password given directly (os-faults configurations); never shown.
    password_value: str | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"BMC of {self.node} ({self.protocol.value} {self.address}:{self.port})"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"

    def password(self) -> str:
        if self.password_value is not None:
            return self.password_value
        return secret_from_env(self.password_env, self.name)


def _protocol(value: Any, where: str) -> BmcProtocol:
    try:
        return BmcProtocol(str(value).lower())
    except ValueError:
        raise TargetError(f"{where}: protocol must be 'ipmi' or 'redfish', got "
                          f"{value!r}.") from None


def _endpoint(node: str, protocol: BmcProtocol, spec: dict, defaults: dict,
              where: str) -> BmcEndpoint:
    merged = {**defaults, **spec}
    for key in ("address", "username", "password_env"):
        if not merged.get(key):
            raise TargetError(f"{where}: '{key}' is missing; every BMC needs address, "
                              f"username and password_env.")
    scheme = str(merged.get("scheme", "https" if protocol is BmcProtocol.REDFISH else "")).lower()
    return BmcEndpoint(
        node=node, protocol=protocol, address=str(merged["address"]),
        port=int(spec.get("port") or DEFAULT_PORTS[protocol]),
        username=str(merged["username"]), password_env=str(merged["password_env"]),
        system_id=str(merged["system_id"]) if merged.get("system_id") else None,
        scheme=scheme or "https", verify=merged.get("verify", False))


def endpoints(section: dict, node: str, where: str = "bmcs") -> dict[BmcProtocol, BmcEndpoint]:
    """Every way to reach ``node``'s BMC, by protocol; the first is the default."""
    if node not in section:
        raise TargetError(f"No BMC for node '{node}' in the target's '{where}' section. "
                          f"Nodes with a BMC: {', '.join(sorted(section)) or 'none'}.")
    spec = section[node] or {}
    if not isinstance(spec, dict):
        raise TargetError(f"{where}.{node} must be a mapping.")
    where_node = f"{where}.{node}"
    main = _protocol(spec.get("protocol", "ipmi"), where_node)
    own = {k: v for k, v in spec.items() if k not in ("protocol", "redfish", "ipmi")}
    found = {main: _endpoint(node, main, own, {}, where_node)}
    credentials = {k: own[k] for k in ("address", "username", "password_env") if k in own}
    for other in BmcProtocol:
        sub = spec.get(other.value)
        if other is not main and isinstance(sub, dict):
            found[other] = _endpoint(node, other, sub, credentials, f"{where_node}.{other.value}")
    return found


def endpoint(target: Target, node: str, protocol: BmcProtocol | str | None = None) -> BmcEndpoint:
    """The endpoint of ``node``'s BMC over ``protocol`` (default: the node's own)."""
    found = endpoints(target.section("bmcs"), node)
    if protocol is None:
        return next(iter(found.values()))
    wanted = protocol if isinstance(protocol, BmcProtocol) else _protocol(protocol, node)
    if wanted not in found:
        raise TargetError(f"The BMC of {node} is not configured for {wanted.value}: add a "
                          f"'{wanted.value}:' sub-section (address, port) under bmcs.{node} "
                          f"in {target.path}, or use protocol={next(iter(found)).value}.")
    return found[wanted]

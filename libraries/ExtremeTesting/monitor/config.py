"""Probes from the target file's ``probes`` section, credentials from clouds.yaml.

Schema (every key optional; the defaults suit a standard cloud)::

    probes:
      rate: 10            # samples per second of each probe (reads at most read_rate,
                          # writes at most write_rate, unless an item sets its own rate)
      read_rate: 2        # the most an authenticated read probe samples a second
      write_rate: 1       # the most a write probe creates a second
      timeout: 1          # seconds per request (writes: at least 5 unless an item says)
      versions: [identity, compute, image, placement, network]  # default: every endpoint
      token: true         # validate the held token; or {rate: 5}; false to skip
      reads: [projects, servers, images, networks]  # default: those with an endpoint
      writes: [network]   # default: none. project (Keystone) or network (Neutron)
      keep: 5             # resources each write probe holds before deleting the oldest
      settle: 30          # seconds writes may take to leave transitional states
      relogin: 600        # seconds between password logins
      sample_cap: 50000   # samples kept per probe (counts cover all of them)

Each list item is a name or a mapping ``{kind: network, rate: 2, timeout: 2, name: ...}``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import TargetError
from ..target import Target
from .probes import GetProbe, Probe, TokenHolder, TokenProbe, WriteKind, WriteProbe

READS = {  # name -> (service type, path under the versioned endpoint)
    "projects": ("identity", "/auth/projects"),
    "servers": ("compute", "/servers?limit=1"),
    "images": ("image", "/images?limit=1"),
    "networks": ("network", "/networks?limit=1"),
}
WRITES = {  # name -> (service type, collection path, JSON key, list key, status key, body)
    "project": ("identity", "/projects", "project", "projects", "",
                {"description": "ExtremeTesting availability monitor probe"}),
    "network": ("network", "/networks", "network", "networks", "status", {}),
}
VERSION_SUFFIX = {"identity": "/v3", "compute": "/v2.1", "image": "/v2", "network": "/v2.0"}
# Authenticated reads and writes cost the cloud far more than a version document (a
# token check, a database query, one of few API workers): at 10/s each they overloaded
# the 2-core lab into a false outage (HAProxy's checks timed out, 503s). Probes must not
# cause the outage they measure, so these default to a few per second.
READ_RATE = 2.0
WRITE_RATE = 1.0
# A create or delete that takes 1.5 s on a busy control plane is slow, not lost: writes get
# a longer timeout than the 1 s that suits version documents and token checks (seen on the
# lab: one network delete timed out at 1 s while a rebooted controller started its services).
WRITE_TIMEOUT = 5.0


@dataclass
class ProbeSettings:
    rate: float = 10.0
    timeout: float = 1.0
    read_rate: float = READ_RATE
    write_rate: float = WRITE_RATE
    settle: float = 30.0
    relogin: float = 600.0
    keep: int = 5
    sample_cap: int = 50_000
    versions: list[dict] = field(default_factory=list)
    token: dict | None = None
    reads: list[dict] = field(default_factory=list)
    writes: list[dict] = field(default_factory=list)


def settings(section: dict[str, Any], endpoints: dict[str, str]) -> ProbeSettings:
    found = ProbeSettings(
        rate=float(section.get("rate", 10.0)), timeout=float(section.get("timeout", 1.0)),
        settle=float(section.get("settle", 30.0)), relogin=float(section.get("relogin", 600)),
        keep=int(section.get("keep", 5)), sample_cap=int(section.get("sample_cap", 50_000)),
        read_rate=_positive(section, "read_rate", READ_RATE),
        write_rate=_positive(section, "write_rate", WRITE_RATE))
    found.versions = _items(section.get("versions", sorted(endpoints)), "versions")
    token = section.get("token", True)
    found.token = None if token is False else (token if isinstance(token, dict) else {})
    default_reads = [n for n, (service, _) in READS.items() if service in endpoints]
    found.reads = _items(section.get("reads", default_reads), "reads")
    found.writes = _items(section.get("writes", []), "writes")
    for item in found.reads:
        if item["kind"] not in READS:
            raise TargetError(f"probes.reads: unknown read '{item['kind']}'. Known: "
                              f"{', '.join(READS)}.")
    for item in found.writes:
        if item["kind"] not in WRITES:
            raise TargetError(f"probes.writes: unknown write '{item['kind']}'. Known: "
                              f"{', '.join(WRITES)}.")
    return found


def _positive(section: dict[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    try:
        found = float(value)
    except (TypeError, ValueError):
        found = 0.0
    if found <= 0:
        raise TargetError(f"probes.{key} must be a positive number of samples a second, got "
                          f"{value!r}. Give it as a number, e.g. '{key}: {default:g}'.")
    return found


def _items(value: Any, key: str) -> list[dict]:
    if value in (None, False):
        return []
    if not isinstance(value, list):
        raise TargetError(f"probes.{key} must be a list of names or mappings, "
                          f"got {type(value).__name__}.")
    found = []
    for item in value:
        if isinstance(item, str):
            found.append({"kind": item})
        elif isinstance(item, dict) and ("kind" in item or "service" in item):
            found.append({**item, "kind": item.get("kind", item.get("service"))})
        else:
            raise TargetError(f"probes.{key}: each item is a name or a mapping with 'kind'; "
                              f"got {item!r}.")
    return found


def versioned(service: str, endpoint: str) -> str:
    """The API root under which resource paths live (http://h:9696 -> http://h:9696/v2.0)."""
    base = endpoint.rstrip("/")
    suffix = VERSION_SUFFIX.get(service)
    if suffix is None or re.search(r"/v\d", urlsplit(base).path):
        return base
    return base + suffix


@dataclass
class Credentials:
    auth_url: str
    body: dict  # the POST /v3/auth/tokens body; holds the secret, never logged
    verify: bool | str = True

    def __repr__(self) -> str:  # keep the secret out of any repr that reaches a log
        return f"Credentials(auth_url={self.auth_url!r}, body=<hidden>)"


def credentials(target: Target) -> Credentials:
    """The cloud's credentials from clouds.yaml/secure.yaml (via openstacksdk's loader)."""
    import openstack.config
    import openstack.exceptions

    from ..cloud.connection import CLOUD_RULE, config_files, settings_for

    settings = settings_for(target)
    cloud = settings.cloud
    if not cloud:
        raise TargetError(f"Target file {target.path} names no cloud for the monitor: "
                          f"{CLOUD_RULE}. Add 'cloud: NAME' (a clouds.yaml entry) to it.")
    clouds, secure = config_files(settings)
    kwargs: dict[str, Any] = ({"config_files": clouds, "secure_files": secure}
                              if clouds is not None else {})
    try:
        region = openstack.config.OpenStackConfig(**kwargs).get_one(cloud=cloud)
    except openstack.exceptions.ConfigException as error:
        raise TargetError(f"Cloud '{cloud}' not found in clouds.yaml: {error}. Set "
                          f"OS_CLIENT_CONFIG_FILE or the target's clouds_yaml.") from None
    auth = dict(region.config.get("auth") or {})
    verify: bool | str = region.config.get("cacert") or bool(region.config.get("verify", True))
    return Credentials(versioned("identity", str(auth.get("auth_url", ""))),
                       auth_body(auth, str(region.config.get("auth_type") or "password")),
                       verify)


def auth_body(auth: dict, auth_type: str = "password") -> dict:
    """A Keystone v3 token request body for password or application-credential auth."""
    if "applicationcredential" in auth_type.replace("_", ""):
        credential: dict[str, Any] = {"secret": auth.get("application_credential_secret")}
        if auth.get("application_credential_id"):
            credential["id"] = auth["application_credential_id"]
        else:
            credential["name"] = auth.get("application_credential_name")
            credential["user"] = _named(auth, "user", "username", "user_id")
        return {"auth": {"identity": {"methods": ["application_credential"],
                                      "application_credential": credential}}}
    user = _named(auth, "user", "username", "user_id")
    user["password"] = auth.get("password")
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"],
                                                  "password": {"user": user}}}}
    if auth.get("project_id") or auth.get("project_name"):
        body["auth"]["scope"] = {"project": _named(auth, "project", "project_name",
                                                   "project_id")}
    elif auth.get("system_scope"):
        body["auth"]["scope"] = {"system": {"all": True}}
    elif auth.get("domain_id") or auth.get("domain_name"):
        body["auth"]["scope"] = {"domain": {"id": auth["domain_id"]} if auth.get("domain_id")
                                 else {"name": auth["domain_name"]}}
    return body


def _named(auth: dict, prefix: str, name_key: str, id_key: str) -> dict:
    if auth.get(id_key):
        return {"id": auth[id_key]}
    domain_id = auth.get(f"{prefix}_domain_id") or auth.get("domain_id")
    domain_name = (auth.get(f"{prefix}_domain_name") or auth.get("domain_name")
                   or ("Default" if not domain_id else None))
    domain = {"id": domain_id} if domain_id else {"name": domain_name}
    return {"name": auth.get(name_key), "domain": domain}


def run_prefix(name: str = "") -> str:
    """A prefix unique to one monitor run, for the names of the resources it writes."""
    clean = "".join(c if c.isalnum() else "-" for c in name)[:20].strip("-")
    return f"xt-mon-{clean + '-' if clean else ''}{secrets.token_hex(3)}-"


def build_probes(found: ProbeSettings, endpoints: dict[str, str], tokens: TokenHolder | None,
                 prefix: str, verify: bool | str = True) -> list[Probe]:
    """Probe objects for the settings; authenticated ones need ``tokens``."""
    probes: list[Probe] = []

    def rate_timeout(item: dict, default_rate: float, default_timeout: float = 0) -> dict:
        return {"rate": float(item.get("rate", default_rate)),
                "timeout": float(item.get("timeout", max(found.timeout, default_timeout)))}

    for item in found.versions:
        service = item["kind"]
        url = item.get("url") or endpoints.get(service)
        if not url:
            raise TargetError(f"probes.versions: no endpoint for '{service}'. Add it to the "
                              f"target's endpoints or give the item a url.")
        probes.append(GetProbe(item.get("name", f"version-{service}"), "version",
                               url=url.rstrip("/") + "/", allow_redirect=True, verify=verify,
                               service=service, **rate_timeout(item, found.rate)))
    needs_token = found.token is not None or found.reads or found.writes
    if needs_token and tokens is None:
        raise TargetError("Authenticated probes need the cloud's credentials: set 'cloud' in "
                          "the target file, or list only versions in probes.")
    if found.token is not None:
        assert tokens is not None
        identity = endpoints.get("identity")
        probes.append(TokenProbe(found.token.get("name", "token"), tokens=tokens,
                                 identity_url=versioned("identity", identity) if identity
                                 else "", verify=verify, service="identity",
                                 **rate_timeout(found.token, found.rate)))
    for item in found.reads:
        service, path = READS[item["kind"]]
        base = _endpoint(service, endpoints, tokens, "reads")
        probes.append(GetProbe(item.get("name", f"read-{item['kind']}"), "read",
                               url=versioned(service, base) + path, tokens=tokens,
                               verify=verify, service=service,
                               **rate_timeout(item, min(found.rate, found.read_rate))))
    for item in found.writes:
        service, path, wrap, list_key, status_key, body = WRITES[item["kind"]]
        base = _endpoint(service, endpoints, tokens, "writes")
        kind = WriteKind(item["kind"], versioned(service, base) + path, wrap, dict(body),
                         list_key, status_key)
        probes.append(WriteProbe(item.get("name", f"write-{item['kind']}"), write_kind=kind,
                                 tokens=tokens, prefix=prefix,
                                 keep=int(item.get("keep", found.keep)), verify=verify,
                                 service=service,
                                 **rate_timeout(item, min(found.rate, found.write_rate),
                                                WRITE_TIMEOUT)))
    return probes


def _endpoint(service: str, endpoints: dict[str, str], tokens: TokenHolder | None,
              key: str) -> str:
    if endpoints.get(service):
        return endpoints[service]
    if tokens is not None:
        tokens.token()
        for entry in tokens.catalog:
            if entry.get("type") == service:
                for endpoint in entry.get("endpoints", []):
                    if endpoint.get("interface") == "public":
                        return str(endpoint["url"])
    raise TargetError(f"probes.{key}: no '{service}' endpoint in the target's endpoints nor "
                      f"in the cloud's catalog.")

"""Which cloud every library connects to, and an openstacksdk connection to it with a timeout
on every call: the one module that decides it (Cloud, Load, Monitor, Policy, Changes).

Which cloud (:func:`settings_for`), first given wins: the library's ``cloud`` argument (the
import argument, or `Connect To Cloud`'s), then the target file's ``cloud``, then
``$OS_CLOUD``. Where its configuration comes from, first found wins:
``$OS_CLIENT_CONFIG_FILE`` / ``$OS_CLIENT_SECURE_FILE`` (openstacksdk's own variables),
then the target file's ``clouds_yaml`` (with a ``secure.yaml`` beside it), then
openstacksdk's usual search path. A password given as a Secret overrides the file's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..evidence import failures, ids
from ..schemas import watch as schema_watch
from . import logsafety
from .apierrors import CloudError, CloudNotConnected, describe

DEFAULT_API_TIMEOUT = timedelta(seconds=30)
CLOUD_RULE = ("the library's cloud argument, else the target file's 'cloud', else $OS_CLOUD")


@dataclass
class ConnectionSettings:
    cloud: str | None = None
    clouds_yaml: Path | None = None
    api_timeout: timedelta = DEFAULT_API_TIMEOUT
    region: str | None = None
    http_debug: bool = False


def settings_for(target: Any, cloud: str | None = None, **options: Any) -> ConnectionSettings:
    """The connection settings of every library: the cloud by :data:`CLOUD_RULE` (None when
    none is named anywhere), the target's ``clouds_yaml`` (resolved beside the target file)
    if it has one; ``target`` is a ``target.Target`` or None, ``options`` the other
    :class:`ConnectionSettings` fields."""
    data = target.data if target is not None else {}
    clouds_yaml = data.get("clouds_yaml")
    chosen = cloud or data.get("cloud") or os.environ.get("OS_CLOUD") or None
    return ConnectionSettings(cloud=str(chosen) if chosen else None,
                              clouds_yaml=Path(target.resolve(str(clouds_yaml)))
                              if clouds_yaml else None, **options)


def config_files(settings: ConnectionSettings) -> tuple[list[str] | None, list[str] | None]:
    """The clouds.yaml and secure.yaml lists for openstacksdk (None: its defaults)."""
    from openstack.config import loader

    if settings.clouds_yaml is None:
        return None, None
    clouds = [str(settings.clouds_yaml), *loader.CONFIG_FILES]
    secure = list(loader.SECURE_FILES)
    beside = settings.clouds_yaml.with_name("secure.yaml")
    if beside.is_file():
        secure.insert(0, str(beside))
    return clouds, secure


def connect(settings: ConnectionSettings, password: str | None = None) -> Any:
    """An ``openstack.connection.Connection``; authenticates lazily, on the first call."""
    import openstack
    from openstack.config import loader

    logsafety.protect(settings.http_debug)
    logsafety.register_secret(password)
    clouds, secure = config_files(settings)
    options: dict[str, Any] = {"api_timeout": settings.api_timeout.total_seconds()}
    if settings.region:
        options["region_name"] = settings.region
    if password is not None:
        options["auth"] = {"password": password}
    try:
        config = loader.OpenStackConfig(config_files=clouds, secure_files=secure,
                                        app_name="extreme-testing")
        region = config.get_one(cloud=settings.cloud, **options)
    except Exception as error:  # noqa: BLE001 - configuration errors come in many types
        where = (f"$OS_CLIENT_CONFIG_FILE={os.environ['OS_CLIENT_CONFIG_FILE']}"
                 if os.environ.get("OS_CLIENT_CONFIG_FILE")
                 else str(settings.clouds_yaml or "openstacksdk's default clouds.yaml"))
        raise CloudNotConnected(
            f"Cannot configure cloud '{settings.cloud}' from {where}: {error}. Check that "
            "the entry exists (openstack --os-cloud NAME catalog list) and its auth is "
            "complete.") from None
    auth = region.config.get("auth") or {}
    for key in ("password", "token", "application_credential_secret"):
        logsafety.register_secret(auth.get(key))
    connection = openstack.connection.Connection(config=region)
    stamp_request_ids(connection)
    logsafety.protect(settings.http_debug)
    return connection


def stamp_request_ids(connection: Any) -> bool:
    """Every request of ``connection`` carries a fresh id of ours (``req-<uuid4>`` in
    ``X-OpenStack-Request-ID``); one that gets no answer or a 5xx is recorded with it and
    the service's id, for the evidence of a failed case (:mod:`ExtremeTesting.evidence`).
    Its answers are offered to the process's schema watch (``schemas.watch.CALLS``: each
    kind's first, then one a minute, checked against its published schema)."""
    session = getattr(getattr(connection, "session", None), "session", None)
    return ids.install(session, _on_response) if session is not None else False


def _on_response(request: Any, response: Any, error: BaseException | None) -> None:
    _record_failure(request, response, error)
    if response is not None:
        schema_watch.CALLS.offer_response(request, response)


def _record_failure(request: Any, response: Any, error: BaseException | None) -> None:
    status = getattr(response, "status_code", None)
    why = type(error).__name__ if error is not None else f"HTTP {status}"
    if not failures.failed(status, why if error is not None else ""):
        return
    headers = getattr(response, "headers", None) or {}
    theirs = (headers.get("x-openstack-request-id") or headers.get("x-compute-request-id")
              or "")
    failures.record("sdk", str(getattr(request, "method", "")), str(getattr(request, "url", "")),
                    ids.carried_by(request), theirs, status, why)


# A login that got no answer at all (the connection refused or dropped: a load balancer's
# backend restarting) is tried again this many times, this far apart; an answer (401, 5xx)
# is never retried. Seen on the lab: Keystone restarted by the case before dropped one login.
LOGIN_TRIES = 3
LOGIN_PAUSE = 2.0


def authenticate(connection: Any, cloud: str | None) -> None:
    """Fetch a token now, so a wrong password fails here with a clear message."""
    try:
        for attempt in range(1, LOGIN_TRIES + 1):
            try:
                connection.authorize()
                return
            except Exception as error:  # noqa: BLE001
                described: CloudError = describe(error, f"Authenticating to cloud '{cloud}'")
                if described.status_code is None and attempt < LOGIN_TRIES:
                    time.sleep(LOGIN_PAUSE)
                    continue
                raise CloudNotConnected(str(described), described.request_id,
                                        described.status_code) from None
    finally:
        logsafety.protect()

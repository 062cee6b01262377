"""State shared by the Cloud library's keyword components: one connection, one tracker."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .. import target as target_module
from . import connection as connection_module
from . import health, logsafety
from .apierrors import CloudNotConnected
from .connection import ConnectionSettings, authenticate
from .tracking import BASE_PREFIX, TAG, CleanupLevel, Tracked, Tracker, clean_up, new_run_id

DEFAULT_WAIT = timedelta(minutes=5)


class CloudContext:
    """The connection (made on first use), the settings and the resource tracker."""

    def __init__(self, target: str | None = None, cloud: str | None = None,
                 api_timeout: timedelta = timedelta(seconds=30),
                 cleanup_level: CleanupLevel = CleanupLevel.TEST, prefix: str | None = None,
                 region: str | None = None, http_debug: bool = False,
                 connector: Callable[[ConnectionSettings, str | None], Any] | None = None):
        self.target_path = target
        self.settings = ConnectionSettings(cloud=cloud, api_timeout=api_timeout,
                                           region=region, http_debug=http_debug)
        self.run_id = os.environ.get("EXTREME_RUN_ID") or new_run_id()
        self.prefix = prefix if prefix is not None else f"{BASE_PREFIX}{self.run_id}-"
        self.tag = TAG
        self.tracker = Tracker(cleanup_level)
        # The run's data-plane guests: in no scope of this process, deleted at the run's end.
        self.kept_for_run: list[Tracked] = []
        self.connector = connector
        self._password: str | None = None
        self._conn: Any = None
        self._counter = itertools.count(1)
        self._catalog: list[dict[str, Any]] | None = None
        self._target: target_module.Target | None = None
        self._balancer: Any = None
        self.environment_published = False

    # --- the target: where each service runs, the load balancer ------------------------

    def target(self) -> target_module.Target | None:
        """The target file, or None when the library was given none and there is none
        to find (a cloud named only by $OS_CLOUD)."""
        if self._target is None:
            self._target = target_module.load_if_any(self.target_path)
        return self._target

    def load_balancer(self) -> Any:
        """The target's load balancer (loadbalancer.HAProxy), or None."""
        if self._balancer is None and self.target() is not None:
            from .. import loadbalancer

            self._balancer = loadbalancer.from_target(self.target())
        return self._balancer

    # --- connection -----------------------------------------------------------------

    def _resolve_settings(self) -> None:
        if self.settings.cloud and self.settings.clouds_yaml:
            return
        target = None
        if self.target_path or not self.settings.cloud:
            target = target_module.load_if_any(self.target_path)
            if target is None and not os.environ.get("OS_CLOUD"):
                target_module.load(self.target_path)  # raises: says there is no target
        chosen = connection_module.settings_for(target, self.settings.cloud)
        self.settings.cloud = chosen.cloud
        self.settings.clouds_yaml = self.settings.clouds_yaml or chosen.clouds_yaml
        if not self.settings.cloud:
            raise CloudNotConnected(
                "No cloud to connect to: the target file has no 'cloud' key, no cloud was "
                "given to the library or to `Connect To Cloud`, and $OS_CLOUD is unset.")

    def connect(self, cloud: str | None = None, password: str | None = None,
                api_timeout: timedelta | None = None, region: str | None = None) -> Any:
        if cloud:
            self.settings.cloud = cloud
        if api_timeout is not None:
            self.settings.api_timeout = api_timeout
        if region:
            self.settings.region = region
        if password is not None:
            self._password = password
            logsafety.register_secret(password)
        self._resolve_settings()
        # Looked up at call time so that tests can substitute a fake cloud.
        connector = self.connector or connection_module.connect
        self._conn = connector(self.settings, self._password)
        self._catalog = None
        authenticate(self._conn, self.settings.cloud)
        return self._conn

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self.connect()
        return self._conn

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def api_timeout(self) -> float:
        return self.settings.api_timeout.total_seconds()

    def catalog(self, refresh: bool = False) -> list[dict[str, Any]]:
        if self._catalog is None or refresh:
            self._catalog = health.catalog(self.conn)
        return self._catalog

    def has_volume_service(self) -> bool:
        return health.has_volume_service(self.catalog())

    # --- names and tracking ---------------------------------------------------------

    def name(self, base: str) -> str:
        """A unique name with the run's prefix: xt-<run id>-<base>-<n>."""
        return f"{self.prefix}{base}-{next(self._counter)}"

    def track(self, kind: str, resource_id: str, name: str, in_suite: bool = False
              ) -> Tracked:
        return self.tracker.add(kind, resource_id, name, in_suite)

    def delete_tracked(self, resources: list[Tracked], timeout: timedelta = DEFAULT_WAIT
                       ) -> list[tuple[Tracked, str]]:
        if not resources:
            return []
        return clean_up(self.conn, resources, timeout)

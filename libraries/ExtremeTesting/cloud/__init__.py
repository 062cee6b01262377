"""ExtremeTesting.Cloud: what an operator checks before and after breaking a cloud, and
the resources the scenarios create, over openstacksdk."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import logger
from robotlibcore import DynamicCore

from .. import __version__
from ..lifecycle import ScopedResources, ScopeListener
from .apierrors import CloudError, CloudNotConnected, CloudTimeout
from .context import CloudContext
from .keywords import (ClusterKeywords, ConnectionKeywords, DataPlaneKeywords,
                       HealthKeywords, RedundancyKeywords, ResourceKeywords,
                       SurvivorKeywords, TrackingKeywords)
from .tracking import CleanupLevel, Tracked

__all__ = ["CleanupLevel", "Cloud", "CloudError", "CloudNotConnected", "CloudTimeout"]


class Cloud(DynamicCore, ScopedResources):
    """OpenStack health checks and resources that leave nothing behind.

    %TOC%

    = Importing =

    | *** Settings ***
    | Library    ExtremeTesting.Cloud    ${TARGET}
    | Library    ExtremeTesting.Cloud    ${TARGET}    api_timeout=20 s    cleanup_level=SUITE

    The arguments are described under `Importing` below the introduction.

    = Connection =

    The library connects on first use to a clouds.yaml entry: the ``cloud`` import
    argument, else the target file's ``cloud`` key (and its ``clouds_yaml``), else
    ``$OS_CLOUD``. openstacksdk reads the credentials from clouds.yaml/secure.yaml
    (``$OS_CLIENT_CONFIG_FILE``, ``$OS_CLIENT_SECURE_FILE``); a password can also come
    from the environment as a Secret with `Connect To Cloud`. Every HTTP call has the
    ``api_timeout``; every wait has its own ``timeout`` and polls, never sleeps blindly.

    Credentials never reach the log: keystoneauth's and openstacksdk's HTTP dumps are
    held back even at ``--loglevel DEBUG`` (``http_debug=True`` lets them through,
    redacted), and every log record is scrubbed of passwords, tokens and private keys.

    = Health =

    `Cloud Should Be Healthy` is the steady-state check before and after a destructive
    case; it gathers every problem before failing, and publishes the cloud's service
    versions once (`Record Cloud Versions`). The single checks: `Get Service Catalog`,
    `All Endpoints Should Answer`, `All Compute Services Should Be Up`,
    `All Network Agents Should Be Up` (no agents is not a failure),
    `All Volume Services Should Be Up` (skips without Cinder), `All Hypervisors Should Be Up`.
    `Wait Until Compute Services Are Up` and `Wait Until Compute Service Is Down` poll.

    = Full redundancy =

    The VIP hides a lost instance, so the steady state also asks each one: `Every API
    Should Serve On Every Node` (the node's own address and the service's port, from the
    target's ``services`` and ``nodes``), `Service Should Serve On Node` and `Wait Until
    Service Serves On Node` for one instance (after a restart), and `Every Load Balancer
    Backend Should Be Up` (HAProxy's view, from the target's ``load_balancer`` section:
    its admin socket on its node over SSH, or its stats page; `Get Load Balancer Servers`).

    = Resources and clean-up =

    Servers, images, flavors, networks, subnets, ports, key pairs, projects, users and
    volumes (where the cloud has them) can be created, awaited and deleted. Each name
    starts with the run's prefix (``xt-<run id>-``, see `Get Resource Prefix`; the run id
    is ``$EXTREME_RUN_ID`` when set), each resource is tagged (``extreme-testing``) where
    the API allows, and each is tracked and deleted when its test or suite ends, whatever
    the outcome (see `Set Cleanup Level`). `Purge Leftovers` deletes what earlier runs left.

    | *** Settings ***
    | Library    ExtremeTesting.Cloud    cleanup_level=TEST
    |
    | *** Test Cases ***
    | Server Survives A Reboot
    |     `Cloud Should Be Healthy`
    |     ${server} =    `Create Server`
    |     `Reboot Server`    ${server}
    |     `Server Status Should Be`    ${server}    ACTIVE
    |     # the server is deleted when the test ends, pass or fail

    Survivors are resources that must outlive a change (an upgrade rolled out with the
    Changes library): `Create Survivors` makes one of each kind before it, and
    `Survivors Should Be Intact` checks each is there, unchanged and usable after it;
    with a ``data_plane`` in the target, the data plane's guests are survivors too, and
    must still answer on each path after the change.

    = The data plane =

    `Boot Data Plane Guests` boots, once per run, what the tenants' users would feel:
    two tenant networks joined by a router with its gateway on the external network, one
    guest on each, a floating IP on the first, ICMP and the TCP echo port let in (all from
    the target's ``data_plane`` section), and waits until each path answers. It returns
    the paths for the Monitor's `Start Probing Data Plane`: ``north-south`` (the users'
    namespace to the floating IP) and, where the guests are namespaces the probe can enter
    (the lab), ``east-west`` (from the first guest to the second, through the router).
    Once per run when the run's top-level suite says so (`Keep Data Plane Guests For The
    Run`: the first boot is published, later suites in any pabot process take it over,
    `Delete Data Plane Guests Of The Run` deletes it at the run's end); otherwise once per
    suite, everything deleted when the suite ends (or earlier, under the destructive lock,
    by `Delete Data Plane Guests`). `Get Data Plane Paths`, `Data Plane Guests Should
    Answer`; for the HA router's failover, `Get Node Of Active Router` and `Wait
    Until Router Is Active On Another Node`; for the agents that wire it, `Get Network
    Agent` and `Wait Until Network Agent Has Restarted`. A target without ``data_plane``
    skips the guests' keywords as not applicable.

    | ${paths} = | `Boot Data Plane Guests` |
    | `Start Probing Data Plane` | &{paths} |
    | ${node} = | `Get Node Of Active Router` |

    = What it never does =

    - It never logs a password, token or private key (see `Connection`); a password given
      to `Connect To Cloud` or `Create User` must be a ``Secret``.
    - It never leaves what it created behind on purpose: every resource is tracked and
      deleted when its scope ends, unless `Set Cleanup Level` says MANUAL.
    - Its clean-up never touches what the project did not create: tracked resources are
      deleted by id, and `Purge Leftovers` only names starting with ``xt-`` (sparing this
      run's own by default).

    = Errors =

    Failures name what was expected and what was seen; an API failure carries the HTTP
    status, the method and URL, the API's message and the OpenStack request id, to find
    the request in the services' logs.
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"
    ROBOT_LIBRARY_VERSION = __version__

    def __init__(self, target: str | None = None, cloud: str | None = None,
                 api_timeout: timedelta = timedelta(seconds=30),
                 cleanup_level: CleanupLevel = CleanupLevel.TEST,
                 cleanup_timeout: timedelta = timedelta(minutes=5),
                 prefix: str | None = None, region: str | None = None,
                 http_debug: bool = False):
        """``target`` is a target file (default ``$EXTREME_TARGET``, then the lab's);
        ``cloud`` a clouds.yaml entry that overrides the target's; ``api_timeout`` bounds
        each HTTP call; ``cleanup_level`` and ``cleanup_timeout`` govern the automatic
        clean-up; ``prefix`` replaces ``xt-<run id>-``; ``http_debug`` logs HTTP
        requests (redacted) at DEBUG.
        """
        self.ctx = CloudContext(target, cloud, api_timeout, cleanup_level, prefix, region,
                                http_debug)
        self.cleanup_timeout = cleanup_timeout
        self.data_plane = DataPlaneKeywords(self.ctx)
        super().__init__([ConnectionKeywords(self.ctx), HealthKeywords(self.ctx),
                          ClusterKeywords(self.ctx),
                          RedundancyKeywords(self.ctx), ResourceKeywords(self.ctx),
                          TrackingKeywords(self.ctx), self.data_plane,
                          SurvivorKeywords(self.ctx, self)])
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)  # the one scope listener

    # --- scope hooks (the lifecycle's ScopeListener): clean-up at the end of each scope --

    def scope_started(self, kind: str, name: str, result: Any) -> None:
        self.ctx.tracker.start(kind, name)

    def scope_ended(self, kind: str, name: str, result: Any) -> list[str]:
        self._clean(self.ctx.tracker.end(kind), f"{kind} '{name}'")
        return []

    def run_ended(self) -> None:
        leftovers = [t for s in self.ctx.tracker.scopes for t in s.resources]
        for scope in self.ctx.tracker.scopes:
            scope.resources.clear()
        self._clean(leftovers, "the run", final=True)

    def _clean(self, resources: list[Tracked], where: str, final: bool = False) -> None:
        if not resources:
            return
        try:
            problems = self.ctx.delete_tracked(resources, self.cleanup_timeout)
        except Exception as error:  # noqa: BLE001 - a clean-up must never break the run
            problems = [(t, f"{type(error).__name__}: {error}") for t in resources]
        deleted = len(resources) - len(problems)
        logger.info(f"Clean-up after {where}: deleted {deleted} of {len(resources)} "
                    "resource(s): " + ", ".join(str(t) for t in resources))
        if not problems:
            return
        hint = ("run `Purge Leftovers` (or `extreme` clean-up) once the cloud answers"
                if final else "will try again when the enclosing suite ends")
        logger.warn(f"Clean-up after {where} could not delete {len(problems)} resource(s); "
                    f"{hint}:\n" + "\n".join(f"- {p}" for _, p in problems))
        if not final:
            self.ctx.tracker.adopt(t for t, _ in problems)

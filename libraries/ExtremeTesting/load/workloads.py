"""Workloads an operator recognises, and how one iteration of any workload is timed.

A workload is a callable ``workload(ctx: WorkerContext) -> None | str | dict``: it does one
iteration (issue a token, boot and delete a server...) and raises when it fails. It may
return the request id it saw (``str``) or ``{"status": ..., "request_id": ...}``; otherwise
the request id is the last one the worker's connection received.

Built-in workloads take their parameters from ``ctx.params``; a suite names its own with
``module:function`` (importable on the runner and on every Locust worker).

This module must stay importable inside a Locust (gevent) process: it imports neither
Robot nor Locust, and openstacksdk only when a connection is made.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import ExtremeError
from ..evidence import failures, ids
from .samples import ERROR, OK, TIMEOUT, Sample

Workload = Callable[["WorkerContext"], Any]
REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id", "x-request-id")


class WorkloadError(ExtremeError):
    """A workload iteration failed in a way the cloud reported (status, request id)."""

    def __init__(self, message: str, status: int | None = None, request_id: str = ""):
        super().__init__(message)
        self.status = status
        self.request_id = request_id


@dataclass
class ConnectionSpec:
    """How a worker reaches the cloud: the cloud and clouds.yaml chosen by the one rule of
    ``cloud.connection`` (credentials stay in clouds.yaml/secure.yaml); the process
    environment is never changed."""

    cloud: str = ""
    timeout: float = 30.0
    clouds_yaml: str = ""

    def connect(self) -> Any:
        from ..cloud.connection import ConnectionSettings, connect

        return connect(ConnectionSettings(
            cloud=self.cloud or None, api_timeout=timedelta(seconds=self.timeout),
            clouds_yaml=Path(self.clouds_yaml) if self.clouds_yaml else None))


@dataclass
class WorkerContext:
    """What one worker keeps between its iterations: its connection, names, parameters."""

    worker: int
    prefix: str
    params: dict = field(default_factory=dict)
    connect: Callable[[], Any] | None = None
    iteration: int = 0
    state: dict = field(default_factory=dict)  # a workload's own per-worker memory
    last_status: int | None = None
    last_request_id: str = ""
    _conn: Any = None

    @property
    def conn(self) -> Any:
        if self._conn is None:
            if self.connect is None:
                raise WorkloadError("This workload needs a cloud connection and none was "
                                    "configured: import the Load library with a target or "
                                    "cloud.")
            self._conn = self.connect()
            _watch_responses(self._conn, self)
        return self._conn

    def name(self, kind: str) -> str:
        """A resource name the clean-up will find: prefix, kind, worker, iteration."""
        return f"{self.prefix}{kind}-w{self.worker}-i{self.iteration}-{secrets.token_hex(2)}"

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing must never fail an iteration
                self._conn.close()
            self._conn = None


def _watch_responses(conn: Any, ctx: WorkerContext) -> None:
    """Remember the status and request id of the last response this connection received."""

    def hook(response, *args, **kwargs):
        ctx.last_status = response.status_code
        for header in REQUEST_ID_HEADERS:
            if response.headers.get(header):
                ctx.last_request_id = response.headers[header]
                break
        return response

    try:
        conn.session.session.hooks["response"].append(hook)
    except AttributeError:  # a fake or an unusual session: request ids come from errors only
        pass


def run_iteration(workload: Workload, ctx: WorkerContext, probe: str,
                  scheduled: float | None = None) -> Sample:
    """Run one iteration, timed, and turn whatever happened into a sample."""
    ctx.last_status, ctx.last_request_id = None, ""
    ids.forget()
    wall_start, start = time.time(), time.monotonic()
    outcome, error, status, request_id = OK, "", None, ""
    try:
        returned = workload(ctx)
        if isinstance(returned, str):
            request_id = returned
        elif isinstance(returned, dict):
            status = returned.get("status")
            request_id = returned.get("request_id", "")
    except Exception as exc:  # noqa: BLE001 - every failure is a recorded outcome
        outcome = TIMEOUT if _is_timeout(exc) else ERROR
        error = f"{type(exc).__name__}: {exc}"[:500]
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
        request_id = getattr(exc, "request_id", "") or ""
    end, wall_end = time.monotonic(), time.time()
    if outcome != OK:  # its requests' ids, for the evidence of the case (service logs)
        sent = ids.sent_since_forget()
        failures.record("load", "", probe, sent[0] if sent else "",
                        request_id or ctx.last_request_id or "", status, error,
                        wall_start, tuple(sent[1:]))
    return Sample(probe=probe, seq=ctx.iteration,
                  scheduled=start if scheduled is None else scheduled, start=start, end=end,
                  wall_start=wall_start, wall_end=wall_end, ok=outcome == OK,
                  status=status if status is not None else ctx.last_status, error=error,
                  request_id=request_id or ctx.last_request_id or "",
                  sent_id=ids.last_sent(), outcome=outcome,
                  worker=ctx.worker)


def _is_timeout(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"Timeout", "ConnectTimeout", "ReadTimeout", "TimeoutError",
                         "ResourceTimeout", "ConnectTimeoutError", "ReadTimeoutError"})


def _check(response: Any, what: str) -> dict:
    status = response.status_code
    request_id = next((response.headers[h] for h in REQUEST_ID_HEADERS
                       if response.headers.get(h)), "")
    if status >= 400:
        raise WorkloadError(f"{what}: HTTP {status}", status, request_id)
    return {"status": status, "request_id": request_id}


# --- built-in workloads ------------------------------------------------------------------

def issue_token(ctx: WorkerContext) -> dict:
    """Validate the worker's held token (cheap); every ``login_every``-th iteration of a
    worker logs in again with the password (expensive on the server: bcrypt)."""
    conn = ctx.conn
    login_every = int(ctx.params.get("login_every", 50))
    if "token" not in ctx.state or (login_every and (
            ctx.iteration + ctx.worker * 7) % login_every == 0 and ctx.iteration):
        conn.session.auth.invalidate()
        ctx.state["token"] = conn.session.get_token()
    token = ctx.state["token"]
    response = conn.identity.get("/auth/tokens", headers={"X-Subject-Token": token},
                                 raise_exc=False)
    return _check(response, "validate token")


_LISTERS = {
    "servers": lambda c: c.compute.servers(details=False),
    "images": lambda c: c.image.images(),
    "networks": lambda c: c.network.networks(),
    "ports": lambda c: c.network.ports(),
    "projects": lambda c: c.identity.projects(),
    "flavors": lambda c: c.compute.flavors(),
}


def list_resources(ctx: WorkerContext) -> None:
    """List one kind of resource (``resource``: servers, images, networks, ports,
    projects, flavors; default: a different kind each iteration)."""
    kinds = [k.strip() for k in str(ctx.params.get("resource", ",".join(_LISTERS))).split(",")]
    kind = kinds[ctx.iteration % len(kinds)]
    if kind not in _LISTERS:
        raise WorkloadError(f"Unknown resource '{kind}' to list; known: {', '.join(_LISTERS)}.")
    list(_LISTERS[kind](ctx.conn))


def show_resource(ctx: WorkerContext) -> None:
    """Show one resource by id (``resource``: project — the current one, the default —
    or image, network, flavor: the first one listed)."""
    conn, kind = ctx.conn, str(ctx.params.get("resource", "project"))
    if kind == "project":
        conn.identity.get_project(conn.current_project_id)
        return
    getters = {"image": (conn.image.images, conn.image.get_image),
               "network": (conn.network.networks, conn.network.get_network),
               "flavor": (conn.compute.flavors, conn.compute.get_flavor)}
    if kind not in getters:
        raise WorkloadError(f"Unknown resource '{kind}' to show; known: project, "
                            f"{', '.join(getters)}.")
    key = f"show-{kind}"
    if key not in ctx.state:
        lister, _ = getters[kind]
        first = next(iter(lister()), None)
        if first is None:
            raise WorkloadError(f"No {kind} to show: create one first.")
        ctx.state[key] = first.id
    getters[kind][1](ctx.state[key])


def boot_and_delete_server(ctx: WorkerContext) -> None:
    """Boot a server (``image``, ``flavor``: names or ids, default the first image and the
    smallest flavor; no network — microversion 2.37 ``networks: none``), wait until ACTIVE,
    delete it and wait until it is gone (``wait``: seconds, default 120)."""
    conn, wait = ctx.conn, float(ctx.params.get("wait", 120))
    if "boot" not in ctx.state:
        image = ctx.params.get("image")
        image = conn.image.find_image(image, ignore_missing=False) if image else next(
            iter(conn.image.images()), None)
        flavor = ctx.params.get("flavor")
        flavor = conn.compute.find_flavor(flavor, ignore_missing=False) if flavor else min(
            conn.compute.flavors(), key=lambda f: (f.ram, f.vcpus, f.disk), default=None)
        if image is None or flavor is None:
            raise WorkloadError("Boot and delete needs an image and a flavor; the cloud has "
                                f"image={image and image.id} flavor={flavor and flavor.id}. "
                                "Pass image= and flavor=, or create them.")
        ctx.state["boot"] = (image.id, flavor.id)
    image_id, flavor_id = ctx.state["boot"]
    server = conn.compute.create_server(name=ctx.name("server"), image_id=image_id,
                                        flavor_id=flavor_id, networks="none")
    try:
        conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"],
                                     interval=0.5, wait=wait)
    finally:
        conn.compute.delete_server(server, ignore_missing=True)
    conn.compute.wait_for_delete(server, interval=0.5, wait=wait)


def create_and_delete_network(ctx: WorkerContext) -> None:
    """Create a network and a port on it, then delete both."""
    conn = ctx.conn
    network = conn.network.create_network(name=ctx.name("net"))
    try:
        port = conn.network.create_port(network_id=network.id, name=ctx.name("port"))
        conn.network.delete_port(port, ignore_missing=False)
    finally:
        conn.network.delete_network(network, ignore_missing=True)


def upload_and_delete_image(ctx: WorkerContext) -> None:
    """Upload a small raw image (``size``: bytes, default 64 KiB) and delete it."""
    conn, size = ctx.conn, int(ctx.params.get("size", 65536))
    image = conn.image.create_image(name=ctx.name("image"), data=os.urandom(size),
                                    disk_format="raw", container_format="bare",
                                    allow_duplicates=True)
    conn.image.delete_image(image, ignore_missing=False)


def create_and_delete_project_user(ctx: WorkerContext) -> None:
    """Create a project and a user in it, then delete both."""
    conn = ctx.conn
    domain = ctx.params.get("domain", "default")
    project = conn.identity.create_project(name=ctx.name("project"), domain_id=domain)
    try:
        user = conn.identity.create_user(name=ctx.name("user"), domain_id=domain,
                                         default_project_id=project.id,
                                         password=secrets.token_urlsafe(16))
        conn.identity.delete_user(user, ignore_missing=False)
    finally:
        conn.identity.delete_project(project, ignore_missing=True)


BUILTIN: dict[str, Workload] = {
    "issue token": issue_token,
    "list resources": list_resources,
    "show resource": show_resource,
    "boot and delete server": boot_and_delete_server,
    "create and delete network": create_and_delete_network,
    "upload and delete image": upload_and_delete_image,
    "create and delete project and user": create_and_delete_project_user,
}
CREATES_RESOURCES = {"boot and delete server", "create and delete network",
                     "upload and delete image", "create and delete project and user"}
_ALIASES = {"token": "issue token", "tokens": "issue token", "list": "list resources",
            "show": "show resource", "boot": "boot and delete server",
            "server": "boot and delete server", "network": "create and delete network",
            "image": "upload and delete image", "project": "create and delete project and user"}
# What each built-in workload reads from its parameters, with the values it can take
# (None: any). A parameter it does not read, or a value it cannot take, would otherwise
# show only as every iteration failing (or as the parameter silently ignored).
PARAMETERS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "issue token": {"login_every": None},
    "list resources": {"resource": tuple(_LISTERS)},
    "show resource": {"resource": ("project", "image", "network", "flavor")},
    "boot and delete server": {"image": None, "flavor": None, "wait": None},
    "create and delete network": {},
    "upload and delete image": {"size": None},
    "create and delete project and user": {"domain": None},
}
_IMPORT_LOCK = threading.Lock()


def canonical(name: str) -> str:
    """The built-in workload's name for ``name`` (case, underscores and aliases folded),
    or ``name`` itself for a ``module:function`` workload."""
    if ":" in name:
        return name
    key = " ".join(name.replace("_", " ").replace("-", " ").lower().split())
    return _ALIASES.get(key, key)


def check_params(name: str, params: dict) -> None:
    """Refuses, before a load starts, a parameter the built-in workload ``name`` does not
    read or a value it cannot take; a ``module:function`` workload reads what it likes."""
    key = canonical(name)
    if key not in PARAMETERS:
        return
    known = PARAMETERS[key]
    for param, value in params.items():
        if param not in known:
            takes = ", ".join(f"{p}=" for p in known) or "no parameter"
            raise WorkloadError(f"Workload '{key}' takes {takes}; got {param}={value}. "
                                "Fix the name, or drop it.")
        allowed = known[param]
        # list resources takes several kinds, comma-separated, one per iteration in turn
        values = [v.strip() for v in str(value).split(",")] if key == "list resources" \
            else [str(value)]
        wrong = [v for v in values if allowed is not None and v not in allowed]
        if wrong:
            raise WorkloadError(f"Workload '{key}': {param}={value} is not one it can take "
                                f"({', '.join(wrong)}); expected one of "
                                f"{', '.join(allowed)}.")


def resolve(name: str) -> Workload:
    """A built-in workload by name, or ``module:function``."""
    key = canonical(name)
    if key in BUILTIN:
        return BUILTIN[key]
    if ":" in key:
        module_name, _, attribute = key.partition(":")
        try:
            with _IMPORT_LOCK:
                module = importlib.import_module(module_name)
            function = getattr(module, attribute)
        except (ImportError, AttributeError) as error:
            raise WorkloadError(f"Workload '{name}': cannot import it ({error}). Expected "
                                "'package.module:function' importable on the runner and "
                                "on every Locust worker.") from None
        if not callable(function):
            raise WorkloadError(f"Workload '{name}' is not callable.")
        return function
    raise WorkloadError(f"Unknown workload '{name}'. Built-in: {', '.join(BUILTIN)}; or "
                        "name your own as 'module:function'.")

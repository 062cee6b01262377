"""A small in-memory OpenStack for the Cloud library's unit tests (and checks of it).

Proxies answer ``create_X``, ``get_X``, ``find_X``, ``delete_X`` and ``Xs`` for the kinds
they hold; servers build and delete over a few polls, like a real cloud's. Any call can
be made to fail with ``cloud.fail_on(proxy, method, error)``.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from openstack import exceptions as sdk

_IDS = itertools.count(1)


class Obj:
    """An SDK-resource-like object: attributes, and .get for dict-style use."""

    def __init__(self, **attrs: Any):
        self.__dict__.update(attrs)

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    def __repr__(self) -> str:
        return f"Obj({self.__dict__})"


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def http_error(status: int, message: str, request_id: str = "req-fake-1") -> sdk.HttpException:
    cls = {404: sdk.NotFoundException, 409: sdk.ConflictException}.get(status,
                                                                        sdk.HttpException)
    error = cls(message=f"{cls.__name__}: {status}", details=message)
    error.status_code, error.request_id = status, request_id
    error.method, error.url = "POST", "http://198.18.0.100:8774/v2.1/servers"
    return error


class Proxy:
    def __init__(self, cloud: FakeCloud, name: str, kinds: tuple[str, ...]):
        self._cloud, self._name, self._kinds = cloud, name, kinds

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        verb, _, kind = method.partition("_")
        if kind not in self._kinds:
            verb, kind = "list", method[:-1]
            if kind not in self._kinds:
                raise AttributeError(f"fake {self._name} proxy has no {method}")

        def call(*args: Any, **kwargs: Any) -> Any:
            self._cloud.calls.append((self._name, method, args, kwargs))
            failure = self._cloud.failures.get((self._name, method))
            if failure is not None:
                if failure[1] is not None:
                    failure[1] -= 1
                    if failure[1] <= 0:
                        del self._cloud.failures[(self._name, method)]
                raise failure[0]
            return getattr(self._cloud, f"_{verb}")(kind, *args, **kwargs)
        return call


@dataclass
class FakeCloud:
    build_polls: int = 1  # get_server calls a server stays in BUILD
    delete_polls: int = 1  # find_server calls a deleted server still shows
    end_status: str = "ACTIVE"
    volumes: bool = False
    store: dict[str, dict[str, Obj]] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)
    failures: dict[tuple[str, str], list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.compute = Proxy(self, "compute",
                             ("server", "flavor", "keypair", "service", "hypervisor"))
        self.network = Proxy(self, "network", ("network", "subnet", "port", "agent", "router",
                                                "ip", "security_group"))
        self.image = Proxy(self, "image", ("image",))
        self.identity = Proxy(self, "identity", ("project", "user"))
        self.block_storage = Proxy(self, "block_storage", ("volume", "service"))
        self.session = FakeSession(self)
        for kind in ("server", "flavor", "keypair", "service", "hypervisor", "network",
                     "subnet", "port", "agent", "image", "project", "user", "volume",
                     "router", "ip", "security_group"):
            self.store.setdefault(kind, {})
        self.add("flavor", name="m1.small", ram=2048, vcpus=1, disk=1)
        self.add("flavor", name="m1.nano", ram=64, vcpus=1, disk=0)
        self.add("image", name="cirros", status="active", size=1000)
        for binary, host in (("nova-conductor", "ctl1"), ("nova-scheduler", "ctl1"),
                             ("nova-compute", "cmp1")):
            self.add("service", name=binary, binary=binary, host=host, state="up",
                     status="enabled", updated_at="2024-01-01T00:00:00", zone="nova")
        self.add("hypervisor", name="cmp1", state="up", status="enabled",
                 hypervisor_type="fake")
        self.service_catalog = self.catalog()

    def catalog(self) -> list[dict[str, Any]]:
        def entry(kind: str, url: str) -> dict[str, Any]:
            return {"type": kind, "name": kind, "endpoints": [
                {"interface": "public", "region": "RegionOne", "url": url}]}
        entries = [entry("identity", "http://198.18.0.100:5000/v3"),
                   entry("compute", "http://198.18.0.100:8774/v2.1"),
                   entry("image", "http://198.18.0.100:9292"),
                   entry("network", "http://198.18.0.100:9696")]
        if self.volumes:
            entries.append(entry("block-storage",
                                 "http://198.18.0.100:8776/v3/" + "a" * 32))
        return entries

    # --- test helpers ---------------------------------------------------------------

    def add(self, kind: str, **attrs: Any) -> Obj:
        attrs.setdefault("id", str(uuid.uuid4()))
        attrs.setdefault("created_at", "2024-01-01T00:00:00Z")
        obj = Obj(**attrs)
        self.store[kind][obj.id] = obj
        return obj

    def named(self, prefix: str) -> list[tuple[str, str]]:
        return sorted((kind, o.name) for kind, objs in self.store.items()
                      for o in objs.values() if str(o.get("name", "")).startswith(prefix))

    def fail_on(self, proxy: str, method: str, error: Exception, times: int | None = None
                ) -> None:
        self.failures[(proxy, method)] = [error, times]

    def authorize(self) -> str:
        return "fake-token"

    # --- verbs ----------------------------------------------------------------------

    def _lookup(self, kind: str, name_or_id: Any) -> Obj | None:
        key = getattr(name_or_id, "id", name_or_id)
        objs = self.store[kind]
        if key in objs:
            return objs[key]
        return next((o for o in objs.values() if o.get("name") == key), None)

    def _create(self, kind: str, *args: Any, **attrs: Any) -> Obj:
        if args:
            attrs["name"] = args[0]
        attrs.pop("data", None)
        if kind == "server":
            attrs.update(status="BUILD", polls=self.build_polls, task_state="spawning")
        elif kind == "volume":
            attrs.update(status="creating")
        elif kind == "image":
            attrs.update(status="active")
        if kind == "keypair":
            attrs["id"] = attrs["name"]
        if kind == "user":
            # Like openstacksdk: the created object keeps the password it was sent;
            # Keystone itself never returns it.
            stored = self.add(kind, **{k: v for k, v in attrs.items() if k != "password"})
            return Obj(**{**stored.__dict__, "password": attrs.get("password")})
        if kind == "server":
            # Nova's create answer carries a generated admin password; later reads do not.
            stored = self.add(kind, **attrs)
            return Obj(**{"admin_password": "Gener4ted-AdminPass", **stored.__dict__})
        return self.add(kind, **attrs)

    def _get(self, kind: str, name_or_id: Any) -> Obj:
        obj = self._lookup(kind, name_or_id)
        if obj is None or obj.get("deleting") is not None and obj.deleting <= 0:
            raise http_error(404, f"{kind} {name_or_id} could not be found.")
        if kind == "server" and obj.status == "BUILD":
            obj.polls -= 1
            if obj.polls < 0:
                obj.status, obj.task_state = self.end_status, None
                if self.end_status == "ERROR":
                    obj.fault = {"code": 500, "message": "No valid host was found."}
        if kind == "volume" and obj.status == "creating":
            obj.status = "available"
        return obj

    def _find(self, kind: str, name_or_id: Any, ignore_missing: bool = True, **_: Any
              ) -> Obj | None:
        obj = self._lookup(kind, name_or_id)
        if obj is not None and obj.get("deleting") is not None:
            obj.deleting -= 1
            if obj.deleting < 0:
                del self.store[kind][obj.id]
                obj = None
        if obj is None and not ignore_missing:
            raise http_error(404, f"No {kind} found for {name_or_id}")
        return obj

    def _delete(self, kind: str, name_or_id: Any, ignore_missing: bool = True) -> None:
        obj = self._lookup(kind, name_or_id)
        if obj is None:
            if ignore_missing:
                return
            raise http_error(404, f"{kind} {name_or_id} could not be found.")
        if kind in ("server", "volume") and self.delete_polls:
            if obj.get("deleting") is None:
                obj.deleting = self.delete_polls
            return
        del self.store[kind][obj.id]

    def _list(self, kind: str, **_: Any) -> list[Obj]:
        return [o for o in list(self.store[kind].values())
                if o.get("deleting") is None or o.deleting > 0]

    def _stop(self, kind: str, name_or_id: Any) -> None:
        self._lookup(kind, name_or_id).status = "SHUTOFF"

    def _start(self, kind: str, name_or_id: Any) -> None:
        self._lookup(kind, name_or_id).status = "ACTIVE"

    def _reboot(self, kind: str, name_or_id: Any, mode: str) -> None:
        self._lookup(kind, name_or_id).status = "ACTIVE"

    def _set(self, kind: str, *args: Any, **kwargs: Any) -> None:  # set_tags
        resource, tags = args
        resource.tags = tags


class FakeResponse:
    def __init__(self, status: int, document: Any):
        self.status_code, self._document = status, document
        self.headers = {"x-openstack-request-id": "req-version"}

    def json(self) -> Any:
        return self._document


class FakeSession:
    def __init__(self, cloud: FakeCloud):
        self.cloud = cloud
        self.down: set[str] = set()

    def get(self, url: str, **kwargs: Any) -> FakeResponse:
        assert kwargs.get("timeout"), "every call needs a timeout"
        assert kwargs.get("authenticated") is False
        if any(part in url for part in self.down):
            from keystoneauth1 import exceptions as ksa
            raise ksa.ConnectFailure(f"Unable to establish connection to {url}")
        if ":8774" in url:
            return FakeResponse(200, {"version": {"id": "v2.1", "status": "CURRENT",
                                                  "version": "2.93", "min_version": "2.1"}})
        if ":5000" in url:
            return FakeResponse(200, {"version": {"id": "v3.14", "status": "stable"}})
        return FakeResponse(300, {"versions": [{"id": "v2.0", "status": "SUPPORTED"},
                                               {"id": "v2.16", "status": "CURRENT"}]})


# --- checks of the fake itself (so the other tests stand on something true) ---------

def test_fake_server_builds_then_deletes_over_polls():
    cloud = FakeCloud(build_polls=1, delete_polls=1)
    server = cloud.compute.create_server(name="s", flavor_id="f", image_id="i",
                                         networks="none")
    assert cloud.compute.get_server(server.id).status == "BUILD"
    assert cloud.compute.get_server(server.id).status == "ACTIVE"
    cloud.compute.delete_server(server.id, ignore_missing=True)
    assert cloud.compute.find_server(server.id) is not None
    assert cloud.compute.find_server(server.id) is None
    with pytest.raises(sdk.NotFoundException):
        cloud.compute.get_server(server.id)


def test_fake_failure_injection_counts_down():
    cloud = FakeCloud()
    cloud.fail_on("network", "create_network", http_error(500, "boom"), times=1)
    with pytest.raises(sdk.HttpException):
        cloud.network.create_network(name="n")
    assert cloud.network.create_network(name="n").name == "n"

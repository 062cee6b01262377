"""Clean-up by prefix, and the built-in workloads, against a fake openstacksdk connection."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from ExtremeTesting.load.cleanup import CleanupError, clean_up, leftovers
from ExtremeTesting.load.workloads import (
    WorkerContext,
    WorkloadError,
    canonical,
    resolve,
    run_iteration,
)

_ids = itertools.count(1)


class FakeCloud:
    """Just enough of openstacksdk's proxies: resources live in dicts by kind."""

    def __init__(self):
        self.store: dict[str, dict[str, SimpleNamespace]] = {
            k: {} for k in ("server", "port", "network", "image", "user", "project", "flavor")}
        self.calls: list[str] = []
        self.fail_delete: set[str] = set()
        self.compute = SimpleNamespace(
            servers=lambda **kw: list(self.store["server"].values()),
            delete_server=lambda r, ignore_missing=True: self._delete("server", r),
            find_server=lambda i, ignore_missing=True: self.store["server"].get(i),
            create_server=lambda **kw: self._create("server", **kw),
            wait_for_server=lambda server, **kw: self.calls.append("wait active"),
            wait_for_delete=lambda server, **kw: self.calls.append("wait gone"),
            flavors=lambda: list(self.store["flavor"].values()),
            find_flavor=lambda name, ignore_missing=False: self.store["flavor"][name])
        self.network = SimpleNamespace(
            ports=lambda: list(self.store["port"].values()),
            networks=lambda: list(self.store["network"].values()),
            delete_port=lambda r, ignore_missing=True: self._delete("port", r),
            delete_network=lambda r, ignore_missing=True: self._delete("network", r),
            create_network=lambda **kw: self._create("network", **kw),
            create_port=lambda **kw: self._create("port", **kw))
        self.image = SimpleNamespace(
            images=lambda: list(self.store["image"].values()),
            delete_image=lambda r, ignore_missing=True: self._delete("image", r),
            create_image=lambda **kw: self._create("image", **kw))
        self.identity = SimpleNamespace(
            users=lambda: list(self.store["user"].values()),
            projects=lambda: list(self.store["project"].values()),
            delete_user=lambda r, ignore_missing=True: self._delete("user", r),
            delete_project=lambda r, ignore_missing=True: self._delete("project", r),
            create_user=lambda **kw: self._create("user", **kw),
            create_project=lambda **kw: self._create("project", **kw))

    def _create(self, kind, **kw):
        resource = SimpleNamespace(id=f"{kind}-{next(_ids)}", **kw)
        self.store[kind][resource.id] = resource
        self.calls.append(f"create {kind}")
        return resource

    def _delete(self, kind, resource):
        resource = self.store[kind].get(getattr(resource, "id", resource))
        if resource is None:
            return
        if resource.name in self.fail_delete:
            raise RuntimeError(f"HTTP 409 deleting {resource.name}")
        self.store[kind].pop(resource.id, None)
        self.calls.append(f"delete {kind}")

    def add(self, kind, name, **kw):
        return self._create(kind, name=name, **kw)

    def names(self, kind):
        return sorted(r.name for r in self.store[kind].values())


def test_clean_up_deletes_only_the_prefix_in_dependency_order():
    cloud = FakeCloud()
    for kind in ("project", "user", "image", "network", "port", "server"):
        cloud.add(kind, f"xload-ab12-1-{kind}-w0")
        cloud.add(kind, f"production-{kind}")
    cloud.calls.clear()
    report = clean_up(cloud, "xload-ab12-1-", wait=1)
    assert report.clean and report.count == 6
    assert [c for c in cloud.calls if c.startswith("delete")] == [
        "delete server", "delete port", "delete network", "delete image", "delete user",
        "delete project"]
    for kind in ("project", "user", "image", "network", "port", "server"):
        assert cloud.names(kind) == [f"production-{kind}"]


def test_clean_up_reports_what_it_could_not_delete():
    cloud = FakeCloud()
    cloud.add("network", "xload-ab12-2-net-a")
    cloud.add("network", "xload-ab12-2-net-b")
    cloud.fail_delete = {"xload-ab12-2-net-b"}
    report = clean_up(cloud, "xload-ab12-2-", wait=1)
    assert not report.clean
    assert report.deleted == {"network": ["xload-ab12-2-net-a"]}
    assert "HTTP 409" in report.failed["network xload-ab12-2-net-b"]
    assert report.remaining == ["network xload-ab12-2-net-b"]
    assert leftovers(cloud, "xload-ab12-2-") == ["network xload-ab12-2-net-b"]
    assert "Still there: network xload-ab12-2-net-b" in report.describe()


def test_clean_up_refuses_a_prefix_that_could_match_anything():
    with pytest.raises(CleanupError, match="too short"):
        clean_up(FakeCloud(), "x")


def _ctx(cloud, **params):
    return WorkerContext(worker=2, prefix="xload-ab12-3-", params=params,
                         connect=lambda: cloud)


@pytest.mark.parametrize("workload, created", [
    ("create and delete network", ["create network", "create port"]),
    ("upload and delete image", ["create image"]),
    ("create and delete project and user", ["create project", "create user"]),
])
def test_create_and_delete_workloads_leave_nothing(workload, created):
    cloud = FakeCloud()
    sample = run_iteration(resolve(workload), _ctx(cloud), workload)
    assert sample.ok, sample.error
    assert [c for c in cloud.calls if c.startswith("create")] == created
    assert all(not items for items in cloud.store.values())


def test_boot_and_delete_uses_no_network_and_the_smallest_flavor():
    cloud = FakeCloud()
    cloud.add("image", "cirros")
    cloud.add("flavor", "big", ram=4096, vcpus=2, disk=20)
    small = cloud.add("flavor", "tiny", ram=64, vcpus=1, disk=1)
    ctx = _ctx(cloud)
    servers = []
    create = cloud.compute.create_server
    cloud.compute.create_server = lambda **kw: servers.append(kw) or create(**kw)
    sample = run_iteration(resolve("boot"), ctx, "boot and delete server")
    assert sample.ok, sample.error
    assert servers[0]["networks"] == "none" and servers[0]["flavor_id"] == small.id
    assert servers[0]["name"].startswith("xload-ab12-3-server-w2-i0-")
    assert cloud.calls[-3:] == ["wait active", "delete server", "wait gone"]
    assert not cloud.store["server"]


def test_a_half_done_iteration_is_found_by_the_clean_up():
    cloud = FakeCloud()

    def port_fails(**kw):
        raise RuntimeError("HTTP 500 creating port")

    cloud.network.create_port = port_fails
    cloud.network.delete_network = lambda r, ignore_missing=True: None  # delete lost too
    sample = run_iteration(resolve("network"), _ctx(cloud), "create and delete network")
    assert not sample.ok and "HTTP 500" in sample.error
    assert len(cloud.store["network"]) == 1
    cloud.network.delete_network = lambda r, ignore_missing=True: cloud._delete("network", r)
    assert clean_up(cloud, "xload-ab12-3-", wait=1).count == 1
    assert not cloud.store["network"]


def test_names_and_aliases():
    assert canonical("Issue_Token") == "issue token"
    assert canonical("token") == "issue token"
    assert canonical("pkg.mod:fn") == "pkg.mod:fn"
    with pytest.raises(WorkloadError, match="cannot import it"):
        resolve("no_such_module_xyz:fn")
    with pytest.raises(WorkloadError, match="Unknown workload 'dance'"):
        resolve("dance")

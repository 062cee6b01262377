"""The data plane's guests once per run: booted by the run's first suite, published (a fake
of PabotLib's parallel values stands for pabot's server: each Cloud instance below is one
pabot process), taken over by the later suites, deleted once at the run's end; and
per-suite as before when no run keeps them. Last, a real pabot run of two dummy suites
with the project's suites/__init__.robot (a fake keyword library for the Cloud library):
its `Run Teardown Only Once` deletes once, last."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ExtremeTesting.cloud import dataplane, tracking
from ExtremeTesting.cloud.keywords import tracking as tracking_keywords
from ExtremeTesting.cloud.apierrors import CloudError
from openstack import exceptions as sdk

sys.path.insert(0, str(Path(__file__).parent))
from test_dataplane_fixture import FakeNeutronNovaGlance, library  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
KEY = "extreme-testing:data-plane-guests:operator"  # the BOOT target's name
LEFT = ("server", "router", "subnet", "ip", "security_group")


class FakePabot:
    """PabotLib's parallel values, as its server keeps them for every process."""

    def __init__(self):
        self.values: dict[str, str] = {}
        self.sets: list[str] = []

    def get_parallel_value_for_key(self, key):
        return self.values.get(key, "")

    def set_parallel_value_for_key(self, key, value):
        self.sets.append(key)
        self.values[key] = value


def process(tmp_path, conn, pabot, suite="Suite"):
    """One pabot process: the top-level suite keeps the guests for the run, then a suite."""
    cloud, conn, asked = library(tmp_path, conn=conn)
    cloud.ctx.tracker.scopes[1].name = suite
    cloud.data_plane.pabot = pabot
    cloud.keep_data_plane_guests_for_the_run()
    return cloud, asked


def deletes(conn) -> int:
    return len([c for c in conn.calls if c[0].startswith(("delete_", "remove_"))])


def test_the_second_suite_takes_the_runs_guests_over_without_booting(tmp_path):
    conn, pabot = FakeNeutronNovaGlance(), FakePabot()
    first, _ = process(tmp_path, conn, pabot, "Switch Restart")
    paths = first.boot_data_plane_guests()
    assert len(conn.names("create_server")) == 2 and pabot.sets == [KEY]
    record = json.loads(pabot.values[KEY])
    assert record["state"] == "booted" and record["fixture"]["paths"] == paths
    assert sorted(t["kind"] for t in record["resources"]) == sorted(
        ["security_group", "network", "network", "subnet", "subnet", "router", "server",
         "server", "floating_ip"])
    # The booting process's suite and its whole run end: the run's guests stay.
    first.scope_ended("suite", "Switch Restart", None)
    first.run_ended()
    assert deletes(conn) == 0 and len(conn.items["server"]) == 2

    calls = len(conn.calls)
    second, asked = process(tmp_path, conn, pabot, "Database Outage")
    assert second.boot_data_plane_guests() == paths
    assert len(conn.calls) == calls  # nothing created, nothing looked up: taken over
    assert sorted(asked) == sorted(paths.items())  # ... and waited until they answer
    assert second.get_data_plane_paths() == paths
    assert second.get_node_of_active_router() == "ctl1"  # the published router's
    assert second.get_data_plane_guests_of_the_suite() == []


def test_without_a_run_that_keeps_them_a_suite_boots_and_deletes_its_own(tmp_path):
    conn = FakeNeutronNovaGlance()
    cloud, _, _ = library(tmp_path, conn=conn)
    cloud.data_plane.pabot = FakePabot()  # there, but the top-level suite did not ask
    cloud.boot_data_plane_guests()
    own = cloud.get_data_plane_guests_of_the_suite()
    assert len(own) == 9 and cloud.data_plane.pabot.sets == []
    assert {t.id for t in own} == {t.id for t in cloud.ctx.tracker.suite_scope().resources}
    cloud.delete_data_plane_guests()  # Finish A Destructive Suite
    assert not any(conn.items[k] for k in LEFT)
    assert list(conn.items["network"]) == ["ext-net"]


def test_the_suite_teardown_leaves_the_runs_guests_alone(tmp_path):
    conn, pabot = FakeNeutronNovaGlance(), FakePabot()
    cloud, _ = process(tmp_path, conn, pabot)
    paths = cloud.boot_data_plane_guests()
    assert cloud.get_data_plane_guests_of_the_suite() == []
    cloud.delete_data_plane_guests()  # what Finish A Destructive Suite would call
    cloud.scope_ended("suite", "Suite", None)
    assert deletes(conn) == 0 and len(conn.items["server"]) == 2
    # The next suite of the same process (robot suites) only waits for the answers.
    cloud.ctx.tracker.start("suite", "Next Suite")
    assert cloud.boot_data_plane_guests() == paths
    assert len(conn.names("create_server")) == 2


def test_the_run_teardown_deletes_exactly_the_published_resources_once(tmp_path):
    conn, pabot = FakeNeutronNovaGlance(), FakePabot()
    first, _ = process(tmp_path, conn, pabot, "Switch Restart")
    first.boot_data_plane_guests()
    published = {t["id"] for t in json.loads(pabot.values[KEY])["resources"]}
    other = conn.add("network", name="xt-other-run-net")  # not the run's guests
    last, _ = process(tmp_path, conn, pabot, "Workloads")
    last.delete_data_plane_guests_of_the_run()
    deleted = {c[1][0] for c in conn.calls if c[0].startswith("delete_")}
    assert deleted == published  # each published resource, nothing else
    assert not any(conn.items[k] for k in LEFT)
    assert set(conn.items["network"]) == {"ext-net", other.id}
    assert json.loads(pabot.values[KEY])["state"] == "deleted"
    count = deletes(conn)
    last.delete_data_plane_guests_of_the_run()  # again, or from another process
    first.delete_data_plane_guests_of_the_run()
    assert deletes(conn) == count


def test_what_the_run_teardown_cannot_delete_is_named_with_how_to_purge_it(tmp_path):
    conn, pabot = FakeNeutronNovaGlance(), FakePabot()
    cloud, _ = process(tmp_path, conn, pabot)
    cloud.boot_data_plane_guests()
    error = sdk.ConflictException(message="ConflictException: 409", details="in use")
    error.status_code = 409
    conn.fail["delete_security_group"] = error
    with pytest.raises(CloudError, match=r"(?s)Purge Leftovers.*security_group xt-t-dp-sg-1"):
        cloud.delete_data_plane_guests_of_the_run()
    assert not conn.items["server"] and not conn.items["router"]  # the rest went
    assert json.loads(pabot.values[KEY])["state"] == "deleted"  # not tried twice


def test_a_failed_boot_is_not_tried_again_by_the_later_suites(tmp_path):
    conn, pabot = FakeNeutronNovaGlance(), FakePabot()
    error = sdk.HttpException(message="HttpException: 409", details="Quota exceeded")
    error.status_code = 409
    conn.fail["create_router"] = error
    first, _ = process(tmp_path, conn, pabot, "Switch Restart")
    with pytest.raises(CloudError, match="Creating the data plane's router"):
        first.boot_data_plane_guests()
    record = json.loads(pabot.values[KEY])
    assert record["state"] == "failed" and "Quota exceeded" in record["error"]
    # What the failed boot made is its suite's: Finish A Destructive Suite deletes it.
    assert len(first.get_data_plane_guests_of_the_suite()) == 5
    first.delete_data_plane_guests()
    assert list(conn.items["network"]) == ["ext-net"] and not conn.items["security_group"]
    del conn.fail["create_router"]
    calls = len(conn.calls)
    second, _ = process(tmp_path, conn, pabot, "Database Outage")
    with pytest.raises(CloudError, match=r"could not be booted earlier in this run \(suite "
                                         r".*\), not tried again: .*Quota exceeded"):
        second.boot_data_plane_guests()
    assert len(conn.calls) == calls  # nothing asked of the cloud
    second.delete_data_plane_guests_of_the_run()  # nothing of the run's to delete
    assert len(conn.calls) == calls


def test_plain_robot_keeps_them_in_the_process_and_nothing_left_ignores_them(
        tmp_path, monkeypatch):
    conn = FakeNeutronNovaGlance()
    cloud, _ = process(tmp_path, conn, None)  # no ${PABOTLIBURI}: this process's memory
    paths = cloud.boot_data_plane_guests()
    cloud.scope_ended("suite", "Suite", None)
    cloud.ctx.tracker.start("suite", "Smoke")

    def named(conn, prefix, *args, **kwargs):  # what the cloud lists by name
        return [tracking.Tracked("network" if kind == "ip" else kind, item.id, item.name)
                for kind in ("server", "router", "network", "security_group")
                for item in conn.items[kind].values()
                if str(item.get("name") or "").startswith(prefix)]

    monkeypatch.setattr(tracking_keywords, "find_leftovers", named)
    cloud.ctx.has_volume_service = lambda: False
    assert named(conn, "xt-t-")  # the run's guests are there...
    cloud.no_resources_should_be_left(prefix="xt-t-")  # ... and accounted for
    conn.add("network", name="xt-t-forgotten")
    with pytest.raises(CloudError, match="xt-t-forgotten"):
        cloud.no_resources_should_be_left(prefix="xt-t-")
    cloud.ctx.tracker.start("suite", "Later")
    assert cloud.boot_data_plane_guests() == paths
    assert len(conn.names("create_server")) == 2
    conn.items["network"] = {k: v for k, v in conn.items["network"].items()
                             if v.get("name") != "xt-t-forgotten"}
    cloud.delete_data_plane_guests_of_the_run()
    assert not any(conn.items[k] for k in LEFT)


def test_a_record_set_by_something_else_fails_naming_the_key():
    pabot = FakePabot()
    pabot.values[KEY] = "PASSED"
    with pytest.raises(CloudError, match=f"{KEY}.*not JSON"):
        dataplane.RunGuests(pabot).get(KEY)


# ------------------------------------------------------------------ a real pabot run
FAKE_CLOUD = '''
import json, os
from pabot.pabotlib import PabotLib
from robot.libraries.BuiltIn import BuiltIn
from ExtremeTesting.cloud.dataplane import RunGuests

LOG = os.environ["RUN_GUESTS_LOG"]
KEY = "run-guests"


def _log(line):
    with open(LOG, "a") as out:
        out.write(line + "\\n")


class FakeCloud:
    """The Cloud library's run-level keywords, over the real RunGuests and PabotLib."""
    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self, target=None, api_timeout=None):
        self.run = None

    def keep_data_plane_guests_for_the_run(self):
        self.run = RunGuests(PabotLib() if BuiltIn().get_variable_value("${PABOTLIBURI}")
                             else None)

    def boot_data_plane_guests(self):
        suite = BuiltIn().get_variable_value("${SUITE NAME}")
        if self.run is None:
            _log(f"boot-own {suite}")
        elif self.run.get(KEY) is None:
            self.run.put(KEY, {"state": "booted", "by": suite})
            _log(f"boot {suite}")
        else:
            _log(f"adopt {suite}")

    def delete_data_plane_guests_of_the_run(self):
        record = self.run.get(KEY) if self.run is not None else None
        _log(f"delete {json.dumps(record)}")
'''

SUITE = '''*** Settings ***
Variables    {variables}
Library    pabot.PabotLib
Library    {fake}    ${{TARGET}}    api_timeout=20 s

*** Test Cases ***
Case
    ${{uri}} =    Get Variable Value    ${{PABOTLIBURI}}    ${{EMPTY}}
    IF    $uri    Acquire Lock    ${{DESTRUCTIVE LOCK}}
    Boot Data Plane Guests
    IF    $uri    Release Lock    ${{DESTRUCTIVE LOCK}}
    Sleep    0.3
'''

ORDER = """--suite Suites.A.One
#WAIT
--suite Suites.A.Two
--suite Suites.B.Three
#WAIT
{
--suite Suites.B.Four
}
"""


def test_a_real_pabot_run_deletes_the_runs_guests_once_and_last(tmp_path):
    fake = tmp_path / "FakeCloud.py"
    fake.write_text(FAKE_CLOUD)
    variables = tmp_path / "fake_variables.py"
    variables.write_text("TARGET = 'fake'\nDESTRUCTIVE_LOCK = 'destructive:fake'\n")
    suites = tmp_path / "suites"
    init = (REPO / "suites" / "__init__.robot").read_text(encoding="utf-8")
    init = init.replace("../variables/lab.py", str(variables))
    init = re.sub(r"Library( +)ExtremeTesting\.Cloud", rf"Library\1{fake}", init)
    assert str(fake) in init and str(variables) in init
    (suites / "a").mkdir(parents=True)
    (suites / "b").mkdir()
    (suites / "__init__.robot").write_text(init)
    for name in ("a/one", "a/two", "b/three", "b/four"):
        (suites / f"{name}.robot").write_text(SUITE.format(fake=fake, variables=variables))
    (tmp_path / "order.txt").write_text(ORDER)
    log = tmp_path / "run.log"
    env = {**os.environ, "RUN_GUESTS_LOG": str(log),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(REPO / "libraries"),
                                          os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "pabot.pabot", "--pabotlibport", "0", "--processes", "2",
         "--ordering", str(tmp_path / "order.txt"), "--outputdir", str(tmp_path / "out"),
         str(suites)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = log.read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == ["adopt"] * 3 + ["boot", "delete"]
    assert lines[-1] == 'delete {"state": "booted", "by": "Suites.A.One"}'
    # pabot also ran Run Teardown Only Once in the item before the final { } group: the
    # guard in __init__.robot kept it from deleting.
    merged = (tmp_path / "out" / "output.xml").read_text(encoding="utf-8")
    assert "Not the run's last pabot item (Suites)" in merged

    # The same tree run by robot alone: one boot, the same deletion at its end.
    log.unlink()
    result = subprocess.run([sys.executable, "-m", "robot", "--outputdir",
                             str(tmp_path / "alone"), str(suites)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:]
    assert [line.split()[0] for line in log.read_text().splitlines()] == [
        "boot", "adopt", "adopt", "adopt", "delete"]
    # A suite file run on its own: no __init__.robot, its own guests.
    log.unlink()
    result = subprocess.run([sys.executable, "-m", "robot", "--outputdir",
                             str(tmp_path / "one"),
                             str(suites / "a" / "one.robot")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:]
    assert log.read_text().split() == ["boot-own", "One"]

"""`Roll Out Change`'s order of steps (issue 24 item 5), with fakes: drain, wait drained,
apply, restart, serve, settle, return (the gate), up; then the next node. A failure at each
step: what is undone at once, and the later node that is never touched."""

from __future__ import annotations

import pytest

from ExtremeTesting.changes.gate import GateError
from ExtremeTesting.changes.kinds import ConfigChange, PackageChange, RestartOnly
from ExtremeTesting.changes.rollout import STEPS, RollOutError, roll_out


class Boom(Exception):
    pass


class FakeOps:
    """Records every step per node; ``fail`` = (step, node) raises there; ``restarts``:
    the change restarts the service itself (as a package change does)."""

    def __init__(self, fail=None, restarts=False):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail
        self.restarts = restarts
        self.undone: list[str] = []

    def _do(self, step, node):
        self.calls.append((step, node))
        if self.fail == (step, node):
            if step == "return":
                raise GateError(f"2 of 9 real requests to keystone on {node} failed. {node} is "
                                f"out of rotation again; its change undone: config")
            raise Boom(f"{step} broke on {node}")

    def drain(self, node):
        self._do("drain", node)

    def wait_drained(self, node):
        self._do("wait drained", node)

    def cpu_use(self, node):
        return 0.5

    def apply(self, node):
        self._do("apply", node)

    def restarted_since(self, node, since):
        return self.restarts

    def restart(self, node):
        self._do("restart", node)

    def wait_serving(self, node):
        self._do("serve", node)

    def settle(self, node, before):
        assert before == 0.5  # measured drained, before the change
        self._do("settle", node)

    def return_node(self, node):
        self._do("return", node)

    def wait_up(self, node):
        self._do("up", node)

    def undo_changes_of(self, node):
        self.undone.append(node)
        return f"[token] expiration on {node}"


def test_every_node_in_order_each_step_in_order():
    ops = FakeOps()
    marks = []
    roll_out("keystone", ["ctl1", "ctl2"], ops, lambda what, node: marks.append((what, node)))
    assert ops.calls == [(s, "ctl1") for s in STEPS] + [(s, "ctl2") for s in STEPS]
    assert marks == [("apply", "ctl1"), ("serves", "ctl1"), ("up in load balancer", "ctl1"),
                     ("apply", "ctl2"), ("serves", "ctl2"), ("up in load balancer", "ctl2")]
    assert ops.undone == []


def test_a_change_that_restarted_the_service_is_not_restarted_again():
    ops = FakeOps(restarts=True)
    roll_out("nova-api", ["ctl1"], ops)
    assert [s for s, _ in ops.calls] == [s for s in STEPS if s != "restart"]


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_each_step_stops_at_that_node_and_never_touches_the_next(step):
    ops = FakeOps(fail=(step, "ctl1"))
    with pytest.raises((RollOutError, GateError)) as stopped:
        roll_out("keystone", ["ctl1", "ctl2", "ctl3"], ops)
    message = str(stopped.value)
    assert message.startswith("Roll-out of keystone stopped at ctl1")
    assert message.endswith(" ctl2, ctl3 not touched.")
    # the steps up to the failed one, in order, on ctl1 only
    assert ops.calls == [(s, "ctl1") for s in STEPS[:STEPS.index(step) + 1]]
    assert not any(node != "ctl1" for _, node in ops.calls)
    if step in ("apply", "restart", "serve", "settle"):
        # still out of rotation: its change undone at once, the node stays drained
        assert ops.undone == ["ctl1"]
        assert f"ctl1 ({step}): {step} broke on ctl1. ctl1 stays out of rotation; its change " \
               f"undone: [token] expiration on ctl1." in message
    elif step == "return":
        # the gate drained it again and undid its change itself
        assert ops.undone == [] and type(stopped.value) is GateError
        assert "out of rotation again; its change undone" in message
    elif step == "up":
        assert ops.undone == [] and "ctl1 passed the gate; nothing undone." in message
    else:  # drain, wait drained: nothing changed yet; the drain goes at the test's end
        assert ops.undone == []
        assert "Nothing was changed on ctl1; its drain is undone when the test ends." \
            in message


def test_a_failure_on_the_second_node_leaves_the_first_done_and_the_third_untouched():
    ops = FakeOps(fail=("serve", "ctl2"))
    with pytest.raises(RollOutError, match=r"stopped at ctl2 \(serve\).* ctl3 not touched\."):
        roll_out("keystone", ["ctl1", "ctl2", "ctl3"], ops)
    assert [n for _, n in ops.calls].count("ctl1") == len(STEPS)
    assert ("drain", "ctl3") not in ops.calls and ops.undone == ["ctl2"]


def test_the_last_node_failing_names_no_untouched_node():
    ops = FakeOps(fail=("apply", "ctl2"))
    with pytest.raises(RollOutError) as stopped:
        roll_out("keystone", ["ctl1", "ctl2"], ops)
    assert "not touched" not in str(stopped.value)


# -- what a prepared change does on one node
class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def test_a_config_change_sets_each_option_and_restarts_the_rolled_out_service_by_default():
    library = Recorder()
    change = ConfigChange("/etc/keystone/keystone.conf", "token",
                          (("caching", "false"), ("cache_on_issue", "false")))
    change.apply(library, "ctl1", "keystone")
    assert library.calls == [
        ("set_config_option", ("ctl1", "/etc/keystone/keystone.conf", "token", o, "false"),
         {"services": ["keystone"]}) for o in ("caching", "cache_on_issue")]
    assert change.describe() == \
        "[token] caching = false, cache_on_issue = false in /etc/keystone/keystone.conf"


def test_package_changes_and_a_restart_only():
    library = Recorder()
    PackageChange(("keystone=2",), downgrade=True).apply(library, "ctl1", "keystone")
    PackageChange(("keystone=3",)).apply(library, "ctl2", "keystone")
    RestartOnly().apply(library, "ctl1", "keystone")
    assert library.calls == [("downgrade_package", ("ctl1", "keystone=2"), {}),
                             ("upgrade_package", ("ctl2", "keystone=3"), {})]


# -- through Robot: a prepared change passes Robot's argument conversion as the object
SUITE = """\
*** Settings ***
Library    ExtremeTesting.Changes    ${TARGET}

*** Test Cases ***
A Prepared Change Reaches Roll Out Change As An Object
    ${change} =    Prepare Config Change    /etc/keystone/keystone.conf    token
    ...    caching=false    cache_on_issue=false    services=keystone
    Should Be Equal    ${change.options}    ${{(("caching", "false"), ("cache_on_issue", "false"))}}
    Should Be Equal    ${change.services}    ${{("keystone",)}}
    Run Keyword And Expect Error    Unknown service 'nova' or it runs on no node*
    ...    Roll Out Change    nova    ${change}
    ${upgrade} =    Prepare Package Upgrade    keystone=2    python3-keystone=2
    Should Be Equal    ${upgrade.pairs}    ${{("keystone=2", "python3-keystone=2")}}

The Old Form Still Reaches It
    Run Keyword And Expect Error    Unknown service 'nova' or it runs on no node*
    ...    Roll Out Change    nova    Set Config Option    /etc/x.conf    a    b    c
"""


def test_robot_passes_a_prepared_change_to_roll_out_change(tmp_path):
    import yaml
    from robot import run
    from robot.api import ExecutionResult

    target = tmp_path / "target.yaml"
    target.write_text(yaml.safe_dump({
        "name": "fake", "destructive": False, "nodes": {"ctl1": {"address": "192.0.2.11"}},
        "services": {"keystone": {"nodes": ["ctl1"], "port": 5000}}}))
    suite = tmp_path / "prepared.robot"
    suite.write_text(SUITE)
    output = tmp_path / "output.xml"
    run(str(suite), variable=[f"TARGET:{target}"], output=str(output), log="NONE",
        report="NONE", stdout=open(tmp_path / "out.txt", "w"))
    result = ExecutionResult(str(output))
    failed = [f"{t.name}: {t.message}" for t in result.suite.tests if t.status != "PASS"]
    assert failed == []
    assert result.suite.statistics.passed == 2
    warnings = [m.message for m in result.errors.messages if m.level == "WARN"]
    assert any("deprecated until 1.0" in w for w in warnings)

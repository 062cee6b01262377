"""The roll-out gate's settle window starts once the node answered every kind of request."""

from ExtremeTesting.changes import gate
from ExtremeTesting.monitor.probes import Outcome


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedProbe:
    """Answers from a script of booleans (then ``then``); each request takes 0.05 s."""

    def __init__(self, name, clock, script, then=True):
        self.name, self.clock, self.script, self.then = name, clock, list(script), then

    def check(self):
        self.clock.now += 0.05
        ok = self.script.pop(0) if self.script else self.then
        return Outcome(ok=ok, status=200 if ok else None,
                       error="" if ok else "timeout after 1 s", request_id="req-x")


def _run(probes, clock, window=5.0):
    result = gate.GateResult("ctl1", "nova-api", "http://198.18.0.11:8774/v2.1", window)
    return gate.run(probes, result, interval=0.5, clock=clock, sleep=clock.sleep)


def test_a_slow_first_request_is_warm_up_and_the_window_then_decides():
    clock = Clock()
    probes = [ScriptedProbe("read-servers", clock, [False]),
              ScriptedProbe("version-compute", clock, [])]
    found = _run(probes, clock)
    assert found.ok, found.describe()
    assert found.warmed and not found.failures
    assert [f["probe"] for f in found.warmup] == ["read-servers"]
    # the settle window is a whole window after the first clean round
    assert clock.now >= 5.0 + 0.5


def test_a_node_that_never_answers_every_kind_fails_naming_what_failed():
    clock = Clock()
    probes = [ScriptedProbe("token", clock, [], then=False),
              ScriptedProbe("version-identity", clock, [])]
    found = _run(probes, clock, window=2.0)
    assert not found.ok and not found.warmed
    text = found.describe()
    assert "did not answer every kind of real request once within 2 s" in text
    assert "token: timeout after 1 s" in text
    assert clock.now < 2.0 + 1.0  # bounded by the window (plus one round)


def test_a_failure_inside_the_settle_window_stops_the_roll_out():
    clock = Clock()
    # clean first round (the warm-up ends), then a failure three rounds later
    probes = [ScriptedProbe("read-servers", clock, [True, True, True, False])]
    found = _run(probes, clock)
    assert found.warmed and not found.ok
    assert len(found.failures) == 1 and not found.warmup
    assert found.describe().startswith("1 of ")


def test_a_broken_node_is_known_early():
    clock = Clock()
    probes = [ScriptedProbe("token", clock, [], then=False)]
    found = _run(probes, clock, window=60.0)
    assert not found.ok
    assert len(found.warmup) == gate.MAX_FAILURES
    assert clock.now < 10.0

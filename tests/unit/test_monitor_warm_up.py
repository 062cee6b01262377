"""The monitor warms each read probe once before its timeline: a cold first request of
our own new token is not an error users felt."""

from dataclasses import dataclass, field

from ExtremeTesting.monitor.probes import Outcome, Probe
from ExtremeTesting.monitor.session import MonitorSession, warm_up


@dataclass
class ColdProbe(Probe):
    """Fails its first request (a cold cache), then answers."""

    calls: list = field(default_factory=list)

    def check(self) -> Outcome:
        self.calls.append(len(self.calls))
        if len(self.calls) == 1:
            return Outcome(False, None, "timeout after 1 s")
        return Outcome(True, 200)


def test_warm_up_sends_each_probe_once_and_reports_what_failed():
    cold, warm = ColdProbe("read-networks"), ColdProbe("version-network")
    warm.calls.append(0)  # already warm: its next answer is good
    found = warm_up([cold, warm])
    assert found == {"requests": 2, "failed": {"read-networks": "timeout after 1 s"}}
    assert len(cold.calls) == 1 and len(warm.calls) == 2


def test_the_cold_request_is_not_a_sample_of_the_timeline():
    probe = ColdProbe("read-networks", rate=20.0)
    session = MonitorSession("warm", [probe], settle=0.0)
    session.start()
    try:
        session.wait_for_baseline(0.2, deadline=5.0)
    finally:
        result = session.stop(settle=0.0, draw=False)
    assert result["warm_up"]["failed"] == {"read-networks": "timeout after 1 s"}
    samples = result["probes"]["read-networks"]["samples"]
    assert samples >= 2
    assert result["probes"]["read-networks"]["failed"] == 0, result["probes"]["read-networks"]

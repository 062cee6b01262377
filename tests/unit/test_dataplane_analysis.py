"""Data-plane figures on synthetic packet series: outage edges and their uncertainty (half
the gap plus the timing slack), paths as the union of their probes, packets lost by phase,
the verdict keywords' records, and path descriptions refused before anything starts."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from ExtremeTesting import results
from ExtremeTesting.monitor import AvailabilityError, Monitor, MonitorError
from ExtremeTesting.monitor import dataplane as dp
from ExtremeTesting.monitor.analysis import FaultWindow
from ExtremeTesting.monitor.samples import Sample


@dataclass
class S:
    start: float
    ok: bool
    latency: float = 0.002
    error: str = ""


def series(states: str, period: float = 0.05, t0: float = 10.0, latency: float = 0.002,
           ) -> list[S]:
    """'..xx..' -> one packet per period from t0, OK ('.') or lost ('x')."""
    return [S(t0 + i * period, c == ".", latency if c == "." else 0.5,
              "" if c == "." else "no echo reply within 0.5 s") for i, c in enumerate(states)]


ICMP = {"kind": "icmp", "timeout": 0.5, "path": "east-west"}
TCP = {"kind": "tcp", "timeout": 0.15, "path": "east-west"}


def test_icmp_outage_edges_carry_half_the_gap_plus_the_longest_round_trip():
    samples = series("....xxxxxxxxxx....", latency=0.004)
    found = dp.analyze_paths({"ew icmp": samples}, {"ew icmp": ICMP}, FaultWindow(), 10.0)
    probe = found["probes"]["ew icmp"]
    (outage,) = probe["outages"]
    # last OK 10.15, first lost 10.20, last lost 10.65, first OK 10.70
    assert outage["start"] == pytest.approx(0.175)
    assert outage["duration"] == pytest.approx(0.5)
    assert outage["start_uncertainty"] == pytest.approx(0.025 + 0.004)
    assert outage["uncertainty"] == pytest.approx(2 * (0.025 + 0.004))
    assert probe["slack"] == pytest.approx(0.004)
    assert probe["lost"] == 10


def test_tcp_slack_is_the_whole_timeout_when_a_retransmission_fits_in_it():
    samples = series("...xxx...")
    short = dp.slack(TCP, samples)
    long = dp.slack({**TCP, "timeout": 1.0}, samples)
    assert short == pytest.approx(0.002)
    assert long == pytest.approx(1.0)
    found = dp.analyze_paths({"t": samples}, {"t": {**TCP, "timeout": 1.0}}, FaultWindow(), 0)
    assert found["probes"]["t"]["outages"][0]["uncertainty"] == pytest.approx(2 * 1.025)


def test_open_edges_get_no_slack():
    found = dp.analyze_paths({"i": series("xxx.....xx")}, {"i": ICMP}, FaultWindow(), 10.0)
    first, last = found["probes"]["i"]["outages"]
    assert first["open_start"] and first["start_uncertainty"] == 0
    assert first["end_uncertainty"] == pytest.approx(0.025 + 0.002)
    assert last["open_end"] and last["end_uncertainty"] == 0


def test_a_path_is_out_when_any_of_its_probes_is_and_counts_every_lost_packet():
    icmp = series("....xxxx........", t0=10.0)
    tcp = series("......xxxx......", t0=10.025)  # offset half a period, as the engine does
    found = dp.analyze_paths({"ew icmp": icmp, "ew tcp": tcp}, {"ew icmp": ICMP, "ew tcp": TCP},
                             FaultWindow(), 10.0)
    path = found["paths"]["east-west"]
    (outage,) = path["outages"]
    assert outage["start"] == pytest.approx(0.175)  # icmp's start edge
    assert outage["end"] == pytest.approx(0.5)  # tcp's end edge
    assert path["lost"] == 8 and path["sent"] == 32
    assert path["samples_per_second"] == pytest.approx(31 / 0.775)
    assert path["probes"] == ["ew icmp", "ew tcp"]
    assert "half the gap" in path["uncertainty_rule"]


def test_lost_packets_split_at_the_fault():
    samples = series("..x....xxxx....x..", period=1.0, t0=0.0)
    fault = FaultWindow(5.5, 11.5)
    found = dp.analyze_paths({"p": samples}, {"p": {**ICMP, "path": "p"}}, fault, 0.0)
    assert found["paths"]["p"]["lost_by_phase"] == {"before": 1, "during": 4, "after": 1,
                                                    "all": 6}


def test_path_descriptions_are_checked_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(dp, "NETNS_DIR", tmp_path)
    (tmp_path / "xt-client").touch()
    path = dp.parse_path("north-south", "xt-client -> 203.0.113.10:7")
    assert (path.namespace, path.address, path.port, path.icmp) == (
        "xt-client", "203.0.113.10", 7, True)
    assert [p.name for p in path.probes()] == ["north-south icmp", "north-south tcp"]
    assert [p.rate for p in path.probes()] == [20.0, 20.0]
    local = dp.parse_path("local", "127.0.0.1")
    assert (local.namespace, local.port) == ("", None)
    assert not dp.parse_path("c", "127.0.0.1:7 connect-only").echo
    for name, spec, words in [
            ("bad name!", "127.0.0.1", "Path name"),
            ("p", "127.0.0.1:99999", "out of range"),
            ("p", "300.1.1.1", "not an IPv4"),
            ("p", "nowhere", "NAMESPACE -> ADDRESS"),
            ("p", "127.0.0.1 no-icmp", "needs a TCP port"),
            ("p", "xt-missing -> 127.0.0.1", "No network namespace 'xt-missing'")]:
        with pytest.raises(dp.DataPlaneError, match=words):
            dp.parse_path(name, spec)
    with pytest.raises(dp.DataPlaneError, match="at least 'to"):
        dp.path_from_target("p", {"from": "xt-client"})
    assert dp.path_from_target("p", {"to": "10.0.0.1", "tcp_port": 7}).port == 7


def test_icmp_checksum_of_a_known_packet():
    header = bytes([8, 0, 0, 0, 0x12, 0x34, 0, 1])
    assert dp._checksum(header) == 0xE5CA
    assert dp._checksum(header[:2] + dp._checksum(header).to_bytes(2, "big") + header[4:]) == 0


# ------------------------------------------------------------------ the keywords
@pytest.fixture
def published(monkeypatch):
    found = []
    monkeypatch.setattr(results, "publish", lambda kind, data, summary_html="", level="INFO":
                        found.append((kind, data)))
    return found


def stopped_session(states: dict[str, str], period: float = 0.05) -> dp.DataPlaneSession:
    """A data-plane session that ran (synthetically) one probe per entry of ``states``."""
    paths = [dp.DataPlanePath("east-west", "10.0.0.7", port=7),
             dp.DataPlanePath("north-south", "203.0.113.10")]
    probes = [p for path in paths for p in path.probes()]
    session = dp.DataPlaneSession("data plane", probes)
    run = session.run
    run.origin, run.origin_wall = 1000.0, 1_700_000_000.0
    for name, text in states.items():
        for i, c in enumerate(text):
            start = run.origin + 0.01 + i * period
            latency = 0.001 if c == "." else 0.15
            run.timelines[name].add(Sample(name, i, start, start, start + latency,
                                           run.origin_wall + start - run.origin,
                                           run.origin_wall + start - run.origin + latency,
                                           c == ".", None, "" if c == "." else "timeout"))
    run.stopped_at = run.origin + 0.01 + len(max(states.values(), key=len)) * period
    session.result = session.snapshot()
    return session


def test_verdicts_publish_limit_measured_and_uncertainty_for_each_path(published):
    library = Monitor()
    library._sessions["data plane"] = stopped_session({
        "east-west icmp": "....xxxxxxxx......", "east-west tcp": "....xxxxxxxxx.....",
        "north-south icmp": ".................."})
    library.longest_data_plane_outage_should_be_below(timedelta(seconds=1))
    library.data_plane_packets_lost_should_be_at_most(17, path="east-west")
    with pytest.raises(AvailabilityError, match=r"east-west: 0\.4\d\d s .*17 of 36 packets lost"):
        library.longest_data_plane_outage_should_be_below(timedelta(seconds=0.3))
    with pytest.raises(AvailabilityError, match="east-west: 17 of 36 lost"):
        library.data_plane_packets_lost_should_be_at_most(16)
    records = results.expectation_records(published)
    assert [(r["subject"], r["what"], r["passed"]) for r in records] == [
        ("east-west", "longest data-plane outage", True),
        ("north-south", "longest data-plane outage", True),
        ("east-west", "packets lost (all)", True),
        ("east-west", "longest data-plane outage", False),
        ("north-south", "longest data-plane outage", True),
        ("east-west", "packets lost (all)", False),
        ("north-south", "packets lost (all)", True)]
    east = records[0]
    assert east["measured"] == pytest.approx(0.45, abs=0.03)
    assert east["uncertainty"] == pytest.approx(2 * (0.025 + 0.001), abs=1e-6)
    assert records[1]["measured"] == 0 and records[1]["uncertainty"] is None
    assert records[2]["measured"] == 17 and records[2]["limit"] == 17


def test_zero_limit_counts_outages_and_unknown_paths_are_named(published):
    library = Monitor()
    library._sessions["data plane"] = stopped_session({"east-west icmp": "....x....."})
    with pytest.raises(AvailabilityError, match="east-west"):
        library.longest_data_plane_outage_should_be_below(timedelta(0), path="east-west")
    (record,) = results.expectation_records(published)
    assert (record["what"], record["measured"], record["passed"]) == (
        "data-plane outages", 1, False)
    with pytest.raises(MonitorError, match="no path 'west'. Its paths: east-west"):
        library.data_plane_packets_lost_should_be_at_most(0, path="west")
    with pytest.raises(MonitorError, match="0 or more"):
        library.data_plane_packets_lost_should_be_at_most(-1)


def test_start_refuses_bad_paths_before_starting_anything(tmp_path):
    library = Monitor(str(tmp_path / "no-target.yaml"))
    with pytest.raises(MonitorError, match="at least one data-plane path"):
        library.start_probing_data_plane()
    with pytest.raises(MonitorError, match="No network namespace 'xt-dp-none'"):
        library.start_probing_data_plane(**{"east-west": "xt-dp-none -> 10.0.0.1:7"})
    assert library._sessions == {}

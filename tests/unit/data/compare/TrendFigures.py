"""A fixture library that publishes figures the way the real libraries do, with values
set by the suite's variables, so that runs of the same suites differ where a test wants."""

from dataclasses import dataclass

from ExtremeTesting import results
from robot.api.deco import keyword, library


@dataclass
class _Sample:
    start: float
    ok: bool
    latency: float = 0.02
    error: str = ""


def monitor_result(outage: float, latency: float) -> dict:
    """The Monitor library's result shape, from its own analysis of a 10 Hz timeline of
    two probes with a planted outage of ``outage`` seconds starting at t = 10 s."""
    from ExtremeTesting.monitor.analysis import analyze

    origin = 1000.0
    timelines = {}
    for probe, offset in (("identity.version", 0.0), ("compute.servers", 0.05)):
        timelines[probe] = [
            _Sample(origin + t, not 10.0 <= t < 10.0 + outage, latency)
            for t in (i / 10 + offset for i in range(300))]
    events = [{"phase": "in effect", "monotonic": origin + 9.8},
              {"phase": "undone", "monotonic": origin + 10.0 + max(outage - 0.2, 0.1)}]
    analysis = analyze(timelines, events, origin)
    return {"monitor": "default", "fault": analysis["fault"], "probes": analysis["probes"],
            "overall": analysis["overall"],
            "writes": {"compute.servers": {"lost": [], "duplicates": [], "checked": 20}}}


def schemas_of(mismatch: str, checked: bool) -> dict:
    """The shape of a monitor result's ``schemas`` (ExtremeTesting.schemas.watch)."""
    if not checked:
        return {"status": "not checked", "not_checked": "not checked: install ...",
                "kinds": [], "mismatches": [], "unchecked": 30}
    kind = {"api": "compute", "method": "GET", "request": "/servers", "microversion": "2.1",
            "checked": 3, "seen": 300, "mismatched": 3 if mismatch else 0}
    found = [{"api": "compute", "method": "GET", "request": "/servers", "microversion": "2.1",
              "field": mismatch, "problem": "missing", "count": 3,
              "text": f"compute GET /servers at 2.1: {mismatch}: missing"}] if mismatch else []
    return {"status": "checked", "kinds": [kind], "mismatches": found, "checked": 3}


@library(scope="GLOBAL")
class TrendFigures:
    @keyword
    def measure_a_restart(self, service: str, outage: float, limit: float,
                          latency: float = 0.02, schema_mismatch: str = "",
                          schemas_checked: bool = True) -> None:
        """Publishes a monitor result and the expectation record of its longest outage;
        fails like a verdict keyword when the outage is above the limit. The result's
        ``schemas`` checked compute GET /servers (or nothing, without tempest) and found
        ``schema_mismatch`` (a field, missing) when one is given."""
        data = monitor_result(float(outage), float(latency))
        data["schemas"] = schemas_of(schema_mismatch, schemas_checked)
        results.publish("monitor", data, "<b>monitor</b>")
        longest = data["overall"]["longest_outage"] or {"duration": 0.0, "uncertainty": 0.1}
        measured, uncertainty = longest["duration"], longest["uncertainty"]
        passed = measured <= float(limit)
        results.publish("expectation", {
            "schema": 1, "case": "", "keyword": "Outage Should Be Shorter Than",
            "what": "longest outage", "subject": service, "limit": float(limit),
            "comparison": "<=", "measured": measured, "uncertainty": uncertainty,
            "unit": "s", "passed": passed})
        if not passed:
            raise AssertionError(f"{service}: longest outage {measured:.2f} s, limit "
                                 f"{float(limit):.2f} s")

    @keyword
    def measure_a_workload(self, workload: str, p95: float, failure_rate: float,
                           limit_p95: float = 1.0) -> None:
        p95, failure_rate = float(p95), float(failure_rate)
        results.publish("load", {"name": workload, "workload": workload, "requests": 300,
                                 "failures": round(300 * failure_rate), "failure_rate":
                                 failure_rate, "p50": p95 / 2, "p95": p95, "p99": p95 * 1.5,
                                 "max": p95 * 2, "throughput": 5.0})
        for what, value, limit, unit in (("p95", p95, float(limit_p95), "s"),
                                         ("failure rate", failure_rate * 100, 1.0, "%")):
            results.publish("expectation", {
                "schema": 1, "case": "", "keyword": "Load Should Meet", "what": what,
                "subject": workload, "limit": limit, "comparison": "<=", "measured": value,
                "uncertainty": None, "unit": unit, "passed": value <= limit})

    @keyword
    def record_versions(self, compute_max: str, with_volume: bool = True) -> None:
        services = {"identity": {"api": "v3.14", "status": "CURRENT", "url": "http://x:5000"},
                    "compute": {"api": "v2.1", "status": "CURRENT", "min_microversion": "2.1",
                                "max_microversion": compute_max, "url": "http://x:8774"}}
        if str(with_volume).lower() in {"true", "1", "yes"}:
            services["volumev3"] = {"api": "v3.0", "max_microversion": "3.70",
                                    "url": "http://x:8776"}
        results.publish("environment", {"cloud": "fixture", "services": services})

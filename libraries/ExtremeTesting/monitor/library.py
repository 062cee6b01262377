"""The Robot-facing Monitor library: keywords over :class:`MonitorSession`."""

from __future__ import annotations

import datetime as dt
import html
import threading
from collections import Counter
from datetime import timedelta
from typing import Literal

from robot.api import SkipExecution, logger
from robot.api.deco import keyword, library

from ..results import verdict
from .. import events as fault_events
from .. import __version__, results, vocabulary
from ..errors import ExtremeError
from ..lifecycle import ScopedResources, ScopeListener
from ..schemas import watch as schema_watch
from ..target import Target
from ..target import load as load_target
from . import dataplane, http, lbwatch
from .analysis import Phases
from .analysis import phases as split_phases
from .config import build_probes, credentials, run_prefix, settings
from .plot import img_html
from .probes import TokenHolder
from .reconcile import KINDS
from .session import MonitorSession
from .zero_impact import ZeroImpactKeywords

Phase = Literal["all", "before", "during", "after"]
PartialPhase = Literal["during", "after recovery", "after", "before", "all"]
MarkKind = Literal["mark", "fault start", "fault end"]
SchemaSource = Literal["monitor", "calls"]
Scope = Literal["auto", "test", "suite", "global"]
# Each kind of write gone wrong: its figure's name in the expectation record.
WRITE_FIGURES = {"lost": "lost writes", "duplicates": "duplicated writes",
                 "deleted_twice": "writes deleted twice", "non_recoverable": "stuck writes"}
MARK_PHASES = {"mark": "mark", "fault start": "in effect", "fault end": "undone"}


class MonitorError(ExtremeError):
    """A monitor keyword could not do what it was asked."""


class AvailabilityError(ExtremeError, AssertionError):
    """A measured figure broke its limit."""


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Monitor(ZeroImpactKeywords, ScopedResources):
    """Measures a cloud's availability in the background while a test breaks it.

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Monitor    ${TARGET}

    ``target`` is the target file (default ``$EXTREME_TARGET``, then the running lab's).

    = Monitoring =
    `Start Availability Monitor` starts probes that run at a fixed rate (default 10 a
    second each, each request with its own timeout, default 1 s) on a monotonic clock:
    unauthenticated GETs of each API's version document, a cheap token request (the held
    token validated; a password login only every ``relogin`` seconds), authenticated reads
    (projects, servers, images, networks) and, when the target lists them, writes (a small
    Keystone project or Neutron network created with a run prefix, the oldest deleted).
    Reads and writes cost the cloud far more than a version document: they run at most
    ``read_rate`` (default 2) and ``write_rate`` (default 1) a second, and the token probe
    at its own ``rate`` when the target's probes section gives one (``token: {rate: 5}``).
    `Stop Availability Monitor` stops them, reconciles the writes against what the cloud
    holds, draws the timeline into the log and returns the result.

    A monitor still running when its test (or suite, when started in a suite setup) ends
    is stopped then, with a warning, and every monitor is stopped when the run ends. A
    teardown stops the monitor of a case that failed early with
    `Stop Availability Monitor If Running`.

    = What is measured =
    Per probe and ``overall`` (the union: the cloud is out when any probe fails):
    outage windows, each edge at the midpoint between the last OK and the first failed
    sample with half that gap as its uncertainty; total and longest outage; the time to
    recover after the fault ended (the last ``undone`` fault event, or a `Mark Timeline`
    ``fault end``); error rate and latency percentiles ``before``, ``during`` and ``after``
    the fault (first ``requested``/``in effect`` event to last ``undone``), and the
    degradation. Writes, each kind its own figure: lost (accepted, then gone without a
    delete of ours), duplicated (two resources for one request of ours), deleted twice
    (our DELETE answered 404 although the resource was there just before it: an earlier
    attempt of it, re-sent on the way, had deleted it), stuck (left in a transitional or
    error state after the settling time); and unconfirmed (failed yet done).

    A change rolled out node by node (the Changes library's `Roll Out Change`) is the
    fault on the timeline: `Change Should Have Zero Impact` judges that no user saw it (no
    failed sample during it, p95 latency within the target's ``latency_factor``).

    A failure is partial as often as total (one backend of two black-holed fails every
    other request): per phase, the share of failed samples and the failing time (the sum
    of the outages in the phase; ``after recovery`` starts where the outage that outlived
    the fault ends), judged by `Partial Outage Should Stay Within`. With a
    ``load_balancer`` in the target: how long it took to take each failing server out of
    rotation, from the first failed request of its service (``load_balancer.removals``).

    = Response schemas =
    The answers of the reads, token checks and version documents are checked against the
    response schemas published for them (tempest's ``tempest.lib.api_schema``, the optional
    extra ``pip install 'openstack-extreme-testing[schemas]'``) at the microversion each was
    given at, by sample: the first answer of each kind, then at most one of that kind a
    minute, after the sample is timed (a check never slows or fails a probe). The result's
    ``schemas`` names every mismatch (API, request, microversion, field) and the APIs
    without a published schema (Identity, Networking, Image, Placement: only Compute and
    Block Storage have one); `Responses Should Match Their Schemas` judges them, and the
    answers to the libraries' own API calls (``of=calls``). Without tempest nothing is
    checked and the verdict is skipped, saying what to install.

    = The data plane =
    `Start Probing Data Plane` probes the tenants' paths (``north-south``, ``east-west``):
    ICMP echo and TCP connect/echo sent from inside a network namespace, 20 samples a
    second each, on the same timeline and with the same outage analysis; each edge's
    uncertainty adds the probe's timing slack (see ExtremeTesting.monitor.dataplane).
    `Longest Data Plane Outage Should Be Below` and `Data Plane Packets Lost Should Be At
    Most` judge each path.

    = The target file =
    Probes come from the target's ``probes`` section (see ExtremeTesting.monitor.config),
    endpoints from ``endpoints``, credentials from clouds.yaml/secure.yaml for ``cloud``.
    Credentials and tokens are never logged: probes do raw HTTP and log no headers.

    = Monitor or Load? =
    Both judge failures: `Error Rate Should Be Below` judges the monitor's probes (the
    cloud as its users see it, before, during and after a fault); the Load library's
    `Load Error Rate Should Be Below` judges the iterations of one workload it ran.

    = What it never does =
    - It never logs a credential or token: probes do raw HTTP and log no headers.
    - It never leaves its writes behind on purpose: a write probe deletes what it created
      (names with the run's prefix) when the monitor stops.
    - It never keeps running after its scope: a monitor nobody stopped is stopped when its
      test or suite ends, and every monitor when the run ends.

    = Examples =
    | `Start Availability Monitor` |
    | Kill Service | keystone | on=all |
    | Sleep | 10s |
    | Start Service | keystone | on=all |
    | ${result} = | `Stop Availability Monitor` |
    | `Outage Should Be Shorter Than` | 12s | probe=version-identity |
    | `Cloud Should Recover Within` | 5s |
    | `Error Rate Should Be Below` | 1 | phase=after |
    | `Latency Percentile Should Be Below` | 99 | 2s | phase=after |
    | `No Requests Should Be Lost` |
    """

    def __init__(self, target: str | None = None) -> None:
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)  # the one scope listener
        self._target_path = target
        self._target: Target | None = None
        self._sessions: dict[str, MonitorSession] = {}
        self._lock = threading.Lock()

    # -- keywords ---------------------------------------------------------------------

    @keyword
    def start_availability_monitor(self, name: str = "default",
                                   probes: list[str] | str | None = None,
                                   rate: float | None = None,
                                   timeout: timedelta | None = None,
                                   writes: list[str] | str | None = None,
                                   settle: timedelta | None = None,
                                   scope: Scope = "auto",
                                   baseline: timedelta = timedelta(seconds=1),
                                   watch_load_balancer: bool = True) -> str:
        """Starts monitor ``name`` in the background; returns its name.

        ``probes`` (a list, or names separated by commas) keeps only the named probes (e.g.
        ``version-identity``, ``token``, ``read-servers``, ``write-network``); ``rate``
        (samples/s per probe), ``timeout`` (per request), ``writes`` (``project``, ``network``)
        and ``settle`` override the target's ``probes`` section. ``scope`` says when the monitor
        stops if nobody stops it: ``auto`` at the end of the current test, or of the suite when
        started in a suite setup; ``global`` when the run ends. ``baseline`` (default 1 s) is
        how long the keyword waits, polling, until every probe has finished a sample, so that
        a fault injected next always has a steady state "before" it to judge (``0`` returns at
        once); a probe with no sample by then is logged as a warning.

        When the target names its ``load_balancer``, its servers are read in the background
        too (the stats page 4 times a second, else the admin socket over SSH once a
        second; ``watch_load_balancer=False`` turns it off): the result's
        ``load_balancer.removals`` give, for each server marked DOWN, the seconds from the
        first failed request of its service to the balancer taking it out of rotation.

        Fails, before starting, when a monitor of that ``name`` runs already, when a probe name
        is unknown, or when the target's ``probes`` or ``endpoints`` are wrong (the message names
        the key and the fix).

        | `Start Availability Monitor` |
        | `Start Availability Monitor` | writes | writes=network | rate=5 |
        """
        probes, writes = _names(probes), _names(writes)
        target = self._load_target()
        section = dict(target.section("probes"))
        if rate is not None:
            section["rate"] = rate
        if timeout is not None:
            section["timeout"] = timeout.total_seconds()
        if writes is not None:
            section["writes"] = list(writes)
        endpoints = {k: str(v) for k, v in target.section("endpoints").items()}
        found = settings(section, endpoints)
        if settle is not None:
            found.settle = settle.total_seconds()
        prefix = run_prefix(name)
        tokens = None
        verify: bool | str = True
        if found.token is not None or found.reads or found.writes:
            creds = credentials(target)
            verify = creds.verify
            tokens = TokenHolder(creds.auth_url, creds.body, timeout=max(5.0, found.timeout),
                                 relogin=found.relogin, verify=verify)
        built = build_probes(found, endpoints, tokens, prefix, verify)
        if probes:
            known = {p.name for p in built}
            unknown = sorted(set(probes) - known)
            if unknown:
                raise MonitorError(f"Unknown probes {unknown}. This target's probes: "
                                   f"{', '.join(sorted(known))}.")
            built = [p for p in built if p.name in probes]
        watch = lbwatch.from_target(target, {p.service for p in built}) if watch_load_balancer \
            else None
        session = MonitorSession(name, built, found.sample_cap, found.settle, tokens,
                                 target.name, prefix, watch)
        if tokens is not None:
            tokens.token()  # log in now rather than inside the first samples
            if tokens.last_error:
                logger.warn(f"Monitor '{name}': {tokens.last_error}; authenticated probes "
                            f"fail until a login succeeds (retried every 10 s).")
        self._start_session(session, scope)
        _wait_for_baseline(session, baseline, found.timeout + 5, f"Monitor '{name}'",
                           ": the phase before a fault may be empty for it")
        table = _html_table(("probe", "rate", "timeout", "URL"), (
            (p.name, f"{p.rate:g}/s", f"{p.timeout:g} s", p.describe().get("url", ""))
            for p in built))
        logger.info(f"Monitor '{html.escape(name)}' started ({html.escape(session.scope[0])} "
                    f"scope), prefix {html.escape(prefix)}:{table}", html=True)
        return name

    @keyword
    def stop_availability_monitor(self, name: str = "default",
                                  settle: timedelta | None = None) -> dict:
        """Stops monitor ``name``, reconciles its writes and logs the timeline; returns the result.

        The result is a dictionary, also published for the sign-off report. ``settle`` (default
        from the target, 30 s) is how long writes may stay in a transitional state before they
        count as non-recoverable. Fails when no monitor of that ``name`` was started. Judge the
        result with `Outage Should Be Shorter Than`, `Cloud Should Recover Within`,
        `Error Rate Should Be Below`, `Latency Percentile Should Be Below` and
        `No Requests Should Be Lost`.

        | ${result} =    `Stop Availability Monitor`
        | `Outage Should Be Shorter Than`    5 s
        """
        session = self._session(name)
        result = self._finish(session, None if settle is None else settle.total_seconds())
        return result

    @keyword
    def stop_availability_monitor_if_running(self, name: str = "default",
                                             settle: timedelta | None = None) -> dict | None:
        """Stops monitor ``name`` as `Stop Availability Monitor` does if it is running;
        returns its result, or ``None`` (doing nothing) when no monitor of that name was
        started or it is stopped already. ``settle`` as for `Stop Availability Monitor`.
        Never fails for a monitor that is not running.

        For teardowns: a case that failed before its `Stop Availability Monitor` (a
        roll-out stopped, a restart not back) leaves the monitor running. Stopped here, its
        writes are reconciled and its resources deleted while the case still holds the
        cloud, and its figures are published; the log says it was still running. Nothing
        judges those figures: the case's verdicts did not run. Without this, the monitor
        is stopped when its test ends, with a warning (which stays right for a passing
        case that never stopped its monitor).

        | [Teardown]    `Stop Availability Monitor If Running`
        """
        session = self._sessions.get(name)
        if session is None or session.result is not None:
            logger.info(f"Monitor '{name}' is not running: nothing to stop.")
            return None
        logger.info(f"Monitor '{name}' was still running: stopped it (its figures are "
                    f"published, no verdict judged them).")
        return self._finish(session, None if settle is None else settle.total_seconds())

    @keyword
    def mark_timeline(self, label: str, kind: MarkKind = "mark") -> None:
        """Puts a moment labelled ``label`` on every monitor's timeline.

        ``kind``: ``fault start`` and ``fault end`` delimit a fault the libraries did not inject
        (the recovery time counts from the last ``fault end``); ``mark`` (default) is a label
        only. Never fails: without a running monitor the mark is simply not drawn.

        | `Mark Timeline` | pulled the cable | fault start |
        """
        fault_events.publish("mark", MARK_PHASES[kind], label, "")

    @keyword
    def get_monitor_result(self, name: str = "default") -> dict:
        """Returns the result of a stopped monitor, or the figures so far of a running one.

        ``name`` picks the monitor (default ``default``). Fails when no monitor of that name was
        started.

        | ${result} =    `Get Monitor Result`
        | Log    ${result}[overall]
        """
        session = self._session(name)
        return session.result if session.result is not None else session.snapshot()

    @keyword
    def save_monitor_result(self, path: str, name: str = "default",
                            samples: bool = False) -> str:
        """Writes the result of a monitor as JSON to ``path``; returns the file written.

        With ``samples``, every kept sample too. ``name`` picks the monitor (default
        ``default``). Fails when no monitor of that name was started or the file cannot be
        written.
        """
        written = self._session(name).export(path, samples)
        logger.info(f"Monitor '{name}' result written to {written}.")
        return str(written)

    @keyword
    def log_monitor_timeline(self, name: str = "default") -> None:
        """Logs the timeline so far as an image; a running monitor keeps running.

        ``name`` picks the monitor (default ``default``). Fails when no monitor of that name was
        started.
        """
        session = self._session(name)
        result = session.result or session.snapshot()
        logger.info(img_html(session.draw(result)), html=True)

    @verdict
    def outage_should_be_shorter_than(self, limit: timedelta, probe: str = "overall",
                                      name: str = "default") -> None:
        """Checks that the longest outage of ``probe`` (default ``overall``) was shorter than
        ``limit``.

        ``overall`` is out when any probe fails. ``name`` picks the monitor (default
        ``default``). Fails when the longest outage lasted ``limit`` or longer: the message gives
        the outage, its uncertainty, its window and the errors seen. ``0 s`` asks for no failed
        sample at all.

        | `Outage Should Be Shorter Than`    5 s
        | `Outage Should Be Shorter Than`    12 s    probe=version-identity
        """
        result, figures = self._figures(name, probe)
        longest = figures["longest_outage"]
        seconds = limit.total_seconds()
        if seconds == 0:
            # "No outage at all": nothing is shorter than 0 s, so the record counts outages.
            _expect("Outage Should Be Shorter Than", "outages", probe, 0, "==",
                    len(figures["outages"]), "count")
        else:
            _expect("Outage Should Be Shorter Than", "longest outage", probe, seconds, "<",
                    0.0 if longest is None else longest["duration"], "s",
                    None if longest is None else longest["uncertainty"])
        if longest is not None and longest["duration"] >= seconds:
            raise AvailabilityError(
                f"Longest outage of {probe} was {longest['duration']:.3f} s "
                f"(± {longest['uncertainty']:.3f} s) {self._window(result, longest)}, "
                f"expected shorter than {seconds:g} s. {len(figures['outages'])} outage(s), "
                f"{figures['total_outage']:.3f} s in total; errors: {longest['errors']}.")
        logger.info(f"Longest outage of {probe}: "
                    f"{0 if longest is None else longest['duration']:.3f} s "
                    f"(limit {seconds:g} s).")

    @verdict
    def error_rate_should_be_below(self, percent: str, probe: str = "overall",
                                   phase: Phase = "all", name: str = "default") -> None:
        """Checks that the share of failed samples of the monitor's ``probe`` in ``phase`` stays
        below ``percent``.

        ``percent`` is a percentage: ``1`` and ``1%`` both mean one percent (above 0, at most
        100: the rule of every rate in every library). ``phase``:
        ``before``, ``during`` or ``after`` the fault, or ``all`` (default). ``probe`` defaults
        to ``overall``; ``name`` picks the monitor (default ``default``). Fails when the rate
        reaches ``percent`` (with the rate and the phase's window), and when the phase has no
        samples.

        This judges the availability monitor's probes; to judge the iterations of a workload run
        by the Load library, use `Load Error Rate Should Be Below` there.

        | `Error Rate Should Be Below`    1    phase=after
        | `Error Rate Should Be Below`    0.1    probe=token    phase=before
        """
        percent = vocabulary.rate(percent, "error rate")
        result, figures = self._figures(name, probe)
        rate = figures["error_rate"][phase]
        _expect("Error Rate Should Be Below", f"error rate ({phase})", probe, percent, "<",
                None if rate is None else rate * 100, "%")
        if rate is None:
            raise AvailabilityError(f"No samples of {probe} in phase '{phase}' "
                                    f"{self._phase_window(result, phase)}: nothing to judge. "
                                    f"Did a fault happen inside the monitored time?")
        if rate * 100 >= percent:
            raise AvailabilityError(
                f"Error rate of {probe} {phase} was {rate * 100:.2f} % "
                f"{self._phase_window(result, phase)}, expected below {percent:g} %. "
                f"Outages: {len(figures['outages'])}, {figures['total_outage']:.3f} s.")
        logger.info(f"Error rate of {probe} {phase}: {rate * 100:.2f} % (limit {percent:g} %).")

    @verdict
    def partial_outage_should_stay_within(self, failed_share: str, failing_time: timedelta,
                                          phase: PartialPhase = "during",
                                          probe: str = "each", name: str = "default") -> None:
        """Checks, for each probe, the share of its requests that failed in ``phase`` and how
        long it was failing then (the sum of its outages): at most ``failed_share`` percent
        (``5`` and ``5%`` both mean five percent, as every rate in every library) and at
        most ``failing_time``.

        A failure is partial as often as total: with one backend of two black-holed while
        the load balancer keeps it, every other request fails and the longest outage is one
        sample long; `Outage Should Be Shorter Than` cannot see it, this does. ``phase``:
        ``during`` the fault (default), ``after recovery`` (from the end of the outage that
        outlived the fault: for a fault meant to take a service fully down, whose outage
        and recovery are judged on their own), ``after``, ``before`` or ``all``. ``probe``:
        ``each`` (default) judges every probe on its own, or one probe's name, or
        ``overall``. ``name`` picks the monitor (default ``default``).

        Publishes two expectation records per probe (failed share, failing time with its
        uncertainty). Fails naming each probe, its service, the share, the failing time
        and the errors seen; fails too when a probe has no sample in ``phase`` (but in
        ``after recovery``, empty when the probe served again only as the monitor stopped:
        nothing failed after it, and the recovery has its own verdict).

        | `Partial Outage Should Stay Within`    5    2 s
        | `Partial Outage Should Stay Within`    1    1 s    phase=after recovery
        """
        failed_share = vocabulary.rate(failed_share, "failed share")
        result = self._result(name)
        judged = (sorted(result["probes"]) if probe == "each" else [probe])
        limit = failing_time.total_seconds()
        problems = []
        for each in judged:
            _, figures = self._figures(name, each)
            found = figures["partial"][phase]
            share, seconds = found["failed_share"], found["failing_time"]
            if share is None and phase == "after recovery" and figures["samples"]:
                # It served again only as the monitor stopped: nothing failed after that
                # (whether it recovered in time is `Cloud Should Recover Within`'s verdict).
                share = 0.0
            _expect("Partial Outage Should Stay Within", f"failed share ({phase})", each,
                    failed_share, "<=", share, "%")
            _expect("Partial Outage Should Stay Within", f"failing time ({phase})", each,
                    limit, "<=", None if share is None else seconds, "s",
                    found["uncertainty"])
            about = f"{each} ({self._service_of(result, each)})"
            if share is None:
                problems.append(f"{about}: no sample {phase} "
                                f"{self._phase_window(result, phase)}")
            elif share > failed_share or seconds > limit:
                # The errors of this phase's outages, not of the whole timeline (the
                # probe's own phase: after its own recovery, for "after recovery").
                low, high = self._phase_bounds(result, phase)
                if found.get("from") is not None:
                    low = found["from"]
                errors = Counter()
                for outage in figures["outages"]:
                    if outage["end"] >= low and outage["start"] <= high:
                        errors.update(outage["errors"])
                problems.append(
                    f"{about}: {found['failed']} of {found['samples']} requests failed "
                    f"({share:.2f} %, limit {failed_share:g} %), failing {seconds:.3f} s "
                    f"(± {found['uncertainty']:.3f} s) in {found['outages']} outage(s) "
                    f"(limit {limit:g} s); errors {dict(errors.most_common(3))}")
        if problems:
            raise AvailabilityError(
                f"Partial outage {phase} {self._phase_window(result, phase)}: "
                + " | ".join(problems) + ".")
        logger.info(f"Partial outage {phase} of {', '.join(judged)}: within {failed_share:g} %"
                    f" and {limit:g} s.")

    def _service_of(self, result: dict, probe: str) -> str:
        """The probe's API and the target's services that serve it: ``identity: keystone``."""
        api = ((result["probes"].get(probe) or {}).get("config") or {}).get("service", "")
        if not api:
            return "every service" if probe == "overall" else "service unknown"
        try:
            services = self._load_target().section("services")
        except Exception:  # noqa: BLE001 - a name for a message, never a reason to fail
            services = {}
        names = sorted(n for n, spec in services.items() if (spec or {}).get("api") == api)
        return f"{api}: {', '.join(names)}" if names else api

    @verdict
    def cloud_should_recover_within(self, limit: timedelta, probe: str = "overall",
                                    name: str = "default") -> None:
        """Checks that ``probe`` (default ``overall``) served again at most ``limit`` after the
        fault ended.

        The fault ends at the last ``undone`` fault event, or at a `Mark Timeline` ``fault end``.
        ``name`` picks the monitor (default ``default``). Fails when the recovery took longer,
        when the probe had not recovered when the monitor stopped, and when no fault end is
        known.

        | `Cloud Should Recover Within`    30 s
        """
        result, figures = self._figures(name, probe)
        found = figures["recovery"]
        seconds = limit.total_seconds()
        fault_end = result["fault"]["end"]
        _expect("Cloud Should Recover Within", "recovery after the fault", probe, seconds,
                "<=", found["seconds"] if found["recovered"] else None, "s",
                found.get("uncertainty") if found["recovered"] else None)
        if found["recovered"] is None:
            raise AvailabilityError(
                f"Cannot tell how long {probe} took to recover: {found['reason']}. Keep the "
                f"monitor running past the fault's undo, or `Mark Timeline` ... fault end.")
        if not found["recovered"]:
            last = figures["outages"][-1]
            raise AvailabilityError(
                f"{probe} had not recovered when the monitor stopped: failing since "
                f"{self._clock(result, last['start'])}; the fault ended at "
                f"{self._clock(result, fault_end)}. Expected recovery within {seconds:g} s.")
        if found["seconds"] > seconds:
            raise AvailabilityError(
                f"{probe} recovered {found['seconds']:.3f} s (± {found['uncertainty']:.3f} s)"
                f" after the fault ended at {self._clock(result, fault_end)} (served again "
                f"from {self._clock(result, fault_end + found['seconds'])}), expected within "
                f"{seconds:g} s.")
        logger.info(f"{probe} recovered {found['seconds']:.3f} s after the fault ended "
                    f"(limit {seconds:g} s).")

    @verdict
    def latency_percentile_should_be_below(self, percentile: str, limit: timedelta,
                                           probe: str = "overall", phase: Phase = "all",
                                           name: str = "default") -> None:
        """Checks that the ``percentile`` (``p95`` or ``95``, as in every library) of OK samples'
        latency of ``probe`` in ``phase`` is below ``limit``.

        ``phase`` and ``probe`` as in `Error Rate Should Be Below`; ``name`` picks the monitor
        (default ``default``). Fails when the percentile reaches ``limit``, and when the phase
        has no OK sample.

        | `Latency Percentile Should Be Below` | 95 | 500ms | probe=read-servers | phase=after |
        """
        from .analysis import percentile as compute

        percentile = vocabulary.percentile(percentile)
        result = self._result(name)
        members = self.phases(probe, name).ok_latencies(phase)
        value = compute(members, percentile)
        seconds = limit.total_seconds()
        _expect("Latency Percentile Should Be Below", f"p{percentile:g} latency ({phase})",
                probe, seconds, "<", value, "s")
        if value is None:
            raise AvailabilityError(f"No OK samples of {probe} in phase '{phase}' "
                                    f"{self._phase_window(result, phase)}: no latency to judge.")
        if value >= seconds:
            raise AvailabilityError(
                f"p{percentile:g} latency of {probe} {phase} was {value:.3f} s over "
                f"{len(members)} OK samples {self._phase_window(result, phase)}, expected "
                f"below {seconds:g} s.")
        logger.info(f"p{percentile:g} latency of {probe} {phase}: {value:.3f} s "
                    f"(limit {seconds:g} s).")

    @verdict
    def no_requests_should_be_lost(self, name: str = "default") -> None:
        """Checks that every write the monitor sent and the cloud accepted exists once and settled.

        ``name`` picks the monitor (default ``default``). Judges each kind on its own (one
        expectation record each) and fails naming every write, with its request ids, that
        was *lost* (accepted, then gone without a delete of ours), *duplicated* (two
        resources for one request of ours), *deleted twice* (our DELETE answered 404 while
        the resource was there just before it: a re-sent request, nothing lost) or *stuck*
        (transitional or error state after ``settle``), or that could not be reconciled;
        fails too when the monitor still runs or ran no write probe.

        | `Start Availability Monitor`    writes=network
        | `Stop Availability Monitor`
        | `No Requests Should Be Lost`
        """
        session = self._session(name)
        if session.result is None:
            raise MonitorError(f"Monitor '{name}' is still running: writes are reconciled by "
                               f"`Stop Availability Monitor`. Stop it first.")
        writes = session.result["writes"]
        if not writes:
            raise MonitorError(f"Monitor '{name}' ran no write probes, so no request could be "
                               f"accounted for. Start it with writes=network (or list writes "
                               f"in the target's probes).")
        problems = []
        for probe, found in writes.items():
            for key, words in KINDS.items():
                items = found.get(key) or []
                _expect("No Requests Should Be Lost", WRITE_FIGURES[key], probe, 0, "==",
                        None if found["error"] else len(items), "count")
                if items:
                    listed = "; ".join(
                        f"{i['name']} ({i.get('why') or i.get('status')}; "
                        f"{self._request_ids(session.result, i)})" for i in items[:5])
                    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
                    problems.append(f"{probe}: {len(items)} {words}: {listed}{more}")
            if found["error"]:
                problems.append(f"{probe}: {found['error']}")
        result = session.result
        if problems:
            raise AvailabilityError(
                f"Requests were not all accounted for between {self._clock(result, 0)} and "
                f"{self._clock(result, result['duration'])}: " + " | ".join(problems))
        checked = sum(f["checked"] for f in writes.values())
        logger.info(f"All {checked} writes of monitor '{name}' accounted for.")

    @verdict
    def responses_should_match_their_schemas(self, of: SchemaSource = "monitor",
                                             name: str = "default") -> None:
        """Checks that the cloud's answers match the response schemas published for them
        (tempest's), at the microversion each answer was given at: a missing field or a
        changed shape breaks clients while every status code stays green.

        ``of``: ``monitor`` (default) judges the answers to the probes of the monitor
        ``name`` (running or stopped: its reads, token checks and version documents);
        ``calls`` the answers to this process's own API calls since the current suite
        started (the Cloud library's keywords, e.g. the smoke suite's creates, reads and
        deletes, and every other library's openstacksdk calls). Answers are checked by
        sample, at little cost: the first of each kind (API, method, request,
        microversion), then at most one of that kind a minute; successful answers only
        (2xx), as tempest checks them.

        Publishes one expectation record per kind checked (``schema mismatches`` == 0).
        Fails naming each mismatch: the API, the request, the microversion, the field and
        what is wrong with it (never the value found), how many checked answers showed it
        and the request id of the first.

        Skipped, never passed, when nothing could be checked: without tempest (the skip
        says ``not checked: install 'openstack-extreme-testing[schemas]'``), or when no
        successful answer came from an API tempest publishes schemas for (Compute and
        Block Storage; none for Identity, Networking, Image, Placement). The sign-off
        report counts such a skip as blocking unless the target declares the case
        ``not_applicable``. Fails too when monitor ``name`` was never started.

        | `Responses Should Match Their Schemas` |
        | `Responses Should Match Their Schemas` | of=calls |
        """
        if of == "calls":
            figures, whose = schema_watch.CALLS.figures(), "this suite's API calls"
        else:
            figures, whose = self._result(name).get("schemas"), f"monitor '{name}'"
            if not figures:
                raise MonitorError(f"Monitor '{name}' has no API probe whose answers could "
                                   f"be checked (a data-plane monitor?).")
        line = schema_watch.summary(figures)
        logger.info(f"Response schemas of {whose}: {line}")
        if of == "calls":
            results.publish("schemas", {**figures, "of": "calls"}, html.escape(
                f"Response schemas of {whose}: {line}"))
        if figures["status"] != schema_watch.CHECKED:
            raise SkipExecution(
                f"Response schemas of {whose}: {figures['not_checked']}. "
                f"{figures['unchecked']} answer(s) of Compute or Block Storage went "
                f"unchecked: this case proves nothing until the extra is installed.")
        if figures.get("errors"):
            logger.warn(f"Response schemas of {whose}: {figures['errors']} answer(s) could "
                        f"not be checked ({figures['last_error']}): a defect of ours.")
        kinds = [k for k in figures["kinds"] if k["checked"]]
        if not kinds:
            if figures.get("errors"):
                raise MonitorError(f"Response schemas of {whose}: no answer could be "
                                   f"checked: {figures['last_error']}.")
            seen = "; ".join(f"{e['api']}: {', '.join(e['requests'])}"
                             for e in figures["not_covered"]) or "none"
            raise SkipExecution(
                f"Response schemas of {whose}: nothing to check: no successful answer of "
                f"Compute or Block Storage came in (tempest publishes no schema for "
                f"{', '.join(figures['no_schema_published'])}). Answers seen: {seen}.")
        problems = []
        for kind in kinds:
            found = [m for m in figures["mismatches"] if all(
                m[k] == kind[k] for k in ("api", "method", "request", "microversion"))]
            subject = (f"{kind['api']} {kind['method']} {kind['request']} at "
                       f"{kind['microversion']}")
            results.publish_expectation(
                "Responses Should Match Their Schemas", "schema mismatches", 0, "==",
                max(len(found), 1 if kind["mismatched"] else 0), unit="fields",
                subject=subject)
            for m in found:
                first = dt.datetime.fromtimestamp(m["first_seen"]).strftime("%H:%M:%S")
                problems.append(f"{m['text']} ({m['count']} of {kind['checked']} checked "
                                f"answer(s), first at {first}, request "
                                f"{m['our_id'] or m['their_id'] or 'without an id'})")
        if figures.get("dropped"):
            problems.append(f"and {figures['dropped']} more")
        if problems:
            raise AvailabilityError(f"Answers of {whose} that do not match their published "
                                    f"schemas ({figures['source']}): " + " | ".join(problems))
        logger.info(f"Every checked answer of {whose} matched its published schema: "
                    + ", ".join(f"{k['api']} {k['method']} {k['request']} at "
                                f"{k['microversion']} ({k['checked']})" for k in kinds) + ".")

    @keyword
    def replay_last_write(self, probe: str = "", name: str = "default") -> int:
        """Sends the last create of a write probe once more, as a retrying proxy would.

        Returns the HTTP status. Use it to check that `No Requests Should Be Lost` catches
        duplicates (use a ``network`` write: Keystone refuses duplicate project names). ``probe``
        names the write probe (default: the only one); ``name`` picks the monitor (default
        ``default``). Fails when the monitor has no such write probe or it has not sent a create
        yet.
        """
        write_probe = self._write_probe(name, probe)
        if write_probe.last_create is None:
            raise MonitorError(f"Write probe {write_probe.name} has not sent a create yet.")
        token = write_probe.tokens.token() if write_probe.tokens else None
        response = http.request("POST", write_probe.last_create["url"], 10.0,
                                {"X-Auth-Token": token or ""}, write_probe.last_create["body"],
                                write_probe.verify)
        logger.info(f"Replayed the last create of {write_probe.name}: HTTP {response.status}.")
        return response.status

    @keyword
    def delete_write_behind_the_monitor(self, probe: str = "", name: str = "default") -> str:
        """Deletes the oldest resource a write probe holds, without telling the monitor.

        Returns its name. Use it to check that `No Requests Should Be Lost` catches a loss.
        ``probe`` names the write probe (default: the only one); ``name`` picks the monitor
        (default ``default``). Fails when the probe holds no resource yet or the deletion fails.
        """
        write_probe = self._write_probe(name, probe)
        held = write_probe.held()
        if not held:
            raise MonitorError(f"Write probe {write_probe.name} holds no resource yet.")
        victim = held[0]
        errors = write_probe.delete_ids([victim.resource_id])
        if errors:
            raise MonitorError(f"Could not delete {victim.name}: {errors[0]}")
        logger.info(f"Deleted {victim.name} behind monitor '{name}'.")
        return victim.name

    # -- the data plane (see ExtremeTesting.monitor.dataplane) --------------------------

    @keyword
    def start_probing_data_plane(self, *paths: str, rate: float = dataplane.DEFAULT_RATE,
                                 icmp_timeout: timedelta | None = None,
                                 tcp_timeout: timedelta | None = None,
                                 name: str = "data plane", scope: Scope = "auto",
                                 baseline: timedelta = timedelta(seconds=1),
                                 **described: str) -> str:
        """Starts probing the tenants' data plane along each path; returns the monitor's name.

        A path is named as the operator names it, and either described here,
        ``north-south=xt-client -> 203.0.113.10:7`` (``NAMESPACE -> ADDRESS[:PORT]``; the
        namespace is the network namespace the packets leave from, left out for this
        machine's own; with a port, TCP connect and echo too; ``no-icmp`` or
        ``connect-only`` after it), or listed by name from the target's ``data_plane:
        paths:`` section (``{from: NAMESPACE, to: ADDRESS, tcp_port: 7}``). Each path gets an
        ICMP echo probe and, with a port, a TCP probe, each ``rate`` samples a second
        (default 20) on the same timeline as the API monitors (faults and marks included):
        one echo request or one connection per sample, timeouts ``icmp_timeout`` (default
        0.5 s) and ``tcp_timeout`` (default 0.15 s, under TCP's smallest retransmission
        timeout so that no sample is rescued by a resend).

        ``name`` (default ``data plane``), ``scope`` and ``baseline`` as in `Start
        Availability Monitor`; stop it with `Stop Probing Data Plane`. Fails, before
        starting, on a path described wrongly, a namespace that does not exist, a path name
        the target does not list (the target without a ``data_plane`` section: the
        data-plane cases do not apply to it), or a monitor of that ``name`` running already.

        | `Start Probing Data Plane` | north-south=xt-client -> 203.0.113.10:7 |
        | `Start Probing Data Plane` | east-west=xt-g1 -> 10.0.1.7:7 connect-only |
        | `Start Probing Data Plane` | north-south | east-west | rate=50 |
        """
        try:
            found = self._data_plane_paths(paths, described)
            session = dataplane.make_session(name, found, float(rate), **{
                key: value.total_seconds() for key, value in (
                    ("icmp_timeout", icmp_timeout), ("tcp_timeout", tcp_timeout))
                if value is not None})
        except dataplane.DataPlaneError as error:
            raise MonitorError(str(error)) from None
        self._start_session(session, scope)
        _wait_for_baseline(session, baseline, 5, f"Data plane '{name}'")
        table = _html_table(("path", "from", "to", "TCP port"), (
            (p.name, p.namespace or "this machine", p.address, p.port or "-") for p in found))
        logger.info(f"Data plane '{html.escape(name)}' probed at {rate:g}/s per probe:{table}",
                    html=True)
        return name

    def _data_plane_paths(self, paths: tuple[str, ...], described: dict[str, str]) -> list:
        found = [dataplane.parse_path(key, spec) for key, spec in described.items()]
        if paths:
            section = self._load_target().section("data_plane")
            listed = section.get("paths") or {}
            for each in paths:
                if each not in listed:
                    raise MonitorError(
                        f"The target lists no data-plane path {each!r} "
                        f"(data_plane.paths: {', '.join(sorted(listed)) or 'none'}). Describe "
                        f"it instead: {each}=NAMESPACE -> ADDRESS[:PORT].")
                found.append(dataplane.path_from_target(each, listed[each]))
        return found

    @keyword
    def stop_probing_data_plane(self, name: str = "data plane") -> dict:
        """Stops the data-plane monitor ``name``, logs its timeline and returns the result.

        Besides the monitor's figures per probe and ``overall``, the result's ``paths``
        hold per path: outages (each with its uncertainty), the longest, packets ``lost``
        (failed samples, also ``lost_by_phase``), ``sent``, ``samples_per_second`` and the
        ``uncertainty_rule``. Judge it with `Longest Data Plane Outage Should Be Below` and
        `Data Plane Packets Lost Should Be At Most`. Fails when no monitor of that ``name``
        was started.

        | ${result} = | `Stop Probing Data Plane` |
        | `Data Plane Packets Lost Should Be At Most` | 0 |
        """
        return self._finish(self._session(name), None)

    def _paths(self, name: str, path: str) -> tuple[dict, list[str]]:
        result = self._result(name)
        found = result.get("paths")
        if found is None:
            raise MonitorError(f"Monitor '{name}' probes no data plane: start it with "
                               f"`Start Probing Data Plane`.")
        if path == "each":
            return result, sorted(found)
        if path not in found:
            raise MonitorError(f"Data plane '{name}' has no path '{path}'. Its paths: "
                               f"{', '.join(sorted(found))}.")
        return result, [path]

    @verdict
    def longest_data_plane_outage_should_be_below(self, limit: timedelta, path: str = "each",
                                                  name: str = "data plane") -> None:
        """Checks that the longest data-plane outage of each path (a path is out when any of
        its probes is) was shorter than ``limit``.

        ``path``: ``each`` (default) or one path's name; ``name`` picks the monitor. Publishes
        one expectation record per path (limit, measured, uncertainty: half the gap between
        the samples around each edge plus the timing slack, see the result's
        ``uncertainty_rule``). ``0 s`` asks for no lost packet at all. Fails naming each path
        over its limit with its outage, window and errors.

        | `Longest Data Plane Outage Should Be Below` | 3 s |
        | `Longest Data Plane Outage Should Be Below` | 0 s | path=east-west |
        """
        result, judged = self._paths(name, path)
        seconds = limit.total_seconds()
        problems = []
        for each in judged:
            figures = result["paths"][each]
            longest = figures["longest_outage"]
            measured = 0.0 if longest is None else longest["duration"]
            spread = None if longest is None else longest["uncertainty"]
            if seconds == 0:
                _expect("Longest Data Plane Outage Should Be Below", "data-plane outages",
                        each, 0, "==", len(figures["outages"]), "count")
                failed = bool(figures["outages"])
            else:
                _expect("Longest Data Plane Outage Should Be Below",
                        "longest data-plane outage", each, seconds, "<", measured, "s", spread)
                failed = measured >= seconds
            if failed:
                problems.append(
                    f"{each}: {measured:.3f} s (± {spread:.3f} s) {self._window(result, longest)}"
                    f", {len(figures['outages'])} outage(s), {figures['lost']} of "
                    f"{figures['sent']} packets lost; errors {longest['errors']}")
        if problems:
            raise AvailabilityError(f"Longest data-plane outage, expected below {seconds:g} s"
                                    f": " + " | ".join(problems) + ".")
        logger.info(f"Longest data-plane outage of {', '.join(judged)} below {seconds:g} s.")

    @verdict
    def data_plane_packets_lost_should_be_at_most(self, count: int, path: str = "each",
                                                  phase: Phase = "all",
                                                  name: str = "data plane") -> None:
        """Checks that each path lost at most ``count`` packets in ``phase`` (``all``, default,
        ``before``, ``during`` or ``after`` the fault): a packet lost is a sample whose echo
        request or connection got no answer within its timeout.

        ``path``: ``each`` (default) or one path's name; ``name`` picks the monitor.
        Publishes one expectation record per path. Fails naming each path over its limit
        with its outages.

        | `Data Plane Packets Lost Should Be At Most` | 0 |
        | `Data Plane Packets Lost Should Be At Most` | 5 | path=north-south | phase=during |
        """
        if count < 0:
            raise MonitorError(f"count {count}: give 0 or more packets.")
        result, judged = self._paths(name, path)
        problems = []
        for each in judged:
            figures = result["paths"][each]
            lost = figures["lost_by_phase"][phase]
            _expect("Data Plane Packets Lost Should Be At Most", f"packets lost ({phase})",
                    each, count, "<=", lost, "count")
            if lost > count:
                problems.append(f"{each}: {lost} of {figures['sent']} lost in "
                                f"{len(figures['outages'])} outage(s), longest "
                                f"{(figures['longest_outage'] or {}).get('duration', 0):.3f} s")
        if problems:
            raise AvailabilityError(f"Data-plane packets lost {phase} "
                                    f"{self._phase_window(result, phase)}, expected at most "
                                    f"{count}: " + " | ".join(problems) + ".")
        logger.info(f"Data-plane packets lost {phase} of {', '.join(judged)}: at most {count}.")

    # -- for other libraries' verdicts (plain Python, not keywords) --------------------

    def phases(self, probe: str = "overall", name: str = "default") -> Phases:
        """The samples of ``probe`` (``overall``: every probe's) of the monitor ``name``,
        split at the fault on its timeline: ``.fault`` (its start and end, None when not
        seen), ``.samples[phase]``, ``.failed(phase)``, ``.ok_latencies(phase)`` and
        ``.latency_percentile(phase, q)`` for ``before``, ``during``, ``after`` and
        ``all``. The monitor may be running or stopped.

        Not a keyword: the public way for a verdict to judge what this monitor saw
        (`Change Should Have Zero Impact`, another library's verdict), e.g.
        ``BuiltIn().get_library_instance("ExtremeTesting.Monitor").phases("keystone")``.
        Fails like the keywords on an unknown monitor or probe.
        """
        events = [{"phase": e["phase"], "monotonic": e["monotonic"]}
                  for e in self._result(name)["events"]]
        return split_phases(self._probe_samples(self._session(name), probe), events)

    def live_samples(self, since: float | None = None) -> dict[str, list]:
        """The samples so far of every running monitor, per probe (``<monitor>:<probe>``
        for a monitor not named ``default``), those sent at or after ``since`` (monotonic)
        when it is given; empty when none runs.

        Not a keyword: what the Safeguards library watches while a case runs (its
        emergency limits on the longest outage and the error rate so far). Never fails.
        """
        return {probe: timeline.samples() if since is None else timeline.since(since)
                for probe, timeline in self._running_timelines()}

    def live_failures(self) -> dict[str, tuple[int, int]]:
        """Per probe of every running monitor (named as in :meth:`live_samples`): its
        timeline's identity and how many of its samples have failed so far. Cheap: no
        sample is read.

        Not a keyword: the Safeguards library reads the samples only while these counts
        show a failure recent enough to matter. Never fails.
        """
        return {probe: (id(timeline), timeline.failed)
                for probe, timeline in self._running_timelines()}

    def _running_timelines(self):
        """(``<monitor>:<probe>``, or the probe's name for ``default``; its timeline) of
        every running monitor."""
        for session in list(self._sessions.values()):
            if session.result is None and session.running:
                prefix = "" if session.name == "default" else f"{session.name}:"
                for probe, timeline in session.run.timelines.items():
                    yield prefix + probe, timeline

    # -- listener: stop monitors at the end of their scope ------------------------------

    def scope_started(self, kind: str, name: str, result) -> None:
        if kind == "suite":  # `Responses Should Match Their Schemas` of=calls: this suite's
            schema_watch.CALLS.reset()

    def scope_ended(self, kind: str, name: str, result) -> list[str]:
        self._stop_scope(kind, name)
        return []

    def run_ended(self) -> None:
        for session in list(self._sessions.values()):
            if session.result is None:
                self._finish(session, None, reason="the run ended")

    # -- helpers ------------------------------------------------------------------------

    def _load_target(self) -> Target:
        if self._target is None:
            self._target = load_target(self._target_path)
        return self._target

    def _start_session(self, session: MonitorSession, scope: Scope = "auto") -> None:
        with self._lock:
            previous = self._sessions.get(session.name)
            if previous is not None and previous.result is None:
                raise MonitorError(f"Monitor '{session.name}' is already running. Stop it "
                                   f"first, or give the new one another name.")
            session.scope = _scope(scope)
            self._sessions[session.name] = session
        session.start()

    def _stop_scope(self, kind: str, full_name: str) -> None:
        for session in list(self._sessions.values()):
            if session.result is None and session.scope == (kind, full_name):
                self._finish(session, None, reason=f"its {kind} '{full_name}' ended")

    def _finish(self, session: MonitorSession, settle: float | None,
                reason: str = "") -> dict:
        result = session.stop(settle)
        if reason:
            logger.warn(f"Monitor '{session.name}' was still running when {reason}: "
                        f"stopped it then. Stop it with `Stop Availability Monitor`.")
        summary = _summary_html(result)
        picture = img_html(session.png) if session.png else ""
        results.publish("monitor", result, summary + picture)
        return result

    def _session(self, name: str) -> MonitorSession:
        session = self._sessions.get(name)
        if session is None:
            known = ", ".join(sorted(self._sessions)) or "none"
            raise MonitorError(f"No monitor named '{name}' (known: {known}). Start it with "
                               f"`Start Availability Monitor`.")
        return session

    def _result(self, name: str) -> dict:
        session = self._session(name)
        return session.result if session.result is not None else session.snapshot()

    def _figures(self, name: str, probe: str) -> tuple[dict, dict]:
        result = self._result(name)
        if probe == "overall":
            return result, result["overall"]
        if probe not in result["probes"]:
            raise MonitorError(f"Monitor '{name}' has no probe '{probe}'. Its probes: "
                               f"overall, {', '.join(sorted(result['probes']))}.")
        return result, result["probes"][probe]

    def _probe_samples(self, session: MonitorSession, probe: str) -> list:
        timelines = session.run.samples()
        if probe == "overall":
            return [s for items in timelines.values() for s in items]
        if probe not in timelines:
            raise MonitorError(f"Monitor '{session.name}' has no probe '{probe}'. Its probes: "
                               f"overall, {', '.join(sorted(timelines))}.")
        return timelines[probe]

    def _write_probe(self, name: str, probe: str):
        session = self._session(name)
        candidates = [p for p in session.write_probes if not probe or p.name == probe]
        if not candidates:
            raise MonitorError(f"Monitor '{name}' has no write probe {probe!r}. Start it with "
                               f"writes=network.")
        return candidates[0]

    @staticmethod
    def _request_ids(result: dict, entry: dict) -> str:
        """The request ids of a write's entry; when its create has none (it failed or timed
        out), when the create was sent, to find it in the service's access log."""
        ids = entry.get("request_ids") or "no request id"
        sent = entry.get("sent_t")
        if "create req-" in ids or sent is None or "origin_wall" not in result:
            return ids
        return f"{ids}, create sent at {Monitor._wall(result, sent)}"

    @staticmethod
    def _wall(result: dict, offset: float) -> str:
        """``offset`` s after the monitor's start, as the wall clock's HH:MM:SS.mmm."""
        wall = result["origin_wall"] + offset
        return dt.datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]

    @staticmethod
    def _clock(result: dict, offset: float | None) -> str:
        if offset is None:
            return "?"
        return f"{Monitor._wall(result, offset)} (t={offset:.3f} s)"

    def _window(self, result: dict, outage: dict) -> str:
        end = "still failing at " if outage["open_end"] else ""
        return (f"from {self._clock(result, outage['start'])} to {end}"
                f"{self._clock(result, outage['end'])}")

    def _phase_window(self, result: dict, phase: str) -> str:
        start, end = self._phase_bounds(result, phase)
        return f"(from {self._clock(result, start)} to {self._clock(result, end)})"

    @staticmethod
    def _phase_bounds(result: dict, phase: str) -> tuple[float, float]:
        """The phase's span in the result's seconds (as the messages give it)."""
        start, end = 0.0, result["duration"]
        fault = result["fault"]
        if phase == "before" and fault["start"] is not None:
            end = fault["start"]
        elif phase == "during":
            start = fault["start"] if fault["start"] is not None else start
            end = fault["end"] if fault["end"] is not None else end
        elif phase in ("after", "after recovery") and fault["end"] is not None:
            start = fault["end"]
            if phase == "after recovery":
                recovery = result["overall"]["recovery"].get("seconds")
                start += recovery or 0.0
        return start, end


def _expect(keyword_name: str, what: str, probe: str, limit: float, comparison: str,
            measured: float | None, unit: str, uncertainty: float | None = None) -> None:
    """The expectation record of one comparison (``subject`` "" is the overall figure)."""
    results.publish_expectation(keyword_name, what, limit, comparison, measured, unit=unit,
                                subject="" if probe == "overall" else probe,
                                uncertainty=uncertainty)


def _wait_for_baseline(session, baseline: timedelta, grace: float, who: str,
                       caveat: str = "") -> None:
    """Lets a monitor just started run ``baseline`` (up to ``grace`` s more until every
    probe has a sample), so that a fault injected next has a steady state before it; warns
    naming the probes still without a sample."""
    seconds = baseline.total_seconds()
    if seconds <= 0:
        return
    empty = session.wait_for_baseline(seconds, seconds + grace)
    if empty:
        logger.warn(f"{who}: no sample of {', '.join(empty)} yet after the {seconds:g} s "
                    f"baseline{caveat}.")


def _html_table(header: tuple[str, ...], rows) -> str:
    """A table for log.html, every cell escaped."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _names(value: list[str] | str | None) -> list[str] | None:
    if value is None or isinstance(value, list):
        return value
    return [part.strip() for part in value.split(",") if part.strip()]


def _full_name(result) -> str:
    return str(getattr(result, "full_name", None) or getattr(result, "longname", ""))


def _scope(scope: str) -> tuple[str, str]:
    if scope == "global":
        return ("global", "")
    try:
        from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

        variables = BuiltIn()
        suite = variables.get_variable_value("${SUITE NAME}")
        test = variables.get_variable_value("${TEST NAME}")
    except (ImportError, RobotNotRunningError):
        return ("global", "")
    if suite is None:
        return ("global", "")
    if scope == "suite" or (scope == "auto" and test is None):
        return ("suite", str(suite))
    if test is None:
        raise MonitorError("scope=test needs a running test; use scope=suite in a suite setup.")
    return ("test", f"{suite}.{test}")


def _summary_html(result: dict) -> str:
    def seconds(value) -> str:
        return "-" if value is None else f"{value:.3f} s"

    rows = []
    for name, figures in [("overall", result["overall"]), *result["probes"].items()]:
        longest = figures["longest_outage"]
        rate = figures["error_rate"]["all"]
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{figures['samples']}</td>"
            f"<td>{'-' if rate is None else f'{rate * 100:.2f} %'}</td>"
            f"<td>{len(figures['outages'])}</td><td>{seconds(figures['total_outage'])}</td>"
            f"<td>{seconds(longest['duration'] if longest else None)}</td>"
            f"<td>{seconds(figures['recovery']['seconds'])}</td>"
            f"<td>{seconds(figures['latency']['all']['p99'])}</td></tr>")
    writes = "".join(
        f"<p>{html.escape(name)}: {f['checked']} writes, {len(f['lost'])} lost, "
        f"{len(f['duplicates'])} duplicated, {len(f.get('deleted_twice') or [])} deleted "
        f"twice, {len(f['non_recoverable'])} stuck, "
        f"{len(f['unconfirmed'])} unconfirmed{', ' + html.escape(f['error']) if f['error'] else ''}"
        f"</p>" for name, f in result["writes"].items())
    balancer = result.get("load_balancer") or {}
    writes += "".join(
        f"<p>Load balancer took {html.escape(r['backend'])}/{html.escape(r['server'])} out "
        f"of rotation {r['seconds']:.3f} s (± {r['uncertainty']:.3f} s) after the first "
        f"failed request of {html.escape(r['service'])}"
        f"{' (before any failed)' if r['before_any_failure'] else ''}.</p>"
        for r in balancer.get("removals") or [])
    if balancer.get("errors"):
        writes += (f"<p>Load balancer: {balancer['errors']} of its reads failed "
                   f"({html.escape(balancer['last_error'])}).</p>")
    if result.get("schemas"):
        writes += (f"<p>Response schemas: "
                   f"{html.escape(schema_watch.summary(result['schemas']))}.</p>")
    sched = result["scheduling"]
    return (f"<p>Monitor <b>{html.escape(result['monitor'])}</b>: {result['duration']:.1f} s, "
            f"fault {result['fault']}, lag p99 {seconds(sched['lag_p99'])}, "
            f"{sched['missed_slots']} missed slots, CPU {result['cpu_share']}</p>"
            f"<table border='1'><tr><th>probe</th><th>samples</th><th>errors</th>"
            f"<th>outages</th><th>total</th><th>longest</th><th>recovery</th>"
            f"<th>p99 latency</th></tr>{''.join(rows)}</table>{writes}")

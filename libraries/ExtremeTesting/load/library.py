"""The Robot-facing Load library: a thin layer over runners, engines, stats and clean-up."""

from __future__ import annotations

import base64
import html
import itertools
import math
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from robot.api import logger
from robot.api.deco import keyword, library

from ..results import verdict
from .. import __version__, events, results
from .. import vocabulary
from ..errors import ExtremeError
from ..lifecycle import ScopedResources, ScopeListener
from . import stats as load_stats
from .cleanup import CleanupReport, clean_up, leftovers
from .locust_engine import LocustRunner
from .runners import InProcessRunner, LoadPlan, RunOutcome
from .samples import Sample
from .workloads import CREATES_RESOURCES, ConnectionSpec, canonical, check_params, resolve


class Engine(Enum):
    """Where the load runs.

    - ``auto``: in this process for up to ``locust_threshold`` workers and one process,
      Locust otherwise.
    - ``inprocess``: threads in the Robot process; cheapest for small loads.
    - ``locust``: a Locust process (``processes`` > 1 forks Locust workers on this
      machine); see docs/distributed-load.rst for several machines.
    """

    auto = "auto"
    inprocess = "inprocess"
    locust = "locust"


class SlaViolation(ExtremeError, AssertionError):
    """A load figure broke its limit. Continuable: every SLA of a test is reported."""

    ROBOT_CONTINUE_ON_FAILURE = True


class NoLoadResult(ExtremeError):
    """An assertion was asked about a load that has not run."""


@dataclass
class LoadResult:
    """What one load measured; ``figures`` holds what was published to the report."""

    name: str
    plan: LoadPlan
    summary: load_stats.LoadSummary
    samples: list[Sample]
    outcome: RunOutcome
    events: list = field(default_factory=list)
    cleanup: CleanupReport | None = None
    png: str = ""

    @property
    def figures(self) -> dict:
        return self.summary.as_dict() | {"png": self.png, "name": self.name,
                                         "prefix": self.plan.prefix}

    def __str__(self) -> str:
        s = self.summary
        return (f"{self.name}: {s.requests} requests, {s.failures} failed, "
                f"p95 {_ms(s.p95)}, {s.throughput:.1f}/s")


@dataclass
class _Background:
    result: LoadResult | None = None
    error: BaseException | None = None
    runner: Any = None
    thread: threading.Thread | None = None
    test: str | None = None
    suite: str | None = None
    finish: Callable[[RunOutcome], LoadResult] | None = None


def _ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.0f} ms"


def _expect(keyword_name: str, what: str, result: LoadResult, limit: float, comparison: str,
            measured: float | None, unit: str) -> None:
    """The expectation record of one SLA comparison (NaN: nothing measured)."""
    if measured is not None and math.isnan(measured):
        measured = None
    results.publish_expectation(keyword_name, what, limit, comparison, measured, unit=unit,
                                subject=result.plan.workload)


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Load(ScopedResources):
    """Concurrent workloads against the cloud, with limits on errors, latency and throughput.

    %TOC%

    = Importing =
    | ***** Settings *****
    | Library    ExtremeTesting.Load    ${TARGET}
    | Library    ExtremeTesting.Load    ${TARGET}    request_timeout=30 s    engine=thread

    The arguments are described under `Importing` below the introduction.

    = Workloads =
    | *Name*                      | *One iteration*                                           |
    | ``issue token``             | validate the held token; log in every ``login_every`` (50) |
    | ``list resources``          | list ``resource=`` servers, images, networks, ports... (*) |
    | ``show resource``           | show ``resource=``: project (default), image, network, flavor |
    | ``boot and delete server``  | boot (no network), wait ACTIVE, delete (``image=``...) (*) |
    | ``create and delete network`` | a network and a port on it                              |
    | ``upload and delete image`` | a small raw image (``size=`` bytes)                       |
    | ``create and delete project and user`` | a project and a user in it (``domain=``)       |
    | ``package.module:function`` | yours: ``function(ctx)`` runs one iteration, raises on failure |
    (*) ``list resources``: ``resource=`` servers, images, networks, ports, projects or
    flavors, or several comma-separated, listed in turn (default: all of them).
    ``boot and delete server``: ``image=`` and ``flavor=`` (names or ids; default the first
    image and the smallest flavor), ``wait=`` (seconds, default 120).

    Extra named arguments of the run keywords reach the workload as ``ctx.params``; a
    built-in workload refuses, before the load starts, a parameter it does not take or a
    value it cannot take.
    Every resource a load creates is named ``xload-<run>-<n>-...`` and whatever is left
    when the load ends is deleted by that prefix (`Clean Up Load Resources`).

    = Runners =
    - Constant concurrency: ``concurrency`` workers, each starting its next iteration when
      its last one ends, for a ``duration`` and/or an ``iterations`` count.
    - Constant rate: ``rate`` iterations started per second, reached linearly over
      ``ramp_up``, whatever the cloud's latency (a pool of ``workers`` serves them; an
      iteration for which no worker was free by the end is counted as not started).
    Every iteration is a sample in the monitor's format (monotonic and wall start/end,
    ok, status, error, request id), so load and monitor draw on one timeline; fault
    events of `ExtremeTesting.Faults`, `Power` and `Switch` are drawn on the load's PNG.

    = Engines =
    Small loads run in threads in the Robot process. Larger ones run in Locust as its own
    process (Locust cannot be imported into the Robot process); credentials reach it
    through the environment (clouds.yaml via ``OS_CLIENT_CONFIG_FILE``), never argv. The
    process has a hard timeout and is killed at the end of the keyword, or of the test
    that started it in the background.

    = Limits =
    Each assertion fails with the figure it measured, and continues the test so that
    every limit is reported:
    | `Load Error Rate Should Be Below`     | 1%     |
    | `Load Failed Iterations Should Be At Most` | 0 |
    | `Load Percentile Should Be Below`     | p95    | 800 ms |
    | `Load Max Duration Should Be Below`   | 5 s    |
    | `Load Throughput Should Be At Least`  | 20     |
    | `Load Achieved Rate Should Be At Least` | 90%  |

    = Examples =
    | ${load} =    `Run Constant Rate Load`    issue token    rate=20    duration=60 s
    | `Load Error Rate Should Be Below`    0.5%
    | `Load Percentile Should Be Below`    p99    1 s
    |
    | `Start Constant Concurrency Load`    boot and delete server    concurrency=5
    | ...    duration=2 min
    | Restart Service    nova-api    on=ctl1
    | ${load} =    `Wait For Load`
    | `Load Error Rate Should Be Below`    5%

    = Load or Monitor? =
    `Load Error Rate Should Be Below` judges the iterations of one workload this library
    ran; the Monitor's `Error Rate Should Be Below` judges its probes, the cloud as its
    users see it, before, during and after a fault. `Load Failure Rate Should Be Below`
    is the deprecated old name of the first (kept until 1.0).

    = What it never does =
    - It never puts a credential on a command line: Locust gets clouds.yaml through the
      environment (``OS_CLIENT_CONFIG_FILE``), never argv.
    - It never leaves a load running or its resources behind on purpose: a background
      load stops with its test, and what a load created is deleted by its prefix
      (``xload-<run>-``) when it ends.

    = pabot =
    See ``ExtremeTesting.load.pabot`` for value sets of nodes and BMCs, ``Run Setup Only
    Once`` and the destructive lock (taken by the Faults library, not here).
    """

    def __init__(self, target: str | None = None, cloud: str | None = None,
                 engine: Engine = Engine.auto, locust_threshold: int = 50,
                 request_timeout: timedelta = timedelta(seconds=30)):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``cloud``: the clouds.yaml entry, overriding the target's; ``engine``: the default
        engine; ``locust_threshold``: above this many workers ``auto`` picks Locust;
        ``request_timeout``: each API request's timeout."""
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)  # the one scope listener
        self.default_engine = engine
        self.locust_threshold = locust_threshold
        self.request_timeout = request_timeout.total_seconds()
        self._target_arg, self._cloud_arg = target, cloud
        self._connection: dict | None = None
        self._run_id = secrets.token_hex(2)
        self._counter = itertools.count(1)
        self._last: LoadResult | None = None
        self._background: dict[str, _Background] = {}
        self._current_test: str | None = None
        self._suites: list[str] = []
        self.connect_factory: Callable[[], Any] | None = None  # tests put a fake here

    # --- connection -------------------------------------------------------------------
    def _connection_spec(self) -> dict:
        if self._connection is None:
            from ..cloud.connection import settings_for
            from ..target import load_if_any

            chosen = settings_for(load_if_any(self._target_arg), self._cloud_arg)
            self._connection = {"cloud": chosen.cloud or "",
                                "clouds_yaml": str(chosen.clouds_yaml or ""),
                                "timeout": self.request_timeout}
        return self._connection

    def _connect(self) -> Callable[[], Any] | None:
        if self.connect_factory is not None:
            return self.connect_factory
        spec = self._connection_spec()
        if not spec["cloud"] and not os.environ.get("OS_AUTH_URL"):
            return None
        return ConnectionSpec(**spec).connect

    # --- running ----------------------------------------------------------------------
    def _plan(self, workload: str, mode: str, concurrency: int, rate: float,
              duration: timedelta | None, iterations: int | None, ramp_up: timedelta,
              params: dict) -> LoadPlan:
        check_params(workload, params)
        number = next(self._counter)
        return LoadPlan(workload=canonical(workload), mode=mode, concurrency=concurrency,
                        rate=rate, duration=duration.total_seconds() if duration else None,
                        iterations=iterations, ramp_up=ramp_up.total_seconds(),
                        params=dict(params), prefix=f"xload-{self._run_id}-{number}-",
                        timeout=self.request_timeout).check()

    def _engine(self, engine: Engine | None, plan: LoadPlan, processes: int) -> Engine:
        engine = engine or self.default_engine
        if engine is Engine.auto:
            small = plan.concurrency <= self.locust_threshold and processes <= 1
            return Engine.inprocess if small else Engine.locust
        return engine

    def _runner(self, plan: LoadPlan, engine: Engine, processes: int):
        if engine is Engine.locust:
            return LocustRunner(plan, self._connection_spec(), processes=processes,
                                workdir=self._workdir(plan))
        return InProcessRunner(plan, resolve(plan.workload), self._connect())

    def _workdir(self, plan: LoadPlan) -> Path:
        return Path(self._output_dir()) / "load" / plan.prefix.rstrip("-")

    @staticmethod
    def _output_dir() -> str:
        try:
            from robot.libraries.BuiltIn import BuiltIn

            return str(BuiltIn().get_variable_value("${OUTPUT DIR}") or os.getcwd())
        except Exception:  # noqa: BLE001 - outside a Robot run
            return os.getcwd()

    def _finish(self, plan: LoadPlan, engine: Engine, outcome: RunOutcome,
                clean: bool) -> LoadResult:
        summary = load_stats.summarise(
            outcome.samples, workload=plan.workload, engine=engine.value, mode=plan.mode,
            started=outcome.started, ended=outcome.ended, concurrency=plan.concurrency,
            ramp_up=plan.ramp_up, requested_rate=plan.rate if plan.mode == "rate" else None,
            not_started=outcome.not_started, unfinished=outcome.unfinished,
            window=(plan.duration - plan.ramp_up) if plan.duration else None,
            max_in_flight=outcome.max_in_flight or None)
        result = LoadResult(name=plan.prefix.rstrip("-"), plan=plan, summary=summary,
                            samples=outcome.samples, outcome=outcome,
                            events=events.between(outcome.started, outcome.ended))
        if clean:
            result.cleanup = self._clean(plan.prefix)
        return result

    def _clean(self, prefix: str) -> CleanupReport | None:
        connect = self._connect()
        if connect is None:
            return None
        conn = connect()
        try:
            return clean_up(conn, prefix, wait=max(60.0, self.request_timeout * 2))
        finally:
            close = getattr(conn, "close", None)
            if close:
                close()

    def _should_clean(self, plan: LoadPlan, clean_up_: bool | None) -> bool:
        if clean_up_ is not None:
            return clean_up_
        return plan.workload in CREATES_RESOURCES

    def _run(self, plan: LoadPlan, engine: Engine | None, processes: int,
             clean: bool | None) -> LoadResult:
        chosen = self._engine(engine, plan, processes)
        logger.info(f"Load '{plan.workload}' ({plan.mode}) on engine {chosen.value}, "
                    f"names '{plan.prefix}*'.")
        outcome = self._runner(plan, chosen, processes).run()
        result = self._finish(plan, chosen, outcome, self._should_clean(plan, clean))
        self._report(result)
        return result

    @keyword
    def run_constant_rate_load(self, workload: str, rate: float, duration: timedelta,
                               ramp_up: timedelta = timedelta(0), workers: int = 32,
                               engine: Engine | None = None, processes: int = 1,
                               clean_up: bool | None = None, **params: Any) -> LoadResult:
        """Starts ``rate`` iterations of ``workload`` a second for ``duration`` and returns the
        result.

        ``duration`` includes the ``ramp_up``, over which the rate grows linearly. Up to
        ``workers`` concurrent workers serve the iterations; one no worker was free for by the
        end counts as not started. ``engine``: ``thread``, ``locust`` or ``auto`` (default: the
        library's); ``processes``: Locust worker processes. ``clean_up``: delete what is left by
        the load's prefix afterwards (default: for the built-in workloads that create resources).
        Other named arguments (``params``) go to the workload (`Workloads` lists what each
        built-in one takes).

        Fails, before starting, on an unknown workload, wrong arguments, or a parameter a
        built-in workload does not take or a value it cannot take (``resource=image`` for
        ``list resources``, which takes ``images``); fails when the engine
        cannot run the load or its clean-up is incomplete. Failed iterations do not fail it:
        judge them with `Load Error Rate Should Be Below`.

        | ${load} =    `Run Constant Rate Load`    issue token    rate=20    duration=1 min
        | `Load Error Rate Should Be Below`    1%    result=${load}
        """
        plan = self._plan(workload, "rate", workers, rate, duration, None, ramp_up, params)
        return self._run(plan, engine, processes, clean_up)

    @keyword
    def run_constant_concurrency_load(self, workload: str, concurrency: int,
                                      duration: timedelta | None = None,
                                      iterations: int | None = None,
                                      ramp_up: timedelta = timedelta(0),
                                      engine: Engine | None = None, processes: int = 1,
                                      clean_up: bool | None = None,
                                      **params: Any) -> LoadResult:
        """Runs ``workload`` in ``concurrency`` workers back to back and returns the result.

        Runs for ``duration`` and/or ``iterations`` in total, reaching ``concurrency`` over
        ``ramp_up``. ``engine``, ``processes``, ``clean_up`` and ``params`` as in
        `Run Constant Rate Load`. Fails as `Run Constant Rate Load` does.

        | ${load} =    `Run Constant Concurrency Load`    boot and delete server    5
        | ...    iterations=20
        """
        plan = self._plan(workload, "concurrency", concurrency, 0.0, duration, iterations,
                          ramp_up, params)
        return self._run(plan, engine, processes, clean_up)

    def _start(self, plan: LoadPlan, engine: Engine | None, processes: int,
               clean: bool | None) -> str:
        chosen = self._engine(engine, plan, processes)
        runner = self._runner(plan, chosen, processes)
        should_clean = self._should_clean(plan, clean)
        handle = plan.prefix.rstrip("-")
        job = _Background(runner=runner, test=self._current_test,
                          suite=self._suites[-1] if self._suites else None,
                          finish=lambda outcome: self._finish(plan, chosen, outcome,
                                                              should_clean))

        def work() -> None:
            try:
                job.result = job.finish(runner.run())
            except BaseException as error:  # noqa: BLE001 - handed to Wait For Load
                job.error = error

        job.thread = threading.Thread(target=work, name=f"load-{handle}", daemon=True)
        self._background[handle] = job
        job.thread.start()
        logger.info(f"Started load '{plan.workload}' ({plan.mode}, {chosen.value}) as "
                    f"{handle}.")
        return handle

    @keyword
    def start_constant_rate_load(self, workload: str, rate: float, duration: timedelta,
                                 ramp_up: timedelta = timedelta(0), workers: int = 32,
                                 engine: Engine | None = None, processes: int = 1,
                                 clean_up: bool | None = None, **params: Any) -> str:
        """Starts `Run Constant Rate Load` in the background and returns a handle.

        Arguments (``workload``, ``rate``, ``duration``, ``ramp_up``, ``workers``, ``engine``,
        ``processes``, ``clean_up``, ``params``) as there. Give the handle to `Wait For Load` or
        `Stop Load`; a load left running is stopped when its test ends. Fails, before starting,
        on an unknown workload or wrong arguments.

        | `Start Constant Rate Load`    issue token    rate=2    duration=10 min
        | Kill Service    keystone    on=ctl1
        | ${load} =    `Stop Load`
        """
        plan = self._plan(workload, "rate", workers, rate, duration, None, ramp_up, params)
        return self._start(plan, engine, processes, clean_up)

    @keyword
    def start_constant_concurrency_load(self, workload: str, concurrency: int,
                                        duration: timedelta | None = None,
                                        iterations: int | None = None,
                                        ramp_up: timedelta = timedelta(0),
                                        engine: Engine | None = None, processes: int = 1,
                                        clean_up: bool | None = None,
                                        **params: Any) -> str:
        """Starts `Run Constant Concurrency Load` in the background and returns a handle.

        Arguments (``workload``, ``concurrency``, ``duration``, ``iterations``, ``ramp_up``,
        ``engine``, ``processes``, ``clean_up``, ``params``) as there. Give the handle to
        `Wait For Load` or `Stop Load`; a load left running is stopped when its test ends. Fails,
        before starting, on an unknown workload or wrong arguments.

        | ${handle} =    `Start Constant Concurrency Load`    boot and delete server    5
        | ...    duration=2 min
        """
        plan = self._plan(workload, "concurrency", concurrency, 0.0, duration, iterations,
                          ramp_up, params)
        return self._start(plan, engine, processes, clean_up)

    def _job(self, handle: str | None) -> tuple[str, _Background]:
        if not self._background:
            raise NoLoadResult("No load runs in the background. Expected one started with "
                               "'Start Constant Rate Load' or 'Start Constant Concurrency "
                               "Load'.")
        key = handle or list(self._background)[-1]
        if key not in self._background:
            raise NoLoadResult(f"No background load '{key}'. Running: "
                               f"{', '.join(self._background)}.")
        return key, self._background[key]

    @keyword
    def wait_for_load(self, handle: str | None = None,
                      timeout: timedelta | None = None) -> LoadResult:
        """Waits until a background load ends and returns its result.

        ``handle``: the load (default: the last started). ``timeout``: stop it if it has not
        ended by then (default: its plan's own bound). Fails when no such load runs, and with the
        load's own error when its engine failed.

        | ${load} =    `Wait For Load`    timeout=5 min
        """
        key, job = self._job(handle)
        assert job.thread is not None
        limit = timeout.total_seconds() if timeout else None
        job.thread.join(timeout=limit if limit is not None else
                        job.runner.plan.span + 2 * job.runner.plan.grace_seconds + 60)
        if job.thread.is_alive():
            job.runner.stop()
            job.thread.join(timeout=job.runner.plan.grace_seconds + 15)
        return self._collect(key, job)

    @keyword
    def stop_load(self, handle: str | None = None) -> LoadResult:
        """Stops a background load now (iterations in flight finish) and returns its result.

        ``handle``: the load (default: the last started). A load that already ended by itself
        (its ``duration`` or ``iterations``) is returned as it ended. Fails when no such load
        was started, or its result was already taken (by `Stop Load` or `Wait For Load`), and
        with the load's own error when its engine failed.

        | ${load} =    `Stop Load`
        | `Load Max Duration Should Be Below`    30 s    result=${load}
        """
        key, job = self._job(handle)
        job.runner.stop()
        assert job.thread is not None
        job.thread.join(timeout=job.runner.plan.grace_seconds + 15)
        return self._collect(key, job)

    def _collect(self, key: str, job: _Background) -> LoadResult:
        self._background.pop(key, None)
        if job.error is not None:
            raise job.error
        if job.result is None:
            raise ExtremeError(f"Load {key} did not end within its bound; it was stopped "
                               "and its threads abandoned. Check the cloud's responsiveness "
                               "and the request timeout.")
        self._report(job.result)
        return job.result

    # --- reporting --------------------------------------------------------------------
    def _report(self, result: LoadResult) -> None:
        self._last = result
        s = result.summary
        png = b""
        try:
            from .plot import render_png

            title = (f"{s.workload}: {s.requests} iterations, {s.failures} failed, "
                     f"{s.mode} {result.plan.rate if s.mode == 'rate' else s.concurrency}")
            png = render_png(result.samples, result.outcome.started, title, result.events)
            path = Path(self._output_dir()) / f"{result.name}.png"
            path.write_bytes(png)
            result.png = path.name
        except Exception as error:  # noqa: BLE001 - a missing picture must not fail a load
            logger.warn(f"Could not draw the load's PNG: {error}")
        data = result.figures | self._during_fault(result)
        if result.cleanup is not None:
            data["cleanup"] = {"deleted": result.cleanup.count,
                               "remaining": result.cleanup.remaining,
                               "failed": result.cleanup.failed}
        results.publish("load", data, self._summary_html(result, png))
        if result.cleanup is not None:
            (logger.info if result.cleanup.clean else logger.warn)(result.cleanup.describe())

    @staticmethod
    def _during_fault(result: LoadResult) -> dict:
        """The monitor's outage analysis of the load's own samples, when a fault fell in it."""
        if not result.events or not result.samples:
            return {}
        try:
            from ..monitor.analysis import analyze

            return {"during_fault": analyze({result.summary.workload: result.samples},
                                            [e.as_dict() for e in result.events],
                                            result.outcome.started)["overall"]}
        except Exception as error:  # noqa: BLE001 - figures without it are still right
            logger.debug(f"No outage analysis of the load: {error}")
            return {}

    @staticmethod
    def _summary_html(result: LoadResult, png: bytes) -> str:
        s = result.summary
        rows = [("iterations", s.requests), ("failed", f"{s.failures} ({s.failure_rate:.2%})"),
                ("p50 / p90 / p95 / p99",
                 " / ".join(_ms(v) for v in (s.p50, s.p90, s.p95, s.p99))),
                ("max", _ms(s.max)), ("throughput", f"{s.throughput:.2f}/s"),
                ("requested / achieved rate",
                 f"{s.requested_rate or '-'} / {s.achieved_rate:.2f}/s"),
                ("concurrency (max in flight)", f"{s.concurrency} ({s.max_in_flight})"),
                ("engine, elapsed", f"{s.engine}, {s.elapsed:.1f} s")]
        if s.not_started or s.unfinished:
            rows.append(("not started / unfinished", f"{s.not_started} / {s.unfinished}"))
        for error, count in s.errors.items():
            rows.append((f"error ×{count}", error))
        if result.cleanup is not None:
            rows.append(("clean-up", result.cleanup.describe()))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                       f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
        image = (f"<br><img alt='load timeline' src='data:image/png;base64,"
                 f"{base64.b64encode(png).decode()}'>" if png else "")
        return (f"<b>Load {html.escape(result.name)}: {html.escape(s.workload)}</b>"
                f"<table border='1' style='border-collapse:collapse'>{body}</table>{image}")

    # --- assertions -------------------------------------------------------------------
    def _result(self, result: LoadResult | None) -> LoadResult:
        found = result or self._last
        if found is None:
            raise NoLoadResult("No load has run yet in this library instance: run one with "
                               "'Run Constant Rate Load' or 'Run Constant Concurrency Load' "
                               "first, or pass its result.")
        return found

    @staticmethod
    def _violation(result: LoadResult, what: str) -> SlaViolation:
        s = result.summary
        context = (f"({s.requests} iterations of '{s.workload}', {s.mode}, "
                   f"{s.throughput:.1f}/s, {s.failures} failed; see {result.png or 'the log'})")
        return SlaViolation(f"Load {result.name}: {what} {context}.")

    @verdict("Load Error Rate Should Be Below")
    def load_failure_rate_should_be_below(self, limit: str,
                                          result: LoadResult | None = None) -> float:
        """Checks that the share of failed iterations of a load is below ``limit``; returns it.

        ``limit`` is a percentage: ``1`` and ``1%`` both mean one percent (above 0, at most
        100: the rule of every rate in every library). ``result`` is a load's result (default:
        the last load that ended). Fails with the rate and the counts measured (the failure
        continues the test, so that every limit is reported), and when no iteration ran.

        This judges the iterations of one workload; to judge the availability monitor's probes
        before, during or after a fault, use the Monitor's `Error Rate Should Be Below`.

        | `Load Error Rate Should Be Below`    1%
        | `Load Error Rate Should Be Below`    0.5%    result=${load}
        """
        bound = vocabulary.rate(limit, "error rate")
        r = self._result(result)
        seen = r.summary.failure_rate
        _expect("Load Error Rate Should Be Below", "failure rate", r, bound, "<",
                seen * 100 if r.summary.requests else None, "%")
        if r.summary.requests == 0:
            raise self._violation(r, "no iteration ran, so no failure rate can be measured")
        if not seen * 100 < bound:
            raise self._violation(r, f"failure rate was {seen * 100:.2f} % "
                                     f"({r.summary.failures} of {r.summary.requests}), "
                                     f"expected below {bound:g} %")
        logger.info(f"Failure rate {seen * 100:.2f} % < {bound:g} %.")
        return seen

    @verdict
    def load_failed_iterations_should_be_at_most(self, count: int = 0,
                                                 result: LoadResult | None = None) -> int:
        """Checks that at most ``count`` iterations of a load failed; returns how many did.

        ``count`` defaults to 0: not one failed iteration (a rate cannot say "none": use this
        where every request must succeed). ``result`` is a load's result (default: the last
        load that ended). Fails with the number failed, of how many, and the errors seen (the
        failure continues the test, so that every limit is reported), and when no iteration
        ran.

        | `Load Failed Iterations Should Be At Most`    0    result=${load}
        """
        r = self._result(result)
        s = r.summary
        _expect("Load Failed Iterations Should Be At Most", "failed iterations", r, count, "<=",
                s.failures if s.requests else None, "count")
        if s.requests == 0:
            raise self._violation(r, "no iteration ran, so none can be judged")
        if s.failures > count:
            errors = "; ".join(f"{error} x{n}" for error, n in s.errors.items())
            raise self._violation(r, f"{s.failures} of {s.requests} iterations failed, "
                                     f"expected at most {count} ({errors})")
        logger.info(f"{s.failures} of {s.requests} iterations failed (at most {count}).")
        return s.failures

    @verdict("Load Failure Rate Should Be Below")
    def load_failure_rate_should_be_below_deprecated(self, limit: str,
                                                     result: LoadResult | None = None) -> float:
        """*DEPRECATED until 1.0.* Use `Load Error Rate Should Be Below`, its new name.

        Checks that the share of failed iterations is below ``limit``, as the new name does.
        """
        return self.load_failure_rate_should_be_below(limit, result)

    @verdict
    def load_percentile_should_be_below(self, percentile: str, limit: timedelta,
                                        result: LoadResult | None = None) -> float:
        """Checks that the ``percentile`` (``p95``, ``99``...) of iteration durations is below
        ``limit``.

        Returns it in seconds; ``result`` is a load's result (default: the last load that ended).
        Failed iterations count too: a fast error is not a good answer, so also assert the error
        rate. Fails with the figure measured (the failure continues the test, so that every limit
        is reported).

        | `Load Percentile Should Be Below`    p95    800 ms    result=${load}
        """
        p = vocabulary.percentile(percentile)
        r = self._result(result)
        seen = load_stats.percentile([s.duration for s in r.samples], p)
        bound = limit.total_seconds()
        _expect("Load Percentile Should Be Below", f"p{p:g} duration", r, bound, "<", seen, "s")
        if math.isnan(seen):
            raise self._violation(r, f"p{p:g} cannot be measured: no iteration ran")
        if not seen < bound:
            raise self._violation(r, f"p{p:g} duration was {_ms(seen)}, expected below "
                                     f"{_ms(bound)}")
        logger.info(f"p{p:g} {_ms(seen)} < {_ms(bound)}.")
        return seen

    @verdict
    def load_max_duration_should_be_below(self, limit: timedelta,
                                          result: LoadResult | None = None) -> float:
        """Checks that the longest iteration of a load took less than ``limit``; returns it.

        ``result`` is a load's result (default: the last load that ended). Fails with the longest
        duration measured (the failure continues the test, so that every limit is reported).

        | `Load Max Duration Should Be Below`    5 s    result=${load}
        """
        r = self._result(result)
        seen, bound = r.summary.max, limit.total_seconds()
        _expect("Load Max Duration Should Be Below", "longest iteration", r, bound, "<", seen,
                "s")
        if math.isnan(seen) or not seen < bound:
            raise self._violation(r, f"the longest iteration took {_ms(seen)}, expected "
                                     f"below {_ms(bound)}")
        logger.info(f"max {_ms(seen)} < {_ms(bound)}.")
        return seen

    @verdict
    def load_throughput_should_be_at_least(self, per_second: float,
                                           result: LoadResult | None = None) -> float:
        """Checks that iterations completed per second, over the whole load, reached ``per_second``.

        Returns the throughput; ``result`` is a load's result (default: the last load that
        ended). Fails with the throughput measured (the failure continues the test, so that every
        limit is reported).

        | `Load Throughput Should Be At Least`    20    result=${load}
        """
        r = self._result(result)
        seen = r.summary.throughput
        _expect("Load Throughput Should Be At Least", "throughput", r, per_second, ">=", seen,
                "req/s")
        if seen < per_second:
            raise self._violation(r, f"throughput was {seen:.2f}/s, expected at least "
                                     f"{per_second:g}/s")
        logger.info(f"throughput {seen:.2f}/s >= {per_second:g}/s.")
        return seen

    @verdict
    def load_achieved_rate_should_be_at_least(self, share: str = "90%",
                                              result: LoadResult | None = None) -> float:
        """Checks that a constant-rate load started at least ``share`` of its requested rate.

        Counts after the ramp-up: the runner, and the cloud, kept up. ``share`` is a
        percentage: ``90%`` (default) or ``90``, the rule of every rate; ``result`` is a
        load's result (default: the last load that ended).
        Returns the achieved rate. Fails with the rate achieved and how many iterations were not
        started (the failure continues the test, so that every limit is reported), and when the
        load was not a constant-rate one.

        | `Load Achieved Rate Should Be At Least`    95%    result=${load}
        """
        percent = vocabulary.rate(share, "share")
        r = self._result(result)
        s = r.summary
        if not s.requested_rate:
            raise NoLoadResult(f"Load {r.name} was not a constant-rate load.")
        bound = percent / 100 * s.requested_rate
        _expect("Load Achieved Rate Should Be At Least", "achieved rate", r, bound, ">=",
                s.achieved_rate, "req/s")
        if s.achieved_rate < bound:
            raise self._violation(r, f"achieved {s.achieved_rate:.2f}/s of the requested "
                                     f"{s.requested_rate:g}/s, expected at least {bound:.2f}/s "
                                     f"({s.not_started} not started)")
        return s.achieved_rate

    @keyword
    def get_load_samples(self, result: LoadResult | None = None) -> list[dict]:
        """Returns every iteration of a load as a dictionary (the monitor's sample fields).

        ``result`` is a load's result (default: the last load that ended). Fails when no load has
        run yet.
        """
        return [s.record() for s in self._result(result).samples]

    @keyword
    def clean_up_load_resources(self, prefix: str | None = None) -> int:
        """Deletes every resource whose name starts with ``prefix``; returns how many.

        ``prefix`` defaults to every load of this run, ``xload-<run>-``. Fails listing what could
        not be deleted, and when the library has no cloud configured.

        | `Clean Up Load Resources`
        """
        report = self._clean(prefix or f"xload-{self._run_id}-")
        if report is None:
            raise NoLoadResult("No cloud is configured: import the library with a target "
                               "or cloud to clean up.")
        logger.info(report.describe())
        if not report.clean:
            raise ExtremeError(f"Load clean-up incomplete. {report.describe()} Delete them "
                               "by hand or retry.")
        return report.count

    @keyword
    def get_leftover_load_resources(self, prefix: str | None = None) -> list[str]:
        """Returns ``kind name`` of every resource still named ``prefix*``, deleting nothing.

        ``prefix`` defaults to every load of this run: what a test asserts to be empty. Fails
        when the library has no cloud configured or a listing fails.

        | ${left} =    `Get Leftover Load Resources`
        | Should Be Empty    ${left}
        """
        connect = self._connect()
        if connect is None:
            raise NoLoadResult("No cloud is configured: import the library with a target "
                               "or cloud.")
        conn = connect()
        try:
            return leftovers(conn, prefix or f"xload-{self._run_id}-")
        finally:
            close = getattr(conn, "close", None)
            if close:
                close()

    # --- scope hooks (the lifecycle's ScopeListener): a background load ends with its test
    def scope_started(self, kind: str, name: str, result) -> None:
        if kind == "suite":
            self._suites.append(name)
        else:
            self._current_test = name

    def scope_ended(self, kind: str, name: str, result) -> list[str]:
        if kind == "test":
            self._stop_background(lambda job: job.test == name)
            self._current_test = None
        else:
            self._stop_background(lambda job: job.suite in (name, None))
            if self._suites:
                self._suites.pop()
        return []

    def run_ended(self) -> None:
        for job in list(self._background.values()):
            job.runner.stop()

    def _stop_background(self, which: Callable[[_Background], bool]) -> None:
        for key, job in list(self._background.items()):
            if which(job):
                logger.warn(f"Background load {key} was still running at the end of its "
                            "scope; stopping it. End loads with 'Wait For Load' or "
                            "'Stop Load'.")
                try:
                    self.stop_load(key)
                except Exception as error:  # noqa: BLE001 - a listener must not raise
                    logger.warn(f"Stopping load {key}: {error}")

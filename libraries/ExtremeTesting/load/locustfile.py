"""The Locust side of ExtremeTesting.Load: run a workload as Locust users and send every
iteration back as a sample.

Started by the Load library (``locust -f <this file> --headless ...``), or by an operator
on several machines (see docs/distributed-load.rst). The plan comes as JSON in the file
named by ``$EXTREME_LOAD_SPEC`` on the master (or the only process); the master hands it
to its workers through Locust's custom options, so a worker needs only this file, the
package, and the cloud's credentials in its environment (OS_CLIENT_CONFIG_FILE, OS_CLOUD).

Users stop themselves at the plan's end (duration or iteration quota); then each process
hands its samples over — a local run writes them to the results file, a worker sends them
to the master, which writes them — and the run quits. Locust's ``--run-time`` is only the
hard bound behind that.
"""

from __future__ import annotations

import json
import math
import os
import random
import time

import gevent
from locust import User, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from ExtremeTesting.load.samples import write_jsonl
from ExtremeTesting.load.workloads import (
    ConnectionSpec,
    WorkerContext,
    resolve,
    run_iteration,
)

SPEC_ENV = "EXTREME_LOAD_SPEC"
_STATE: dict = {"buffer": [], "active": 0, "spawned": False, "deadline": math.inf,
                "done": False, "workers_done": set(), "users": 0}


def _spec_text() -> str:
    path = os.environ.get(SPEC_ENV, "")
    return open(path, encoding="utf-8").read() if path else ""


@events.init_command_line_parser.add_listener
def _add_options(parser):
    parser.add_argument("--extreme-spec-json", default=_spec_text(), include_in_web_ui=False,
                        help="ExtremeTesting load plan (JSON); normally from $EXTREME_LOAD_SPEC")


def _spec(environment) -> dict:
    text = getattr(environment.parsed_options, "extreme_spec_json", "") or _spec_text()
    return json.loads(text) if text else {}


def _flush(environment) -> None:
    batch, _STATE["buffer"] = _STATE["buffer"], []
    if not batch:
        return
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.send_message("extreme_samples", batch)
    else:
        write_jsonl(batch, _spec(environment)["results"])


def _flusher(environment) -> None:
    while not _STATE["done"]:
        gevent.sleep(1.0)
        _flush(environment)


def _finish(environment) -> None:
    """Every user of this process has ended: hand the samples over, then end the run."""
    if _STATE["done"]:
        return
    _STATE["done"] = True
    _flush(environment)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message("extreme_done", {"pid": os.getpid()})
    elif runner is not None:
        gevent.spawn_later(0.2, runner.quit)


@events.init.add_listener
def _on_init(environment, **_kwargs):
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        def on_samples(msg, **_kw):
            write_jsonl(msg.data, _spec(environment)["results"])

        def on_done(msg, **_kw):
            _STATE["workers_done"].add(msg.node_id)
            if len(_STATE["workers_done"]) >= len(runner.clients):
                gevent.spawn_later(0.2, runner.quit)

        runner.register_message("extreme_samples", on_samples)
        runner.register_message("extreme_done", on_done)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs):
    if isinstance(environment.runner, MasterRunner):
        return
    spec = _spec(environment)
    _STATE.update(done=False, active=0, spawned=False,
                  deadline=time.monotonic() + float(spec.get("duration") or math.inf))
    gevent.spawn(_flusher, environment)


@events.spawning_complete.add_listener
def _on_spawned(user_count, **_kwargs):
    _STATE["spawned"] = True


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs):
    if not isinstance(environment.runner, MasterRunner):
        _flush(environment)


class WorkloadUser(User):
    """One worker of the plan: runs the workload back to back (concurrency) or paced so
    that all users together start ``rate`` iterations a second."""

    def on_start(self):
        spec = _spec(self.environment)
        self.spec = spec
        self.workload = resolve(spec["workload"])
        runner = self.environment.runner
        index = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        _STATE["users"] += 1
        _STATE["active"] += 1
        self.ctx = WorkerContext(worker=index * 10_000 + _STATE["users"],
                                 prefix=spec.get("prefix", "xload-"),
                                 params=spec.get("params") or {},
                                 connect=ConnectionSpec(**spec.get("connection", {})).connect)
        users = max(int(spec.get("users", 1)), 1)
        self.per_user_rate = float(spec.get("rate") or 0) / users
        quota = spec.get("iterations")
        self.quota = math.ceil(int(quota) / users) if quota else None
        self.done = 0
        self.next_due = time.monotonic() + (
            random.uniform(0, 1 / self.per_user_rate) if self.per_user_rate else 0.0)

    def on_stop(self):
        self.ctx.close()
        _STATE["active"] -= 1
        if _STATE["active"] <= 0 and (_STATE["spawned"]
                                      or time.monotonic() >= _STATE["deadline"]):
            _finish(self.environment)

    @task
    def iterate(self):
        if time.monotonic() >= _STATE["deadline"] or (self.quota and self.done >= self.quota):
            raise StopUser()
        scheduled = None
        if self.per_user_rate:
            wait = self.next_due - time.monotonic()
            if wait > 0:
                gevent.sleep(wait)  # pacing: the wait is the plan, not a poll
            scheduled = self.next_due
            self.next_due += 1 / self.per_user_rate
            if scheduled >= _STATE["deadline"]:
                raise StopUser()
        self.ctx.iteration = self.done
        sample = run_iteration(self.workload, self.ctx, self.spec["workload"], scheduled)
        self.done += 1
        _STATE["buffer"].append(sample.record())
        self.environment.events.request.fire(
            request_type="workload", name=self.spec["workload"],
            response_time=sample.duration * 1000, response_length=0,
            exception=None if sample.ok else Exception(sample.error), context={})

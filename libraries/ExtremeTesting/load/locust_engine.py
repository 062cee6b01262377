"""Run a load plan with Locust, as its own process (Locust's gevent cannot live in the
Robot process: shared/FINDINGS.md), and read its samples back.

The plan goes to Locust as a JSON file named by ``$EXTREME_LOAD_SPEC``; credentials stay
where openstacksdk finds them (clouds.yaml through OS_CLIENT_CONFIG_FILE and friends) —
never in argv — and the process inherits only the environment it needs (LOCUST_ENV).
The process gets a hard timeout; it is killed (its whole process group) when the timeout
passes or the run is stopped.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import ExtremeError
from .runners import LoadPlan, RunOutcome
from .samples import read_jsonl

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


class LocustError(ExtremeError):
    """Locust could not be started or ended badly."""


def locust_command() -> list[str]:
    """Locust from the same environment as this Python, else from PATH."""
    beside = Path(sys.executable).with_name("locust")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("locust")
    if not found:
        raise LocustError("The 'locust' command was not found next to "
                          f"{sys.executable} nor on PATH. Install locust in this environment.")
    return [found]


# The environment a Locust process gets (see LocustRunner.environment).
LOCUST_ENV = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
              "PYTHONPATH", "PYTHONHASHSEED", "PYTHONUNBUFFERED", "VIRTUAL_ENV",
              "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
              "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}
LOCUST_ENV_PREFIXES = ("OS_", "LC_")


def _locust_needs(name: str) -> bool:
    return name in LOCUST_ENV or name.startswith(LOCUST_ENV_PREFIXES)


class LocustRunner:
    """One Locust run: ``run()`` blocks until it ends; ``stop()`` ends it early."""

    def __init__(self, plan: LoadPlan, connection: dict, processes: int = 1,
                 workdir: Path | None = None, host: str = "http://127.0.0.1"):
        self.plan = plan.check()
        self.connection = connection
        self.processes = max(1, int(processes))
        self.host = host
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="extreme-load-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.results = self.workdir / "samples.jsonl"
        self.spec_path = self.workdir / "plan.json"
        self.log_path = self.workdir / "locust.log"
        self._process: subprocess.Popen | None = None
        self._stopped = threading.Event()

    def spec(self) -> dict:
        plan = self.plan
        return {"workload": plan.workload, "params": plan.params, "prefix": plan.prefix,
                "mode": plan.mode, "users": plan.concurrency,
                "rate": plan.rate if plan.mode == "rate" else 0,
                "duration": plan.span, "iterations": plan.iterations,
                "connection": self.connection, "results": str(self.results)}

    def command(self) -> list[str]:
        plan = self.plan
        spawn_rate = plan.concurrency / plan.ramp_up if plan.ramp_up > 0 else plan.concurrency
        # Locust's own limit is only the backstop: users end themselves at the plan's end.
        run_time = math.ceil(plan.span + plan.grace_seconds)
        command = locust_command() + [
            "-f", str(LOCUSTFILE), "--headless", "--only-summary", "--host", self.host,
            "-u", str(plan.concurrency), "-r", f"{max(spawn_rate, 0.01):.3f}",
            "-t", f"{run_time}s", "--stop-timeout", f"{math.ceil(plan.timeout)}",
            "--exit-code-on-error", "0", "--loglevel", "INFO",
        ]
        if self.processes > 1:
            command += ["--processes", str(self.processes),
                        "--master-bind-host", "127.0.0.1"]
        return command

    def environment(self) -> dict:
        """Only what Locust and openstacksdk need: the process basics, the OS_* settings
        that find the cloud and its credentials, TLS and proxy settings. Never the rest of
        the Robot process's environment (BMC and switch passwords, other tools' tokens)."""
        env = {k: v for k, v in os.environ.items() if _locust_needs(k)}
        env["EXTREME_LOAD_SPEC"] = str(self.spec_path)
        env.setdefault("PYTHONUNBUFFERED", "1")
        clouds_yaml = self.connection.get("clouds_yaml")
        if clouds_yaml and not env.get("OS_CLIENT_CONFIG_FILE"):
            env["OS_CLIENT_CONFIG_FILE"] = clouds_yaml
        return env

    @property
    def hard_timeout(self) -> float:
        # start-up (imports, forks) + the plan + in-flight grace + Locust's stop-timeout
        return 30.0 + self.plan.span + 2 * self.plan.grace_seconds

    def stop(self) -> None:
        """End the run early: SIGTERM now (Locust then writes what it has)."""
        self._stopped.set()
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass

    def run(self) -> RunOutcome:
        self.spec_path.write_text(json.dumps(self.spec()), encoding="utf-8")
        self.results.unlink(missing_ok=True)
        started, wall_started = time.monotonic(), time.time()
        with open(self.log_path, "wb") as log:
            try:
                self._process = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=self.environment(), cwd=self.workdir,
                    start_new_session=True)
            except OSError as error:
                raise LocustError(f"Could not start Locust: {error}") from None
            try:
                self._wait(started)
            finally:
                self._kill()
        ended = time.monotonic()
        samples = sorted(read_jsonl(self.results), key=lambda s: s.start)
        if samples:  # the load began after Locust's start-up, not when the process did
            started = min(min(s.start, s.scheduled) for s in samples)
            wall_started = min(s.wall_start for s in samples) - (
                min(s.start for s in samples) - started)
        log_text = self.log_path.read_text(encoding="utf-8", errors="replace")
        if not samples and self._process.returncode not in (0, None) \
                and not self._stopped.is_set():
            raise LocustError(f"Locust ended with exit code {self._process.returncode} and "
                              f"no samples. Its log ({self.log_path}) ends with:\n"
                              f"{log_text[-1500:]}")
        return RunOutcome(samples=samples, started=started, ended=ended,
                          wall_started=wall_started, engine="locust", log=log_text[-4000:])

    def _wait(self, started: float) -> None:
        assert self._process is not None
        deadline = started + self.hard_timeout
        while self._process.poll() is None:
            if time.monotonic() >= deadline:
                break
            try:
                self._process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue

    def _kill(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            process.wait(timeout=5)

"""`Library  ExtremeTesting.Evidence`: the services' log lines behind a failed case."""

from __future__ import annotations

import time
from datetime import timedelta
from enum import Enum
from typing import Any

from robot.api import logger
from robot.api.deco import keyword, library

from .. import __version__, events, results
from .. import target as target_module
from ..errors import TargetError
from ..lifecycle.listener import ScopedResources, ScopeListener
from ..target import Target
from . import collect as collector
from . import failures, mask


class When(Enum):
    """``failed``: only when the running test has failed (for a teardown); ``always``."""

    failed = "failed"
    always = "always"


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Evidence(ScopedResources):
    """Evidence an operator can act on: the failed requests of a case and the lines the
    services logged about them.

    = How it works =
    Every request the libraries send carries an id of ours, ``req-<uuid4>`` in
    ``X-OpenStack-Request-ID`` (oslo.middleware takes it as the global request id and
    oslo.log writes it on every line of that request); each request that got no answer or
    a 5xx is kept with our id and the service's. `Collect Evidence Of Failed Requests`
    fetches over SSH, from the nodes and files (or journald units) of the target's
    ``logs`` section, the lines naming those ids and the lines of the fault window at
    WARNING and above: at most 200 per node and service, each source bounded in time,
    every line masked by the leak scanner's rules before it is logged.

    = Where it runs =
    `Finish A Destructive Case` (resources/destructive.resource) calls it after the
    faults are undone and the cloud had its time to recover (a frozen service writes the
    requests it held only once it runs again), so every failed destructive, change and
    cluster case carries its evidence; elsewhere call it on demand.

    | `Collect Evidence Of Failed Requests` |                |
    | `Collect Evidence Of Failed Requests` | when=always    |

    = What it never does =
    It never changes a node (it reads logs with ``tail``, ``grep``, ``awk`` and
    ``journalctl``), never writes a line before masking it, never reads more than the last
    50 MB of a file nor waits longer than its timeout for a node.

    = Importing =
    | Library | ExtremeTesting.Evidence | ${TARGET} |

    %TOC%
    """

    def __init__(self, target: str | None = None,
                 ssh_timeout: timedelta = timedelta(seconds=15)):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``ssh_timeout``: the longest wait for a node's SSH login."""
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self)  # the one scope listener
        self._target_path = target
        self._target: Target | None = None
        self.ssh_timeout = ssh_timeout.total_seconds()
        self._case_started = time.time()
        self._case_monotonic = time.monotonic()
        self.nodes: Any = None  # tests give a fake (run(node, command, check, timeout))
        self.last: collector.Evidence | None = None

    @property
    def target(self) -> Target:
        if self._target is None:
            self._target = target_module.load(self._target_path)
        return self._target

    # --- scope hooks (the lifecycle's ScopeListener) -------------------------------------
    def scope_started(self, kind: str, name: str, result: Any) -> None:
        if kind == "test":  # the case's failed requests and faults are those since now
            self._case_started = time.time()
            self._case_monotonic = time.monotonic()

    # --- keywords -----------------------------------------------------------------------
    @keyword
    def collect_evidence_of_failed_requests(
            self, when: When = When.failed, timeout: timedelta = timedelta(seconds=20),
            margin: timedelta = timedelta(seconds=10)) -> dict:
        """Logs the failed requests of this test and the services' lines behind them; the
        sign-off report shows them beside the case. Returns the record (a dictionary).

        ``when``: ``failed`` (default) does nothing unless the test has failed, so a
        teardown can call it always; ``always`` collects anyway. ``timeout``: the longest
        any node takes to answer (each source inside is bounded by it too). ``margin``:
        the fault window starts this long before the first fault or failed request.
        Needs the target's ``logs`` section (see variables/example-3-controllers.yaml);
        without it, says so and does nothing. What it cannot read (a node that does not
        answer, a file missing) is written into the evidence and never fails the test; it
        fails only when the ``logs`` section is malformed, naming the entry and the fix.

        | `Collect Evidence Of Failed Requests` |             |              |
        | `Collect Evidence Of Failed Requests` | when=always | timeout=40 s |
        """
        from robot.libraries.BuiltIn import BuiltIn

        status = BuiltIn().get_variable_value("${TEST STATUS}")
        if when is When.failed and status != "FAIL":
            return {}
        if not self.target.data.get("logs"):
            logger.info("No evidence: the target has no 'logs' section (where each service "
                        "logs, per node); see variables/example-3-controllers.yaml.")
            return {}
        requests = failures.since(self._case_started)
        faults = [e.wall for e in events.between(self._case_monotonic)]
        starts = faults[:1] + [r.wall for r in requests[:1]]
        if not starts:
            logger.info("No evidence to collect: no fault and no failed request in this "
                        "test.")
            return {}
        since = min(starts) - margin.total_seconds()
        try:
            evidence = self.collect(requests, since, timeout.total_seconds())
        except TargetError:
            raise
        except Exception as error:  # noqa: BLE001 - evidence never changes a case's verdict
            logger.warn(f"The evidence of this case could not be collected: "
                        f"{type(error).__name__}: {mask.mask(str(error))[:300]}")
            return {}
        record = evidence.record()
        results.publish(collector.KIND, record, _escape(evidence.summary()))
        logger.info(evidence.html(), html=True)
        return record

    def collect(self, requests: list[failures.FailedRequest], since: float,
                timeout: float) -> collector.Evidence:
        secrets, key_lines = self._secrets()
        nodes = self.nodes or self._ssh()
        try:
            def run(node: str, command: str, limit: float) -> tuple[int, str, str]:
                found = nodes.run(node, command, check=False, timeout=limit)
                return found.rc, found.out, found.err

            self.last = collector.collect(self.target.data, requests, run, since,
                                          case=results.current_case(), timeout=timeout,
                                          secrets=secrets, key_lines=key_lines)
        finally:
            if nodes is not self.nodes:
                nodes.close()
        return self.last

    def _ssh(self) -> Any:
        from ..changes.remote import Nodes

        return Nodes(self.target, timeout=self.ssh_timeout)

    def _secrets(self) -> tuple[list[str], list[bytes]]:
        from ..lab import leakscan

        secrets = mask.target_secrets(self.target.data)
        key_lines: list[bytes] = []
        key = (self.target.data.get("ssh") or {}).get("private_key_file")
        if key:
            try:
                key_lines = leakscan.key_lines_from(self.target.resolve(str(key)).read_bytes())
            except OSError:
                pass
        if self.target.data.get("lab"):
            try:
                lab_secrets, lab_key = leakscan.lab_credentials()
                secrets += [v for v in lab_secrets.values() if isinstance(v, str)]
                key_lines += lab_key
            except (OSError, ValueError):
                pass
        return secrets, key_lines


def _escape(text: str) -> str:
    import html

    return html.escape(text)

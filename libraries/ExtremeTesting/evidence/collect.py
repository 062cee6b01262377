"""The evidence of one failed case: its failed requests and the log lines behind them.

:func:`collect` takes the failed requests recorded during the case (:mod:`.failures`),
asks every node for the lines that mention their ids and the lines of the window at
WARNING and above (:mod:`.logs`), and ties each request to the node and service whose
lines name it. :class:`Evidence` renders the full excerpt for log.html and a small record
(kind ``evidence``) that the sign-off report shows beside the failed case.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from . import logs
from .failures import FailedRequest
from .mask import mask

KIND = "evidence"
SCHEMA = 1
SHOWN_REQUESTS = 20  # in the record and the report; the rest are counted


@dataclass
class Evidence:
    case: str
    requests: list[FailedRequest]
    excerpts: list[logs.Excerpt]
    since: float
    until: float
    seconds: float = 0.0  # how long the fetch took
    problems: list[str] = field(default_factory=list)

    def found_for(self, request: FailedRequest) -> list[dict[str, str]]:
        """Where the logs name this request: node, service, first error, traceback end."""
        found = []
        for excerpt in self.excerpts:
            lines = logs.mentions(excerpt, request.all_ids)
            if not lines:
                continue
            error = logs.first_error(lines)
            found.append({"node": excerpt.node, "service": excerpt.service,
                          "lines": str(len(lines)), "first_error": error,
                          "first_line": lines[0],
                          "traceback_last": logs.traceback_after(excerpt.lines, error)
                          if error else ""})
        return found

    def record(self) -> dict[str, Any]:
        """What the report shows beside the case (no full excerpt: log.html has it)."""
        tied = [(r, self.found_for(r)) for r in self.requests]
        # Requests the logs name first: they are the ones an operator can act on.
        tied.sort(key=lambda pair: (not pair[1], pair[0].wall))
        return {
            "schema": SCHEMA, "case": self.case, "since": _iso(self.since),
            "until": _iso(self.until), "fetch_seconds": round(self.seconds, 3),
            "failed_requests": len(self.requests),
            "named_in_logs": sum(1 for _, found in tied if found),
            "requests": [{
                "our_id": r.our_id, "their_id": r.their_id, "source": r.source,
                "method": r.method, "path": urlsplit(r.url).path,
                "port": _port(r.url), "status": r.status, "error": mask(r.error),
                "at": _iso(r.wall), "found": found} for r, found in tied[:SHOWN_REQUESTS]],
            "services": [{
                "node": e.node, "service": e.service, "lines": len(e.lines),
                "id_lines": e.id_lines, "dropped": e.dropped, "problem": e.problem,
                "first_error": e.first_error, "traceback_last": e.traceback_last}
                for e in self.excerpts if e.lines or e.problem],
            "excerpt_lines": sum(len(e.lines) for e in self.excerpts),
            "problems": self.problems,
        }

    def summary(self) -> str:
        record = self.record()
        return (f"{record['failed_requests']} failed requests, {record['named_in_logs']} "
                f"named in the services' logs; {record['excerpt_lines']} log lines from "
                f"{len([s for s in record['services'] if s['lines']])} node/service pairs "
                f"({_iso(self.since)} to {_iso(self.until)}), fetched in "
                f"{self.seconds:.1f} s")

    def html(self) -> str:
        """The full excerpt for log.html (every line already masked)."""
        parts = [f"<b>Evidence of failed requests</b>: {html.escape(self.summary())}"]
        for problem in self.problems:
            parts.append(f"<div>{html.escape(problem)}</div>")
        rows = []
        for request in self.requests[:200]:
            where = ", ".join(f"{f['service']} on {f['node']}" for f in self.found_for(request))
            path = urlsplit(request.url).path
            rows.append(f"<tr><td>{html.escape(_iso(request.wall))}</td>"
                        f"<td>{html.escape(request.method)} {html.escape(path)}</td>"
                        f"<td>{html.escape(mask(request.error) or str(request.status))}</td>"
                        f"<td>{html.escape(request.our_id)}</td>"
                        f"<td>{html.escape(request.their_id or '-')}</td>"
                        f"<td>{html.escape(where or 'not in the logs')}</td></tr>")
        if rows:
            parts.append("<table border='1'><tr><th>when</th><th>request</th><th>failure</th>"
                         "<th>our id</th><th>service's id</th><th>named by</th></tr>"
                         + "".join(rows) + "</table>")
        for excerpt in self.excerpts:
            if excerpt.problem:
                parts.append(f"<div><b>{html.escape(excerpt.service)} on "
                             f"{html.escape(excerpt.node)}</b>: {html.escape(excerpt.problem)}"
                             "</div>")
            if not excerpt.lines:
                continue
            more = f", {excerpt.dropped} more over the cap" if excerpt.dropped else ""
            parts.append(f"<details><summary><b>{html.escape(excerpt.service)} on "
                         f"{html.escape(excerpt.node)}</b>: {len(excerpt.lines)} lines "
                         f"({excerpt.id_lines} naming a failed request{more})</summary><pre>"
                         + html.escape("\n".join(excerpt.lines)) + "</pre></details>")
        return "\n".join(parts)


def collect(data: dict[str, Any], requests: list[FailedRequest], run: logs.Runner,
            since: float, until: float | None = None, case: str = "",
            timeout: float = 20.0, secrets: list[str] | None = None,
            key_lines: list[bytes] | None = None) -> Evidence:
    """Fetch the evidence of ``requests`` from every node the target's ``logs`` names."""
    until = time.time() if until is None else until
    started = time.monotonic()
    request_ids = sorted({i for r in requests for i in r.all_ids})
    excerpts = logs.fetch(data, run, request_ids, since, until, timeout, secrets, key_lines)
    return Evidence(case, list(requests), excerpts, since, until,
                    time.monotonic() - started)


def _port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall).isoformat(timespec="milliseconds")

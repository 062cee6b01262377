"""The services' log lines behind failed requests, fetched over SSH.

Where each service logs comes from the target's ``logs`` section, one entry per service
(the nodes are the service's ``nodes`` unless the entry names its own)::

    logs:
      keystone:     {files: [/var/log/keystone/keystone.log]}
      nova-api:     {files: [/var/log/nova/nova-api-wsgi.log]}
      nova-compute: {unit: nova-compute}          # journald
      haproxy:      {unit: haproxy, nodes: [lb]}

One shell command per node (every service of that node at once, each source bounded by
``timeout`` and by the last :data:`TAIL_BYTES` of a file) returns, per source, the lines
that mention any of the ids, and the lines of the window at WARNING and above. Each line
is masked (:mod:`.mask`) as soon as it arrives, before anything keeps it; at most
``max_lines`` lines stay per node and service, the ones naming an id first.
File timestamps (oslo.log's ``YYYY-MM-DD HH:MM:SS``) are read in this machine's time zone.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import TargetError
from .mask import mask

MAX_LINES = 200  # per node and service (DECISIONS [evidence])
MAX_LINE_CHARS = 1000
MAX_IDS = 400  # ids grepped at once; more are cut (the newest kept)
TAIL_BYTES = 50_000_000  # of a log file read per fetch: the window is recent
WARNING_LEVELS = ("WARNING", "ERROR", "CRITICAL")
_LEVEL = re.compile(r"(?:\s|\[)(WARNING|ERROR|CRITICAL|WARN|ERR|CRIT|FATAL)(?:\s|\])",
                    re.IGNORECASE)
# Levels at WARNING and above as oslo.log, RabbitMQ ([warning]) and MariaDB ([Warning]) write
# them; an awk regular expression (no slash, no quote).
_AWK_LEVELS = (r" (WARNING|ERROR|CRITICAL) |\[(warning|error|critical|Warning|ERROR)\]")
_GLOB_SAFE = re.compile(r"^[\w@./*?\-]+$")
_OSLO = re.compile(r"^(?P<time>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)\S*\s+(?P<pid>\d+)\s+"
                   r"(?P<level>[A-Z]+)\s+(?P<logger>\S+)\s+(?P<message>.*)$")

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?)")

Runner = Callable[[str, str, float], tuple[int, str, str]]  # (node, command, timeout)


@dataclass(frozen=True)
class Source:
    service: str
    node: str
    files: tuple[str, ...] = ()
    unit: str = ""

    @property
    def where(self) -> str:
        return f"journald unit {self.unit}" if self.unit else ", ".join(self.files)


@dataclass
class Excerpt:
    """What one service on one node logged about the failed requests."""

    node: str
    service: str
    lines: list[str] = field(default_factory=list)
    id_lines: int = 0  # how many of ``lines`` (the first ones) name an id
    dropped: int = 0  # lines over the cap
    problem: str = ""  # why nothing could be read ("" when it could)

    @property
    def first_error(self) -> str:
        return first_error(self.lines)

    @property
    def traceback_last(self) -> str:
        return traceback_last(self.lines)


def sources(data: dict[str, Any]) -> list[Source]:
    """Every (service, node) log source the target's ``logs`` section names; a bad entry
    fails naming it and the fix."""
    logs = data.get("logs") or {}
    if not isinstance(logs, dict):
        raise TargetError("The target's 'logs' section must map a service to {files: [...]} "
                          "or {unit: NAME}; see variables/example-3-controllers.yaml.")
    services = data.get("services") or {}
    nodes = data.get("nodes") or {}
    found = []
    for service, spec in logs.items():
        if not isinstance(spec, dict) or not (spec.get("files") or spec.get("unit")):
            raise TargetError(f"logs.{service} in the target needs 'files' (a list of paths) "
                              f"or 'unit' (a journald unit), e.g. "
                              f"{{files: [/var/log/{service}/{service}.log]}}.")
        files = spec.get("files") or []
        if isinstance(files, str):
            files = [files]
        for path in files:
            _shell_path(str(path))
        where = spec.get("nodes") or (services.get(service) or {}).get("nodes") or []
        if not where:
            raise TargetError(f"logs.{service}: the target places '{service}' on no node; "
                              f"give logs.{service}.nodes or services.{service}.nodes.")
        for node in where:
            if node not in nodes:
                raise TargetError(f"logs.{service} names node '{node}', which is not in the "
                                  f"target's nodes ({', '.join(sorted(nodes)) or 'none'}).")
            found.append(Source(service, node, tuple(str(f) for f in files),
                                str(spec.get("unit") or "")))
    return found


def command(node_sources: Iterable[Source], ids: list[str], since: float, until: float,
            timeout: float) -> str:
    """The shell line that prints ``I|W <tab> service <tab> line`` for one node."""
    id_args = " ".join(f"-e {shlex.quote(i)}" for i in ids[-MAX_IDS:])
    start = datetime.fromtimestamp(since).strftime("%Y-%m-%d %H:%M:%S")
    end = datetime.fromtimestamp(until).strftime("%Y-%m-%d %H:%M:%S")
    t = f"timeout {max(1, int(timeout))}"
    awk = ("awk -v s=" + shlex.quote(start) + " -v u=" + shlex.quote(end) +
           " 'substr($0,1,19)>=s && substr($0,1,19)<=u && $0 ~ /" + _AWK_LEVELS + "/'")
    parts = []
    for source in node_sources:
        tag = shlex.quote(source.service)
        if source.unit:
            unit = shlex.quote(source.unit)
            journal = (f"{t} journalctl -q --no-pager -o short-iso -u {unit} "
                       f"--since @{int(since)} --until @{int(until) + 1}")
            if id_args:
                parts.append(f"{journal} | grep -F {id_args} | head -n {MAX_LINES * 2} "
                             f"| sed \"s/^/I\\t\"{tag}\"\\t/\"")
            parts.append(f"{journal} -p warning | tail -n {MAX_LINES * 2} "
                         f"| sed \"s/^/W\\t\"{tag}\"\\t/\"")
            continue
        for path in source.files:
            files = _shell_path(path)
            read = f'{t} tail -c {TAIL_BYTES} "$f"'
            parts.append(f"for f in {files}; do if [ ! -r \"$f\" ]; then "
                         f"printf 'X\\t%s\\t%s\\n' {tag} \"$f\"; else " +
                         (f"{read} | grep -F {id_args} | head -n {MAX_LINES * 2} "
                          f"| sed \"s/^/I\\t\"{tag}\"\\t/\"; " if id_args else "") +
                         f"{read} | {awk} | tail -n {MAX_LINES * 2} "
                         f"| sed \"s/^/W\\t\"{tag}\"\\t/\"; fi; done")
    return "; ".join(parts) + "; true"


def parse(node: str, node_sources: list[Source], output: str, secrets: list[str],
          key_lines: list[bytes], max_lines: int = MAX_LINES) -> list[Excerpt]:
    """The excerpts of one node's answer, masked and capped."""
    excerpts = {s.service: Excerpt(node, s.service) for s in node_sources}
    by_id: dict[str, list[str]] = {s: [] for s in excerpts}
    in_window: dict[str, list[str]] = {s: [] for s in excerpts}
    for raw in output.splitlines():
        kind, _, rest = raw.partition("\t")
        service, _, line = rest.partition("\t")
        if service not in excerpts:
            continue
        if kind == "X":
            excerpts[service].problem = f"cannot read {line} on {node}"
            continue
        clean = mask(line[:MAX_LINE_CHARS], secrets, key_lines)
        (by_id if kind == "I" else in_window)[service].append(clean)
    for service, excerpt in excerpts.items():
        ids_first = _unique(by_id[service])
        rest = [line for line in _unique(in_window[service]) if line not in set(ids_first)]
        kept = (ids_first + rest)[:max_lines]
        excerpt.lines = chronological(kept)
        excerpt.id_lines = min(len(ids_first), max_lines)
        excerpt.dropped = len(ids_first) + len(rest) - len(kept)
    return list(excerpts.values())


def fetch(data: dict[str, Any], run: Runner, ids: list[str], since: float, until: float,
          timeout: float = 20.0, secrets: list[str] | None = None,
          key_lines: list[bytes] | None = None, max_lines: int = MAX_LINES,
          ) -> list[Excerpt]:
    """Every node's excerpts, nodes asked in parallel; a node that does not answer within
    ``timeout`` (plus the SSH set-up) gets an excerpt saying so."""
    by_node: dict[str, list[Source]] = {}
    for source in sources(data):
        by_node.setdefault(source.node, []).append(source)

    def one(node: str) -> list[Excerpt]:
        node_sources = by_node[node]
        line = command(node_sources, ids, since, until, timeout)
        try:
            rc, out, err = run(node, line, timeout + 10)
        except Exception as error:  # noqa: BLE001 - an unreachable node is evidence too
            why = mask(str(error)[:300], secrets or [])
            return [Excerpt(node, s.service, problem=f"could not read logs on {node}: {why}")
                    for s in node_sources]
        found = parse(node, node_sources, out, secrets or [], key_lines or [], max_lines)
        if rc != 0 and not out.strip():
            for excerpt in found:
                excerpt.problem = excerpt.problem or (
                    f"log command failed on {node} (status {rc}): "
                    f"{mask(err.strip()[:200], secrets or [])}")
        return found

    if not by_node:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(by_node))) as pool:
        results = list(pool.map(one, sorted(by_node)))
    return [excerpt for found in results for excerpt in found]


def _shell_path(path: str) -> str:
    """A path for the shell: quoted, or left to expand when it is a safe glob."""
    if any(c in path for c in "*?") and _GLOB_SAFE.match(path):
        return path
    if any(c in path for c in "*?"):
        raise TargetError(f"The log path {path!r} in the target's logs section: a glob may "
                          "hold only letters, digits, '@', '.', '/', '-', '_', '*' and '?'.")
    return shlex.quote(path)


# --- reading the lines ---------------------------------------------------------------

def level_of(line: str) -> str:
    match = _OSLO.match(line)
    if match:
        return match["level"]
    found = _LEVEL.search(line)
    return found.group(1).upper() if found else ""


def message_of(line: str) -> str:
    """The message of an oslo.log line (after its logger and request context)."""
    match = _OSLO.match(line)
    if not match:
        return line.strip()
    text = match["message"]
    if text.startswith("[") and "]" in text:
        text = text.split("]", 1)[1]
    return text.strip()


def first_error(lines: list[str]) -> str:
    """The first line at ERROR or above, else the first WARNING, else ""."""
    for wanted in (("ERROR", "CRITICAL", "ERR", "CRIT", "FATAL"), ("WARNING", "WARN")):
        for line in lines:
            if level_of(line) in wanted:
                return line
    return ""


def traceback_last(lines: list[str]) -> str:
    """The last line of the first traceback (the exception and its message), or "".
    oslo.log writes a traceback as ERROR lines of one process without a request context;
    other processes' lines may interleave."""
    for index, line in enumerate(lines):
        if "Traceback (most recent call last)" not in line:
            continue
        match = _OSLO.match(line)
        last = ""
        if match is None:  # not oslo.log: the traceback runs to the next stamped line
            for following in lines[index + 1:]:
                if _STAMP.match(following):
                    break
                last = following.strip() or last
            return last
        for following in lines[index + 1:]:
            other = _OSLO.match(following)
            if other is None or other["pid"] != match["pid"]:
                continue
            if other["level"] != match["level"] or other["message"].startswith("["):
                break
            last = other["message"].strip() or last
        return last
    return ""


def traceback_after(lines: list[str], anchor: str) -> str:
    """The last line of the traceback that follows ``anchor`` in the same process."""
    if anchor not in lines:
        return ""
    at = lines.index(anchor)
    match = _OSLO.match(anchor)
    pid = match["pid"] if match else None
    following = [line for line in lines[at:]
                 if pid is None or ((m := _OSLO.match(line)) is not None and m["pid"] == pid)]
    return traceback_last(following[:400])


def mentions(excerpt: Excerpt, request_ids: Iterable[str]) -> list[str]:
    """The excerpt's lines that name any of ``request_ids``."""
    wanted = [i for i in request_ids if i]
    return [line for line in excerpt.lines if any(i in line for i in wanted)]


def chronological(lines: list[str]) -> list[str]:
    """Sorted by their timestamps; a line without one stays after the line before it."""
    keyed, last = [], ""
    for index, line in enumerate(lines):
        match = _OSLO.match(line) or _STAMP.match(line)
        if match:
            last = match.group(1).replace("T", " ")
        keyed.append((last, index, line))
    return [line for _, _, line in sorted(keyed)]


def _unique(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            kept.append(line)
    return kept


def now() -> float:
    return time.time()

"""Known findings: the one matcher the sign-off report and the suites' tagger share.

A target file lists the weaknesses it knows under ``known_findings``::

    known_findings:
      - id: LAB-DB-1
        test: Requests Do Not Hang While The Database Is Cut Off*   # a glob on the test name
        failure: "hung \\d+(\\.\\d+)? s"      # a regular expression on each failure message
        description: Requests hang instead of failing fast.
        intermittent: true    # optional: seen in some runs only (say how often in description)

A test stands for a finding when its name (or full name) matches ``test``, or when it is
tagged ``known:<id>`` with an id the target lists (a tag alone, for an id the target does
not list, counts for nothing). Its failure is KNOWN only when *every* failure in it (each
failed keyword of its setup, body and teardown, and a fault it could not undo) matches the
finding's ``failure``; one that does not makes the case a NEW failure.

A listed finding whose cases all passed did not reproduce: the report asks to update the
target and does not accept the run, unless the finding is ``intermittent`` (seen in some
runs only): then the report says it did not show in this run, and the run stands on its
cases.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import TargetError

TAG_PREFIX = "known:"
SHAPE = ("{id, test: <glob>, failure: <regular expression>, description, "
         "intermittent: true|false}")


@dataclass(frozen=True)
class Finding:
    id: str
    test: str
    failure: str
    description: str = ""
    intermittent: bool = False

    def names(self, name: str, full_name: str) -> bool:
        """Whether the test's name or full name matches ``test`` (case-insensitive glob)."""
        pattern = self.test.lower()
        return any(fnmatch.fnmatchcase(n.lower(), pattern) for n in (name, full_name))

    def explains(self, failure: str) -> bool:
        return re.search(self.failure, failure, re.DOTALL) is not None


def parse(entries: Any, where: str = "the target file") -> list[Finding]:
    """The ``known_findings`` section as findings; a bad shape is one clear error."""
    if entries in (None, ""):
        return []
    if not isinstance(entries, list):
        raise TargetError(f"{where}: 'known_findings' must be a list of {SHAPE}.")
    found = []
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise TargetError(f"{where}: known finding #{index} must be a mapping {SHAPE}.")
        missing = [k for k in ("id", "test", "failure") if not str(entry.get(k) or "").strip()]
        if missing:
            raise TargetError(
                f"{where}: known finding #{index} ({entry.get('id') or 'no id'}) has no "
                f"{', '.join(missing)}. Give {SHAPE}; 'failure' is a regular expression "
                f"that each failure message of the test must match.")
        unknown = sorted(set(entry) - {"id", "test", "failure", "description", "intermittent"})
        if unknown:
            raise TargetError(f"{where}: known finding {entry['id']} has unknown keys "
                              f"{', '.join(unknown)}; the shape is {SHAPE}.")
        try:
            re.compile(str(entry["failure"]))
        except re.error as error:
            raise TargetError(f"{where}: known finding {entry['id']}: 'failure' is not a "
                              f"regular expression ({error}). Fix it.") from None
        intermittent = entry.get("intermittent", False)
        if not isinstance(intermittent, bool):
            raise TargetError(f"{where}: known finding {entry['id']}: 'intermittent' must be "
                              f"true or false, not {intermittent!r}.")
        found.append(Finding(str(entry["id"]).strip(), str(entry["test"]).strip(),
                             str(entry["failure"]), str(entry.get("description") or ""),
                             intermittent))
    return found


def tagged_ids(tags: Iterable[str]) -> list[str]:
    return [t[len(TAG_PREFIX):].strip() for t in tags if t.lower().startswith(TAG_PREFIX)]


def for_test(findings: Iterable[Finding], name: str, full_name: str,
             tags: Iterable[str] = ()) -> list[Finding]:
    """The listed findings a test stands for: by ``test`` pattern or by a ``known:`` tag."""
    ids = set(tagged_ids(tags))
    return [f for f in findings if f.id in ids or f.names(name, full_name)]


def unlisted_tags(findings: Iterable[Finding], tags: Iterable[str]) -> list[str]:
    """``known:`` tags naming ids the target does not list (they count for nothing)."""
    listed = {f.id for f in findings}
    return [i for i in tagged_ids(tags) if i not in listed]


def explaining(candidates: Iterable[Finding], failures: list[str]) -> Finding | None:
    """The first finding whose ``failure`` matches every failure, or None."""
    if not failures:
        return None
    for finding in candidates:
        if all(finding.explains(f) for f in failures):
            return finding
    return None


def tags_of(entries: Any, name: str, full_name: str) -> list[str]:
    """``known:<id>`` tags for log.html (`Mark Known Findings Of This Test`); decides nothing."""
    return [f"{TAG_PREFIX}{f.id}" for f in for_test(parse(entries), name, full_name)]

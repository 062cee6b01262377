"""What a run says, read from one or more output.xml files (robot's or pabot's merged one).

Each output is parsed with :func:`robot.api.ExecutionResult`; when several are given, a
test that appears again in a later output replaces the earlier result (a re-run), as
``rebot --merge`` does, and the earlier statuses are kept to be shown on the page.
Figures are never re-measured: they are the ``(kind, data)`` pairs that the libraries
published into the run with :func:`ExtremeTesting.results.publish`, found again in every
message under each test and under each suite's setup and teardown. Verdicts come from the
expectation records (:func:`ExtremeTesting.results.publish_expectation`) only.

Nothing unproven is accepted: a dry run, faults in dry-run mode, no case executed, an area
whose every case was skipped, or a verdict keyword that ran without its record is "not a
verdict"; a skip blocks unless the target declares it ``not_applicable``; a known finding
explains a failure only when every failure of the test matches its ``failure`` expression
(:mod:`ExtremeTesting.findings`); tooling errors (ERROR messages of the run) never accept.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import findings as known_findings_
from .. import results
from . import aborts
from ..errors import ExtremeError

# The one table of report areas, in the report's order: a case's ``area:`` tag (or its
# folder, suites/<area>/) names one; the title heads its section of the report.
AREA_TITLES = {
    "destructive": "Destructive: the cloud survives faults",
    "concurrent": "Concurrent: the cloud serves many clients at once",
    "changes": "Changes: the cloud keeps serving while it is changed",
    "policy": "Policy: each persona may do what the policy says, and no more",
    "operational": "Operational: the baseline the cloud must meet",
}
AREAS = tuple(AREA_TITLES)
ACCEPTED = "ACCEPTED"
ACCEPTED_KNOWN = "ACCEPTED WITH KNOWN FINDINGS"
NOT_ACCEPTED = "NOT ACCEPTED"
NOT_A_VERDICT = "NOT A VERDICT"
ABORTED = "ABORTED"  # a safeguard tripped, the run was stopped, or the pre-flight failed
EXIT_CODES = {ACCEPTED: 0, ACCEPTED_KNOWN: 0, NOT_ACCEPTED: 1, NOT_A_VERDICT: 3, ABORTED: 4}
VERDICTS = ("PASS", "FAIL", "KNOWN", "SKIP", "NOT APPLICABLE", "NOT RUN")
_SKIPPED_ON_FAILURE = re.compile(r"^Failed (test|task) skipped using .*Original failure:",
                                 re.DOTALL)
UNDO_FAILURE = "could not undo"
OTHER_AREA = "other"
AREA_TAG_PREFIX = "area:"
FAULT_TAG_PREFIX = "fault:"
EXPECT_TAG_PREFIXES = ("expect:", "sla:", "expectation:")
REQUIREMENT_TAG_PREFIXES = ("req:", "requirement:")
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc=(?P<q>["'])(?P<src>.+?)(?P=q)""",
                      re.IGNORECASE | re.DOTALL)
_SCRIPT_ELEMENT = re.compile(r"<script\b.*?</script>", re.IGNORECASE | re.DOTALL)
_PNG_BASE64_START = "iVBORw0KGgo"  # the PNG signature, base64-encoded
_DATA_PNG = re.compile(r"^data:image/(png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]+$")


class ReportError(ExtremeError):
    """An output file cannot be turned into a report (missing, malformed, empty)."""


@dataclass
class Figure:
    """One set of figures a library published: ``kind`` tells how to read ``data``."""

    kind: str
    data: dict[str, Any]
    keyword: str = ""  # the keyword that published it, e.g. "Stop Availability Monitor"


@dataclass
class KnownFinding:
    id: str
    description: str = ""
    source: str = ""  # how the test names it: "test pattern" or "tag known:<id>"


@dataclass
class Case:
    """One test's final result, with everything the report shows about it."""

    id: str
    name: str
    full_name: str
    suite: str
    suite_source: str
    status: str
    message: str
    doc: str
    tags: list[str]
    metadata: dict[str, str]
    start: datetime | None
    end: datetime | None
    elapsed: float
    output_index: int
    figures: list[Figure] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # data: URIs
    earlier: list[tuple[int, str]] = field(default_factory=list)  # (output index, status)
    known: KnownFinding | None = None
    area: str = OTHER_AREA
    log_href: str = ""
    failures: list[str] = field(default_factory=list)  # each failed keyword's message
    candidates: list[known_findings_.Finding] = field(default_factory=list)
    unlisted_tags: list[str] = field(default_factory=list)  # known:<id> not in the target
    not_applicable: str = ""  # the target's reason, for a skipped case it declares
    skipped_failure: bool = False  # a failure turned into a skip (--skiponfailure)
    dry: bool = False  # robot --dryrun: no keyword ran
    fault_dry_run: bool = False  # the Faults library only pretended its faults
    missing: list[str] = field(default_factory=list)  # verdict keywords without a record

    @property
    def failed(self) -> bool:
        return self.status == "FAIL" or self.skipped_failure

    @property
    def verdict(self) -> str:
        """PASS, FAIL, KNOWN (every failure explained by a listed known finding), SKIP (a
        skip that blocks), NOT APPLICABLE (a skip the target declares) or NOT RUN."""
        if self.failed:
            return "KNOWN" if self.known else "FAIL"
        if self.status == "SKIP":
            if aborts.not_started(self.message or ""):
                return "NOT RUN"  # the safeguards did not start it (the message says why)
            return "NOT APPLICABLE" if self.not_applicable else "SKIP"
        return self.status

    @property
    def records(self) -> list[dict[str, Any]]:
        """The expectation records (schema 1) the verdict keywords of this case published."""
        return results.expectation_records((f.kind, f.data) for f in self.figures)

    @property
    def marginal(self) -> list[dict[str, Any]]:
        return [r for r in self.records if results.is_marginal(r)]

    @property
    def unmatched(self) -> str:
        """Why a failure of a test that stands for a known finding is still new."""
        if not self.failed or self.known:
            return ""
        notes = [f"tag known:{i} names no finding the target lists" for i in
                 self.unlisted_tags]
        for finding in self.candidates:
            others = [f for f in self.failures if not finding.explains(f)]
            shown = others[0] if others else "(no failure message)"
            notes.append(f"did not match known finding {finding.id} (failure: "
                         f"/{finding.failure}/): {shown[:300]}")
        return "; ".join(notes)

    @property
    def faults(self) -> list[str]:
        return [t[len(FAULT_TAG_PREFIX):] for t in self.tags
                if t.lower().startswith(FAULT_TAG_PREFIX)]

    @property
    def expectations(self) -> list[str]:
        found = []
        for tag in self.tags:
            for prefix in EXPECT_TAG_PREFIXES:
                if tag.lower().startswith(prefix):
                    found.append(tag[len(prefix):])
        return found

    def figures_of(self, kind: str) -> list[Figure]:
        return [f for f in self.figures if f.kind == kind]


@dataclass
class SuiteFigures:
    """Figures published in a suite's setup or teardown (not inside any test)."""

    full_name: str
    area: str
    output_index: int
    figures: list[Figure] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    status: str = ""
    message: str = ""


@dataclass
class Output:
    path: Path
    generator: str
    start: datetime | None
    end: datetime | None
    tests: int
    log_href: str = ""


@dataclass
class Run:
    """Everything read from the outputs, merged."""

    outputs: list[Output]
    cases: list[Case]
    suites: list[SuiteFigures]
    environment: dict[str, Any]
    suite_metadata: dict[str, dict[str, str]]  # suite full name -> its own metadata
    errors: list[str]  # execution errors and warnings (robot's <errors> section)
    listed: list[known_findings_.Finding] = field(default_factory=list)
    tooling_errors: list[str] = field(default_factory=list)  # ERROR messages of the run
    allow_fixed_findings: bool = False
    safeguard_events: list[dict[str, Any]] = field(default_factory=list)  # from the journal

    @property
    def abort(self) -> aborts.Abort | None:
        """A safeguard trip, a stop or a failed pre-flight (then the verdict is ABORTED)."""
        return aborts.abort_of(self.cases, self.safeguard_events)

    @property
    def degraded(self) -> list[aborts.Degraded]:
        return aborts.degraded_of(self.cases, self.safeguard_events)

    @property
    def start(self) -> datetime | None:
        times = [o.start for o in self.outputs if o.start]
        return min(times) if times else None

    @property
    def end(self) -> datetime | None:
        times = [o.end for o in self.outputs if o.end]
        return max(times) if times else None

    @property
    def merged(self) -> bool:
        return len(self.outputs) > 1

    def by_area(self) -> dict[str, list[Case]]:
        grouped: dict[str, list[Case]] = {area: [] for area in (*AREAS, OTHER_AREA)}
        for case in self.cases:
            grouped.setdefault(case.area, []).append(case)
        return {area: cases for area, cases in grouped.items() if cases}

    @property
    def areas(self) -> list[str]:
        """The areas this run covers: every area with a case in it."""
        return list(self.by_area())

    @property
    def executed(self) -> list[Case]:
        return [c for c in self.cases if c.status in {"PASS", "FAIL"} or c.skipped_failure]

    @property
    def not_a_verdict(self) -> list[str]:
        """Why the run proves nothing (empty when it is a verdict)."""
        reasons = []
        executed = self.executed
        if executed and all(c.dry for c in executed):
            reasons.append("DRY RUN — not a verdict: robot --dryrun ran no keyword")
        dry_faults = [c for c in self.cases if c.fault_dry_run]
        if dry_faults:
            reasons.append(f"FAULTS IN DRY-RUN MODE — not a verdict: {len(dry_faults)} "
                           f"case(s) only pretended their faults (EXTREME_DRY_RUN or "
                           f"dry_run=True), e.g. {dry_faults[0].name}")
        if not executed:
            reasons.append("NO CASE EXECUTED — not a verdict: every case was skipped or "
                           "not run")
        else:
            for area, cases in self.by_area().items():
                if all(c.status == "SKIP" and not c.skipped_failure for c in cases):
                    reasons.append(f"AREA {area.upper()} ALL SKIPPED — not a verdict: every "
                                   f"case of the {area} area was skipped")
        missing = [c for c in self.cases if c.missing]
        if missing:
            names = sorted({k for c in missing for k in c.missing})
            reasons.append(f"FIGURES MISSING — not a verdict: {len(missing)} case(s) ran "
                           f"{', '.join(names)} without its expectation record (was the run's "
                           f"--loglevel above INFO?), e.g. {missing[0].name}")
        return reasons

    @property
    def fake(self) -> bool:
        """Dry run or faults in dry-run mode: even its failures are no verdict."""
        return any(r.startswith(("DRY RUN", "FAULTS IN DRY-RUN")) for r in self.not_a_verdict)

    @property
    def verdict(self) -> str:
        if self.fake:
            return NOT_A_VERDICT
        if self.abort is not None:
            return ABORTED
        if self.new_failures or self.blocking_skips or self.tooling_errors or (
                self.fixed_findings and not self.allow_fixed_findings):
            return NOT_ACCEPTED
        if self.not_a_verdict:
            return NOT_A_VERDICT
        return ACCEPTED_KNOWN if self.count("KNOWN") else ACCEPTED

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def verdict_line(self) -> str:
        """The console's verdict: the verdict, the counts, and what keeps it from ACCEPTED."""
        reasons = self.not_a_verdict
        head = reasons[0].split(":")[0] if self.verdict == NOT_A_VERDICT and reasons else \
            self.verdict
        line = (f"{head}: {self.count('PASS')} passed, {self.count('KNOWN')} known findings, "
                f"{len(self.new_failures)} new failures, {self.count('SKIP')} skipped, "
                f"{self.count('NOT APPLICABLE')} not applicable, {len(self.marginal)} marginal"
                f" (areas: {', '.join(self.areas) or 'none'})")
        notes = [f"known finding {f.id} did not reproduce: update the target"
                 + (" (allowed by --allow-fixed-findings)" if self.allow_fixed_findings else "")
                 for f in self.fixed_findings]
        notes += [f"known finding {f.id} (intermittent) did not show in this run"
                  for f in self.intermittent_not_seen]
        if self.tooling_errors:
            notes.append(f"{len(self.tooling_errors)} tooling error(s) in the run")
        abort = self.abort
        if abort is not None:
            notes.insert(0, f"{abort.headline}"
                         + (f" in {abort.case}" if abort.case else "")
                         + f"; {len(abort.not_started)} case(s) not started")
        for degraded in self.degraded:
            notes.append(f"the cloud was left degraded by {degraded.case} ({degraded.wrong});"
                         f" {len(degraded.not_run)} later case(s) not run")
        if self.blocking_skips:
            notes.append(f"{len(self.blocking_skips)} skipped case(s) the target does not "
                         f"declare not_applicable")
        return "; ".join([line, *notes])

    def count(self, verdict: str) -> int:
        return sum(1 for case in self.cases if case.verdict == verdict)

    @property
    def new_failures(self) -> list[Case]:
        return [c for c in self.cases if c.verdict in {"FAIL", "NOT RUN"}]

    @property
    def blocking_skips(self) -> list[Case]:
        return [c for c in self.cases if c.verdict == "SKIP"]

    @property
    def known_findings(self) -> list[Case]:
        return [c for c in self.cases if c.verdict == "KNOWN"]

    @property
    def known_not_reproduced(self) -> list[Case]:
        """Cases that stand for a listed finding and ran without failing."""
        return [c for c in self.cases if c.candidates and c.status == "PASS"]

    @property
    def fixed_findings(self) -> list[known_findings_.Finding]:
        """Listed findings whose cases ran, and none of them failed: fixed, or stale (none
        in a dry run, where nothing could fail). An intermittent one is not among them."""
        return [f for f in self._not_reproduced() if not f.intermittent]

    @property
    def intermittent_not_seen(self) -> list[known_findings_.Finding]:
        """Listed intermittent findings that did not show in this run: said, not blocking."""
        return [f for f in self._not_reproduced() if f.intermittent]

    def _not_reproduced(self) -> list[known_findings_.Finding]:
        if self.fake:
            return []
        found = []
        for finding in self.listed:
            cases = [c for c in self.cases if finding in c.candidates]
            if any(c.status == "PASS" for c in cases) and not any(c.failed for c in cases):
                found.append(finding)
        return found

    @property
    def marginal(self) -> list[dict[str, Any]]:
        return [r for c in self.cases for r in c.marginal]


def area_of(tags: list[str], suite_source: str, suite_full_name: str) -> str:
    for tag in tags:
        if tag.lower().startswith(AREA_TAG_PREFIX):
            return tag[len(AREA_TAG_PREFIX):].strip().lower() or OTHER_AREA
    parts = [p.lower() for p in Path(suite_source).parts] if suite_source else []
    if "suites" in parts:
        after = parts[parts.index("suites") + 1:]
        for area in AREAS:
            if area in after:
                return area
    names = [n.strip().lower() for n in suite_full_name.split(".")]
    for area in AREAS:
        if area in names:
            return area
    return OTHER_AREA


class _Collector:
    """Every published figure and image in one item's messages, nested at any depth."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.figures: list[Figure] = []
        self.images: list[str] = []
        self._seen: set[str] = set()

    def walk(self, item: Any, keyword: str = "") -> None:
        for attribute in ("setup", "teardown"):
            fixture = getattr(item, attribute, None)
            if fixture is not None and getattr(fixture, "name", None):
                self.walk(fixture, fixture.name)
        for child in getattr(item, "body", ()):
            if getattr(child, "type", "") == "MESSAGE":
                self.message(child.message, child.html, keyword)
            elif getattr(child, "type", "") in {"KEYWORD", "SETUP", "TEARDOWN"}:
                self.walk(child, getattr(child, "name", "") or keyword)
            else:
                self.walk(child, keyword)

    def message(self, text: str, is_html: bool, keyword: str) -> None:
        for kind, data in results.extract(text):
            if isinstance(data, dict):
                png = data.get("png")
                if isinstance(png, str) and png:
                    self._image(self._png_uri(png))
                self.figures.append(Figure(kind, data, keyword))
        if is_html:
            # Pictures in the human summary (or any HTML message), outside the JSON.
            for match in _IMG_SRC.finditer(_SCRIPT_ELEMENT.sub("", text)):
                self._image(match["src"])

    @staticmethod
    def _png_uri(png: str) -> str:
        """A published ``png``: a data: URI, base64 PNG bytes, or a file next to the log."""
        if png.startswith("data:"):
            return png
        if png.startswith(_PNG_BASE64_START):
            return f"data:image/png;base64,{png}"
        return png

    def _image(self, src: str) -> None:
        uri = src.strip()
        if not _DATA_PNG.match(uri):
            uri = self._inline_file(uri)
            if not uri:
                return
        digest = hashlib.sha1(uri.encode()).hexdigest()
        if digest not in self._seen:
            self._seen.add(digest)
            self.images.append(uri)

    def _inline_file(self, src: str) -> str:
        # Images written next to log.html are inlined so that the report stands alone;
        # anything remote is dropped: the report must open without a network.
        if "://" in src or src.startswith(("data:", "/", "\\")):
            return ""
        path = (self.base_dir / src).resolve()
        kinds = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}
        if path.suffix.lower() not in kinds or not path.is_file():
            return ""
        data = base64.b64encode(path.read_bytes()).decode()
        return f"data:image/{kinds[path.suffix.lower()]};base64,{data}"


def _parse(path: Path):
    from robot.api import ExecutionResult
    from robot.errors import DataError

    if not path.exists():
        raise ReportError(f"{path}: no such file. Give the output.xml a robot or pabot run "
                          f"wrote (robot --outputdir DIR writes DIR/output.xml).")
    if path.is_dir():
        raise ReportError(f"{path} is a folder. Give the output.xml inside it "
                          f"({path / 'output.xml'}).")
    try:
        result = ExecutionResult(str(path))
    except DataError as error:
        raise ReportError(f"{path} is not a readable Robot Framework output "
                          f"({_first_line(str(error))}). Give the output.xml robot or pabot "
                          f"wrote; a run that was killed leaves it truncated: re-run the "
                          f"suites (for pabot, 'rebot --output output.xml "
                          f"pabot_results/*/output.xml' merges what its workers "
                          f"finished).") from None
    except Exception as error:  # noqa: BLE001 - a malformed file breaks robot in many ways
        raise ReportError(f"{path} is not a readable Robot Framework output "
                          f"({type(error).__name__}: {_first_line(str(error))}). Re-run the "
                          f"suites to write it again.") from None
    if not result.suite.test_count:
        raise ReportError(f"{path} contains no tests. Check the suite paths and --include/"
                          f"--exclude options of the run that wrote it, then run it again.")
    return result


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _suite_metadata(suite: Any) -> dict[str, str]:
    """Metadata of the suite and its parents; the nearest suite wins."""
    chain = []
    while suite is not None:
        chain.append(suite)
        suite = suite.parent
    merged: dict[str, str] = {}
    for item in reversed(chain):
        merged.update({str(k): str(v) for k, v in item.metadata.items()})
    return merged


def _seconds(value: Any) -> float:
    try:
        return value.total_seconds()
    except AttributeError:
        return 0.0


def _default_log_href(output: Path, report_dir: Path) -> str:
    log = output.parent / "log.html"
    if output.stem.endswith("output") and output.stem != "output":
        log = output.parent / f"{output.stem[:-len('output')]}log.html"
    return os.path.relpath(log.resolve(), report_dir.resolve()).replace(os.sep, "/")


def read(paths: list[str | os.PathLike], known_findings: list[dict[str, Any]] | None = None,
         report_dir: str | os.PathLike = ".", log_hrefs: list[str] | None = None,
         not_applicable: list[dict[str, str]] | None = None,
         allow_fixed_findings: bool = False) -> Run:
    """Read, check and merge the outputs (later outputs override earlier re-runs).

    ``known_findings`` and ``not_applicable`` are the target file's sections (without a
    target, no finding is known and every skip blocks)."""
    if not paths:
        raise ReportError("No output file given. Usage: extreme report OUTPUT.xml [...]")
    try:
        listed = known_findings_.parse(known_findings, "the target file")
    except ExtremeError as error:
        raise ReportError(str(error)) from None
    declared = [e for e in (not_applicable or []) if isinstance(e, dict)]
    log_hrefs = list(log_hrefs or [])
    if log_hrefs and len(log_hrefs) not in {1, len(paths)}:
        raise ReportError(f"--log was given {len(log_hrefs)} times for {len(paths)} outputs: "
                          f"give it once (for every output) or once per output, in order.")
    cases: dict[str, Case] = {}
    suites: dict[str, SuiteFigures] = {}
    suite_metadata: dict[str, dict[str, str]] = {}
    environment: dict[str, Any] = {}
    outputs: list[Output] = []
    errors: list[str] = []
    tooling: list[str] = []
    for index, raw in enumerate(paths):
        path = Path(raw)
        result = _parse(path)
        if log_hrefs:
            href = log_hrefs[index] if len(log_hrefs) == len(paths) else log_hrefs[0]
        else:
            href = _default_log_href(path, Path(report_dir))
        top = result.suite
        outputs.append(Output(path, str(getattr(result, "generator", "") or ""),
                              top.start_time, top.end_time, top.test_count, href))
        errors += [f"{m.level}: {m.message}" for m in result.errors.messages
                   if m.level in {"ERROR", "WARN"}]
        tooling += [f"{path.name}: {(m.message.strip().splitlines() or [''])[0]}"
                    for m in result.errors.messages if m.level == "ERROR"]
        _read_suite(top, index, path, href, listed, cases, suites, suite_metadata)
    for case in cases.values():
        for figure in case.figures_of("environment"):
            environment.update(figure.data)
    for suite in suites.values():
        for figure in suite.figures:
            if figure.kind == "environment":
                environment.update(figure.data)
    shown = [s for s in suites.values() if s.images or s.status == "FAIL"
             or any(f.kind != "environment" for f in s.figures)]
    for case in cases.values():
        case.not_applicable = _declared(case, declared) if case.status == "SKIP" else ""
    return Run(outputs, list(cases.values()), shown, environment, suite_metadata, errors,
               listed, tooling, allow_fixed_findings)


def _declared(case: Case, declared: list[dict[str, str]]) -> str:
    """The target's reason when it declares this case not applicable, else ""."""
    for entry in declared:
        pattern = str(entry.get("test", "")).lower()
        if any(fnmatch.fnmatchcase(n.lower(), pattern) for n in (case.name, case.full_name)):
            return str(entry.get("reason", ""))
    return ""


_KEYWORD_TYPES = frozenset({"KEYWORD", "SETUP", "TEARDOWN"})
# BuiltIn keywords that robot --dryrun really runs.
_DRY_RUN_BUILTINS = frozenset({"Set Tags", "Remove Tags", "Import Library", "Import Resource",
                               "Import Variables", "Set Library Search Order"})


def _body_items(item: Any) -> list[Any]:
    found = []
    for attribute in ("setup", "teardown"):
        fixture = getattr(item, attribute, None)
        if fixture is not None and getattr(fixture, "name", None):
            found.append(fixture)
    return found + [c for c in getattr(item, "body", ()) if getattr(c, "type", "") != "MESSAGE"]


def failures_of(test: Any) -> list[str]:
    """The message of each failed keyword of a test (setup, body, teardown), the deepest
    failure of each branch only; failures caught by a passing parent (TRY, Run Keyword And
    Expect Error...) do not count. A fault the listener could not undo counts too."""
    found: list[str] = []

    def walk(item: Any) -> None:
        failed = [c for c in _body_items(item) if getattr(c, "status", "") == "FAIL"]
        if not failed and item is not test:
            found.append(str(getattr(item, "message", "") or ""))
        for child in failed:
            walk(child)

    walk(test)
    message = str(test.message or "")
    undo = [line for line in message.splitlines() if UNDO_FAILURE in line.lower()]
    found += [line for line in undo if not any(line in f for f in found)]
    if not found and test.status in {"FAIL", "SKIP"} and message:
        found.append(message)
    return [f for f in found if f] or ([message] if message else [])


def _ran_nothing(test: Any) -> bool:
    """robot --dryrun: the test passed, yet no library keyword in it ran. Dry run marks
    user keywords PASS and library keywords NOT RUN, except a few of BuiltIn's that it
    really runs (Set Tags, the Run Keyword family): a test passes for real only when some
    other library keyword (a keyword with no keyword inside) passed."""
    leaves: list[tuple[str, str, str]] = []

    def walk(item: Any) -> None:
        children = _body_items(item)
        if getattr(item, "type", "") in _KEYWORD_TYPES and not children:
            owner = getattr(item, "owner", None) or getattr(item, "libname", None) or ""
            leaves.append((str(owner), str(item.name or ""), str(item.status)))
        for child in children:
            walk(child)

    def dry_run_runs(owner: str, name: str) -> bool:
        # a Run Keyword variant with nothing inside only ran in a dry run
        return owner == "BuiltIn" and (name in _DRY_RUN_BUILTINS or "Keyword" in name)

    for child in _body_items(test):
        walk(child)
    ran = [name for owner, name, status in leaves
           if status != "NOT RUN" and not dry_run_runs(owner, name)]
    return test.status == "PASS" and bool(leaves) and not ran


def missing_records(test: Any) -> list[str]:
    """Verdict keywords that passed in this test without publishing their record."""
    missing: list[str] = []

    def walk(item: Any) -> None:
        for child in _body_items(item):
            is_keyword = getattr(child, "type", "") in _KEYWORD_TYPES
            name = str(getattr(child, "name", "") or "") if is_keyword else ""
            if (is_keyword and results.is_verdict(getattr(child, "tags", ()))
                    and child.status == "PASS"):
                collector = _Collector(Path("."))
                collector.walk(child, name)
                if not results.expectation_records((f.kind, f.data) for f in
                                                   collector.figures):
                    missing.append(name)
            walk(child)

    walk(test)
    return missing


def _read_suite(suite: Any, index: int, path: Path, href: str, listed: list[dict[str, Any]],
                cases: dict[str, Case], suites: dict[str, SuiteFigures],
                suite_metadata: dict[str, dict[str, str]]) -> None:
    source = str(suite.source or "")
    area_for_suite = area_of([], source, suite.full_name)
    if suite.metadata:
        suite_metadata[suite.full_name] = {str(k): str(v) for k, v in suite.metadata.items()}
    collector = _Collector(path.parent)
    for fixture in (suite.setup, suite.teardown):
        if fixture and fixture.name:
            collector.walk(fixture, fixture.name)
    fixture_failed = any(f and f.name and f.status == "FAIL"
                         for f in (suite.setup, suite.teardown))
    shown = [f for f in collector.figures if f.kind != "environment"]
    if shown or collector.images or fixture_failed:
        suites[suite.full_name] = SuiteFigures(
            suite.full_name, area_for_suite, index, collector.figures, collector.images,
            "FAIL" if fixture_failed else "PASS", suite.message if fixture_failed else "")
    elif collector.figures:  # environment only: read, but nothing to show for the suite
        suites[suite.full_name] = SuiteFigures(suite.full_name, area_for_suite, index,
                                               collector.figures, [], "PASS", "")
    else:
        suites.pop(suite.full_name, None)
    metadata = _suite_metadata(suite)
    for test in suite.tests:
        tags = [str(t) for t in test.tags]
        collector = _Collector(path.parent)
        collector.walk(test)
        candidates = known_findings_.for_test(listed, test.name, test.full_name, tags)
        skipped_failure = test.status == "SKIP" and bool(
            _SKIPPED_ON_FAILURE.match(test.message or "") or any(
                getattr(i, "status", "") == "FAIL" for i in _body_items(test)))
        failures = failures_of(test) if test.status == "FAIL" or skipped_failure else []
        if skipped_failure:
            failures = [_SKIPPED_ON_FAILURE.sub("", f).strip() or f for f in failures]
        match = known_findings_.explaining(candidates, failures)
        case = Case(
            id=test.id, name=test.name, full_name=test.full_name, suite=suite.full_name,
            suite_source=source, status=test.status, message=test.message or "",
            doc=test.doc or "", tags=tags, metadata=metadata, start=test.start_time,
            end=test.end_time, elapsed=_seconds(test.elapsed_time), output_index=index,
            figures=collector.figures, images=collector.images,
            known=KnownFinding(match.id, match.description,
                               "tag known:" + match.id if match.id in
                               known_findings_.tagged_ids(tags) else "test pattern")
            if match else None,
            area=area_of(tags, source, suite.full_name),
            log_href=f"{href}#{test.id}" if href else "",
            failures=failures, candidates=candidates,
            unlisted_tags=known_findings_.unlisted_tags(listed, tags),
            skipped_failure=skipped_failure, dry=_ran_nothing(test),
            fault_dry_run=any(f.kind == results.FAULT_DRY_RUN for f in collector.figures),
            missing=missing_records(test))
        earlier = cases.get(test.full_name)
        if earlier is not None:
            case.earlier = earlier.earlier + [(earlier.output_index, earlier.status)]
        cases[test.full_name] = case
    for child in suite.suites:
        _read_suite(child, index, path, href, listed, cases, suites, suite_metadata)

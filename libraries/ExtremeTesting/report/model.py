"""What a run says, read from one or more output.xml files (robot's or pabot's merged one).

Each output is parsed with :func:`robot.api.ExecutionResult`; when several are given, a
test that appears again in a later output replaces the earlier result (a re-run), as
``rebot --merge`` does, and the earlier statuses are kept to be shown on the page.
Figures are never re-measured: they are the ``(kind, data)`` pairs that the libraries
published into the run with :func:`ExtremeTesting.results.publish`, found again in every
message under each test and under each suite's setup and teardown.
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

from .. import results
from ..errors import ExtremeError

AREAS = ("destructive", "concurrent", "operational")
OTHER_AREA = "other"
KNOWN_TAG = "known-finding"
KNOWN_TAG_PREFIX = "known:"
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
    source: str = ""  # "tag" or "target file"


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

    @property
    def verdict(self) -> str:
        """PASS, FAIL, SKIP, KNOWN (a failure that is a known finding) or NOT RUN."""
        if self.status == "FAIL":
            return "KNOWN" if self.known else "FAIL"
        return self.status

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
    errors: list[str]  # execution errors (robot's <errors> section)

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

    def count(self, verdict: str) -> int:
        return sum(1 for case in self.cases if case.verdict == verdict)

    @property
    def verdict(self) -> str:
        if self.count("FAIL") or self.count("NOT RUN"):
            return "NOT ACCEPTED"
        if not any(c.verdict in {"PASS", "KNOWN"} for c in self.cases):
            return "NOT ACCEPTED"
        if self.count("KNOWN"):
            return "ACCEPTED WITH KNOWN FINDINGS"
        return "ACCEPTED"

    @property
    def new_failures(self) -> list[Case]:
        return [c for c in self.cases if c.verdict in {"FAIL", "NOT RUN"}]

    @property
    def known_findings(self) -> list[Case]:
        return [c for c in self.cases if c.verdict == "KNOWN"]

    @property
    def known_not_reproduced(self) -> list[Case]:
        return [c for c in self.cases if c.known and c.status != "FAIL"]


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


def known_finding_of(test_name: str, full_name: str, tags: list[str],
                     listed: list[dict[str, Any]]) -> KnownFinding | None:
    """The known finding a test stands for: from its tags or the target's list."""
    descriptions = {str(k.get("id", "")): str(k.get("description", "")) for k in listed}
    for tag in tags:
        if tag.lower().startswith(KNOWN_TAG_PREFIX):
            ident = tag[len(KNOWN_TAG_PREFIX):].strip()
            return KnownFinding(ident, descriptions.get(ident, ""), "tag")
    for entry in listed:
        pattern = str(entry.get("test", "")).strip()
        ident = str(entry.get("id", "")).strip()
        names = (test_name.lower(), full_name.lower())
        if pattern and any(fnmatch.fnmatchcase(n, pattern.lower()) for n in names):
            return KnownFinding(ident or pattern, str(entry.get("description", "")),
                                "target file")
    if any(tag.lower() == KNOWN_TAG for tag in tags):
        return KnownFinding("", "", "tag")
    return None


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
         report_dir: str | os.PathLike = ".", log_hrefs: list[str] | None = None) -> Run:
    """Read, check and merge the outputs (later outputs override earlier re-runs)."""
    if not paths:
        raise ReportError("No output file given. Usage: extreme report OUTPUT.xml [...]")
    listed = [k for k in (known_findings or []) if isinstance(k, dict)]
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
    return Run(outputs, list(cases.values()), shown, environment, suite_metadata, errors)


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
        case = Case(
            id=test.id, name=test.name, full_name=test.full_name, suite=suite.full_name,
            suite_source=source, status=test.status, message=test.message or "",
            doc=test.doc or "", tags=tags, metadata=metadata, start=test.start_time,
            end=test.end_time, elapsed=_seconds(test.elapsed_time), output_index=index,
            figures=collector.figures, images=collector.images,
            known=known_finding_of(test.name, test.full_name, tags, listed),
            area=area_of(tags, source, suite.full_name),
            log_href=f"{href}#{test.id}" if href else "")
        earlier = cases.get(test.full_name)
        if earlier is not None:
            case.earlier = earlier.earlier + [(earlier.output_index, earlier.status)]
        cases[test.full_name] = case
    for child in suite.suites:
        _read_suite(child, index, path, href, listed, cases, suites, suite_metadata)

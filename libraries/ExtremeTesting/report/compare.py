"""Before and after: a new run's figures beside one or more baseline runs'.

``extreme report NEW.xml [...] --baseline OLD.xml [...]`` writes, next to the sign-off
report, a comparison page (see :func:`write`). The new outputs are merged like re-runs
(as for the report); each baseline output is one run of its own, so that several of
them give a spread (min..max) for every figure.

A change is judged against what the measurement can tell apart:

* one baseline run: beyond the uncertainty when |new − old| exceeds the two uncertainties
  added (monitor outages and recovery state theirs; counts are exact). Figures that state
  no uncertainty (percentiles, rates, throughput) are shown with their change but not
  judged from one baseline run.
* several baseline runs: beyond the spread when the new value lies outside
  [min − u, max + u] of the baseline runs, u the larger stated uncertainty (0 when none).

A figure measured in only one of the two sides (a run that failed in its setup measured
nothing; a new verdict adds a figure) is no change at all: it is listed apart, "not
measured in the new run" or "new", and never counted among the changes.

Beside the API versions, the answers that did not match their published response schemas
(the ``schemas`` section of every monitor result, and the ``schemas`` figures of
`Responses Should Match Their Schemas` of=calls): a mismatch *appeared* when the new run
has it and a baseline run checked that request without it, *went away* when a baseline
run had it and the new run checked that request without it. A mismatch on one side whose
request the other side never checked (no tempest there, no probe of it) is no change
either: it is listed as "not checked in the new run" or "not checked in the baseline".
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from . import measures
from .measures import Measure

TEMPLATES = Path(__file__).with_name("templates")

NO_CHANGE = "no change"
WITHIN_U = "within uncertainty"
WITHIN_SPREAD = "within spread"
BEYOND_U = "beyond uncertainty"
BEYOND_SPREAD = "beyond spread"
NOT_JUDGED = "changed (no uncertainty stated)"
NEW_FIGURE = "new"
GONE = "not measured in the new run"
SCHEMA_APPEARED = "appeared"
SCHEMA_GONE = "went away"
SCHEMA_UNCHECKED_NEW = "not checked in the new run"
SCHEMA_UNCHECKED_BASE = "not checked in the baseline"
FLAGGED = {BEYOND_U, BEYOND_SPREAD}
UNMATCHED = {NEW_FIGURE, GONE}  # measured on one side only: listed apart, not a change


@dataclass
class Row:
    key: str
    what: str
    subject: str
    unit: str
    base: list[Measure | None]
    new: Measure | None
    status: str
    change: float | None = None
    direction: str = ""  # "worse", "better" or ""

    @property
    def flagged(self) -> bool:
        return self.status in FLAGGED

    @property
    def unmatched(self) -> bool:
        """Measured in only one of the runs: nothing to compare."""
        return self.status in UNMATCHED

    @property
    def spread(self) -> tuple[float, float] | None:
        values = [m.value for m in self.base if m and m.value is not None]
        return (min(values), max(values)) if values else None


@dataclass
class CaseComparison:
    name: str
    area: str
    before: list[str]  # the verdict in each baseline run ("" = absent)
    after: str  # "" = absent from the new run
    rows: list[Row] = field(default_factory=list)

    @property
    def flagged(self) -> list[Row]:
        return [r for r in self.rows if r.flagged]

    @property
    def unmatched(self) -> list[Row]:
        return [r for r in self.rows if r.unmatched]


@dataclass
class SchemaChange:
    """A response-schema mismatch seen on one side only."""

    status: str  # SCHEMA_APPEARED, SCHEMA_GONE, or not checked on the other side
    request: str  # "compute GET /servers"
    field: str
    problem: str
    before: str = ""  # the microversions it was seen at in the baseline ("" = not seen)
    after: str = ""
    cases: list[str] = field(default_factory=list)  # where it was seen

    @property
    def change(self) -> bool:
        return self.status in (SCHEMA_APPEARED, SCHEMA_GONE)


@dataclass
class Comparison:
    new_paths: list[str]
    baseline_paths: list[str]
    cases: list[CaseComparison]
    environment: list[tuple[str, str, str, str]]  # (service, what, before, after)
    new_verdict: str = ""
    baseline_verdicts: list[str] = field(default_factory=list)
    schemas: list[SchemaChange] = field(default_factory=list)
    schemas_persisting: int = 0  # mismatches in both

    @property
    def schema_appeared(self) -> list[SchemaChange]:
        return [c for c in self.schemas if c.status == SCHEMA_APPEARED]

    @property
    def schema_gone(self) -> list[SchemaChange]:
        return [c for c in self.schemas if c.status == SCHEMA_GONE]

    @property
    def verdict_changes(self) -> list[tuple[CaseComparison, str]]:
        found = []
        for case in self.cases:
            last = case.before[-1] if case.before else ""
            if not case.after:
                found.append((case, "vanished"))
            elif not any(case.before):
                found.append((case, "new case"))
            elif last and last != case.after:
                found.append((case, f"{last} → {case.after}"))
            elif len(set(v for v in case.before if v)) > 1:
                found.append((case, "flipped in the baseline runs"))
        return found

    @property
    def changed_figures(self) -> int:
        return sum(len(c.flagged) for c in self.cases)

    @property
    def not_measured(self) -> int:
        """Figures of the baseline the new run did not measure."""
        return sum(1 for c in self.cases for r in c.unmatched if r.status == GONE)

    @property
    def new_figures(self) -> int:
        """Figures only the new run measured."""
        return sum(1 for c in self.cases for r in c.unmatched if r.status == NEW_FIGURE)


def judge(base: list[Measure | None], new: Measure | None) -> tuple[str, float | None, str]:
    """(status, change, direction) of one figure."""
    old = [m for m in base if m is not None and m.value is not None]
    if new is None or new.value is None:
        return (GONE, None, "") if old else (NO_CHANGE, None, "")
    if not old:
        return NEW_FIGURE, None, ""
    reference = old[-1].value if len(old) == 1 else None
    lo, hi = min(m.value for m in old), max(m.value for m in old)
    change = new.value - (reference if reference is not None else (lo + hi) / 2)
    direction = ""
    if new.better and change:
        worse = change > 0 if new.better == measures.LOWER else change < 0
        direction = "worse" if worse else "better"
    stated = [m.uncertainty for m in [*old, new] if m.uncertainty is not None]
    if len(old) == 1:
        if change == 0:
            return NO_CHANGE, change, ""
        if not stated:
            return NOT_JUDGED, change, direction
        tolerance = (new.uncertainty or 0) + (old[0].uncertainty or 0)
        return (BEYOND_U if abs(change) > tolerance else WITHIN_U), change, direction
    u = max(stated) if stated else 0.0
    if lo - u <= new.value <= hi + u:
        return (NO_CHANGE if lo == hi == new.value else WITHIN_SPREAD), change, direction
    return BEYOND_SPREAD, change, direction


def _env_services(run: Any) -> dict[str, dict]:
    services = run.environment.get("services") if run is not None else None
    return services if isinstance(services, dict) else {}


def environment_changes(before: dict[str, dict], after: dict[str, dict]) -> list[
        tuple[str, str, str, str]]:
    """(service, what, before, after): APIs added, removed, or whose versions changed."""
    rows = []
    for service in sorted(set(before) | set(after)):
        old, new = before.get(service), after.get(service)
        if old is None:
            rows.append((service, "added", "", _version(new)))
        elif new is None:
            rows.append((service, "removed", _version(old), ""))
        else:
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    rows.append((service, key, _text(old.get(key)), _text(new.get(key))))
    return rows


def _text(value: Any) -> str:
    return "—" if value is None else str(value)


def _version(entry: Any) -> str:
    if not isinstance(entry, dict):
        return _text(entry)
    parts = [str(entry.get("api") or "?")]
    if entry.get("min_microversion") or entry.get("max_microversion"):
        parts.append(f"microversions {entry.get('min_microversion') or '?'}.."
                     f"{entry.get('max_microversion') or '?'}")
    return ", ".join(parts)


def _schema_sections(run: Any) -> list[tuple[str, dict]]:
    """(where, schemas figures) of every monitor result and `of=calls` verdict of a run."""
    found = []
    holders = [(c.full_name, c.figures) for c in getattr(run, "cases", [])]
    holders += [(s.full_name, s.figures) for s in getattr(run, "suites", [])]
    for where, figures in holders:
        for figure in figures:
            data = figure.data if isinstance(figure.data, dict) else {}
            section = data.get("schemas") if figure.kind == "monitor" else \
                data if figure.kind == "schemas" else None
            if isinstance(section, dict) and section.get("status") == "checked":
                found.append((where, section))
    return found


def schema_findings(runs: list[Any]) -> tuple[dict[tuple, dict], set[tuple[str, str, str]]]:
    """The mismatches of ``runs`` by (api, method, request, field, problem), each with the
    microversions and places it was seen; and the requests checked at least once."""
    mismatches: dict[tuple, dict] = {}
    checked: set[tuple[str, str, str]] = set()
    for run in runs:
        for where, section in _schema_sections(run):
            for kind in section.get("kinds") or []:
                if isinstance(kind, dict) and kind.get("checked"):
                    checked.add((str(kind.get("api")), str(kind.get("method")),
                                 str(kind.get("request"))))
            for item in section.get("mismatches") or []:
                if not isinstance(item, dict):
                    continue
                key = tuple(str(item.get(k, "")) for k in
                            ("api", "method", "request", "field", "problem"))
                entry = mismatches.setdefault(key, {"versions": set(), "where": []})
                entry["versions"].add(str(item.get("microversion", "")))
                if where not in entry["where"]:
                    entry["where"].append(where)
    return mismatches, checked


def schema_changes(new_run: Any, baseline_runs: list[Any]) -> tuple[list[SchemaChange], int]:
    """(the mismatches seen on one side only, how many were seen on both)."""
    before, checked_before = schema_findings(baseline_runs)
    after, checked_after = schema_findings([new_run])
    changes = []
    for key in sorted(set(before) ^ set(after)):
        api, method, request, where, problem = key
        if key in after:
            status = SCHEMA_APPEARED if (api, method, request) in checked_before \
                else SCHEMA_UNCHECKED_BASE
            seen = after[key]
        else:
            status = SCHEMA_GONE if (api, method, request) in checked_after \
                else SCHEMA_UNCHECKED_NEW
            seen = before[key]
        changes.append(SchemaChange(
            status, f"{api} {method} {request}", where, problem,
            ", ".join(sorted(before[key]["versions"])) if key in before else "",
            ", ".join(sorted(after[key]["versions"])) if key in after else "",
            list(seen["where"])))
    order = [SCHEMA_APPEARED, SCHEMA_GONE, SCHEMA_UNCHECKED_BASE, SCHEMA_UNCHECKED_NEW]
    changes.sort(key=lambda c: order.index(c.status))
    return changes, len(set(before) & set(after))


def compare(new_run: Any, baseline_runs: list[Any], new_paths: list[str] | None = None,
            baseline_paths: list[str] | None = None) -> Comparison:
    """Compare a (merged) new run with one or more baseline runs (:class:`model.Run`)."""
    names: list[str] = []
    by_run: list[dict[str, Any]] = []
    for run in [*baseline_runs, new_run]:
        cases = {c.full_name: c for c in run.cases}
        by_run.append(cases)
        names += [n for n in cases if n not in names]
    new_cases = by_run[-1]
    compared = []
    for name in names:
        base_cases = [cases.get(name) for cases in by_run[:-1]]
        new_case = new_cases.get(name)
        some = new_case or next(c for c in base_cases if c is not None)
        base_measures = [measures.of_case(c) if c else {} for c in base_cases]
        new_measures = measures.of_case(new_case) if new_case else {}
        keys = list(new_measures)
        for found in base_measures:
            keys += [k for k in found if k not in keys]
        rows = []
        if new_case is not None:
            for key in keys:
                base = [found.get(key) for found in base_measures]
                new = new_measures.get(key)
                status, change, direction = judge(base, new)
                sample = new or next(m for m in base if m is not None)
                rows.append(Row(key, sample.what, sample.subject, sample.unit, base, new,
                                status, change, direction))
        compared.append(CaseComparison(
            name, some.area, [c.verdict if c else "" for c in base_cases],
            new_case.verdict if new_case else "", rows))
    before_env: dict[str, dict] = {}
    for run in baseline_runs:
        before_env.update(_env_services(run))
    schemas, persisting = schema_changes(new_run, baseline_runs)
    return Comparison(list(new_paths or []), list(baseline_paths or []), compared,
                      environment_changes(before_env, _env_services(new_run)),
                      new_run.verdict, [r.verdict for r in baseline_runs], schemas,
                      persisting)


def render(comparison: Comparison, title: str = "Before and after") -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True)
    css = (TEMPLATES / "trend.css").read_text(encoding="utf-8")
    return env.get_template("compare.html.j2").render(
        c=comparison, title=title, css=css, fmt=measures.fmt, fmt_pm=measures.fmt_pm,
        fmt_change=fmt_change, judged=[BEYOND_U, BEYOND_SPREAD],
        generated=datetime.now().strftime("%Y-%m-%d %H:%M:%S"), esc=html.escape)


def fmt_change(row: Row) -> str:
    if row.change is None:
        return "—"
    if row.change == 0:
        return "0"
    sign = "+" if row.change > 0 else "−" if row.change < 0 else "±"
    text = sign + measures.fmt(abs(row.change), row.unit)
    reference = row.base[-1].value if len(row.base) == 1 and row.base[-1] else None
    if reference:
        text += f" ({row.change / reference:+.0%})"
    return text


def write(new_paths: list[str], baseline_paths: list[str], out: Path,
          known_findings: list[dict] | None = None) -> Comparison:
    """Read the outputs, compare, write the page; returns the comparison."""
    from . import model

    report_dir = out.parent
    new_run = model.read(new_paths, known_findings, report_dir)
    baseline_runs = [model.read([p], known_findings, report_dir) for p in baseline_paths]
    comparison = compare(new_run, baseline_runs, [os.fspath(p) for p in new_paths],
                         [os.fspath(p) for p in baseline_paths])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(comparison), encoding="utf-8")
    return comparison


def summary_line(comparison: Comparison) -> str:
    changes = comparison.verdict_changes
    env = len(comparison.environment)
    apart = ""
    if comparison.not_measured or comparison.new_figures:
        apart = (f" ({comparison.not_measured} figure(s) not measured in the new run, "
                 f"{comparison.new_figures} new: not compared)")
    return (f"Compared with {len(comparison.baseline_paths)} baseline run(s): "
            f"{len(changes)} verdict change(s), {comparison.changed_figures} figure(s) beyond "
            f"the uncertainty or spread{apart}, {env} API version change(s), "
            f"{len(comparison.schema_appeared)} response-schema mismatch(es) appeared, "
            f"{len(comparison.schema_gone)} went away")

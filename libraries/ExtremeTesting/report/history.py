"""``extreme history``: every run under some folders on one self-contained page.

Runs are found by their ``output.xml`` (pabot's per-worker outputs under
``pabot_results`` are not runs). A file that cannot be read as a Robot Framework output
is named and skipped. The figures over time are the runs' ``expectation`` records
(``schema: 1``); a run without any is listed as "no records" (it still has verdicts).

The usual band of a figure at run *i* is the median of the runs before it ± the larger of
3 × their median absolute deviation (MAD) and run *i*'s stated uncertainty; it needs at
least :data:`MIN_RUNS` earlier values. The page names the first run where a figure left it.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
import jinja2

from . import measures
from .measures import Measure

TEMPLATES = Path(__file__).with_name("templates")
MIN_RUNS = 3
MAD_FACTOR = 3.0
PABOT_WORKERS = "pabot_results"


@dataclass
class RunPoint:
    path: Path
    label: str
    start: datetime | None
    verdict: str
    verdicts: dict[str, str]  # case full name -> verdict
    records: dict[str, dict[str, Measure]]  # case full name -> key -> measure

    @property
    def record_count(self) -> int:
        return sum(len(found) for found in self.records.values())


@dataclass
class Series:
    key: str
    unit: str
    points: list[Measure | None]  # one per run, None where the run has no such record
    departure: int | None = None  # index of the first run outside its usual band
    bands: list[tuple[float, float] | None] = field(default_factory=list)


@dataclass
class CaseHistory:
    name: str
    verdicts: list[str]  # one per run ("" = not in that run)
    series: list[Series]
    png: str = ""


@dataclass
class History:
    runs: list[RunPoint]
    skipped: list[tuple[str, str]]  # (path, why)
    cases: list[CaseHistory]


def find_outputs(folders: list[str]) -> list[Path]:
    """Every output.xml under the folders (a file given directly counts too)."""
    found: list[Path] = []
    for folder in folders:
        path = Path(folder)
        if path.is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise measures_error(f"{folder}: no such folder. Give the folder(s) that hold the "
                                 f"runs' results (each run's output.xml is found below them).")
        found += sorted(p for p in path.rglob("output.xml") if PABOT_WORKERS not in p.parts)
    return found


def measures_error(text: str) -> Exception:
    from .model import ReportError

    return ReportError(text)


def read_runs(paths: list[Path], root_labels: bool = True, target: dict | None = None
              ) -> tuple[list[RunPoint], list[tuple[str, str]]]:
    """Each run judged as its sign-off report judged it: with the target's known findings
    and not-applicable cases when a target is given."""
    from . import model

    target = target or {}
    runs, skipped = [], []
    for path in paths:
        try:
            run = model.read([path], target.get("known_findings") or [], path.parent,
                             not_applicable=target.get("not_applicable") or [])
        except model.ReportError as error:
            skipped.append((str(path), one_line(str(error))))
            continue
        label = path.parent.name if root_labels else str(path)
        runs.append(RunPoint(
            path, label, run.start, run.verdict, {c.full_name: c.verdict for c in run.cases},
            {c.full_name: {k: m for k, m in measures.of_case(c).items()
                           if m.source == measures.EXPECTATION} for c in run.cases}))
    runs.sort(key=lambda r: (r.start or datetime.min, r.label))
    return runs, skipped


def band(before: list[Measure], now: Measure) -> tuple[float, float] | None:
    values = [m.value for m in before if m.value is not None]
    if len(values) < MIN_RUNS:
        return None
    middle = statistics.median(values)
    mad = statistics.median(abs(v - middle) for v in values)
    half = max(MAD_FACTOR * mad, now.uncertainty or 0.0)
    return middle - half, middle + half


def series_of(key: str, points: list[Measure | None]) -> Series:
    unit = next(m.unit for m in points if m is not None)
    found = Series(key, unit, points)
    seen: list[Measure] = []
    for index, point in enumerate(points):
        limits = band(seen, point) if point is not None and point.value is not None else None
        found.bands.append(limits)
        if limits and found.departure is None and not limits[0] <= point.value <= limits[1]:
            found.departure = index
        if point is not None and point.value is not None:
            seen.append(point)
    return found


def build(runs: list[RunPoint], skipped: list[tuple[str, str]]) -> History:
    names: list[str] = []
    for run in runs:
        names += [n for n in run.verdicts if n not in names]
    cases = []
    for name in names:
        keys: list[str] = []
        for run in runs:
            keys += [k for k in run.records.get(name, {}) if k not in keys]
        series = [series_of(k, [run.records.get(name, {}).get(k) for run in runs])
                  for k in keys]
        cases.append(CaseHistory(name, [run.verdicts.get(name, "") for run in runs], series))
    return History(runs, skipped, cases)


def plot(case: CaseHistory, labels: list[str]) -> str:
    """The case's series as one PNG (one panel per figure), as a data: URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = case.series[:8]
    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 1.7 * len(shown)), squeeze=False,
                             sharex=True)
    xs = list(range(len(labels)))
    for axis, series in zip(axes[:, 0], shown, strict=True):
        points = [(x, m) for x, m in zip(xs, series.points, strict=True)
                  if m is not None and m.value is not None]
        axis.errorbar([x for x, _ in points], [m.value for _, m in points],
                      yerr=[m.uncertainty or 0 for _, m in points], fmt="o-", ms=3, lw=1,
                      capsize=2, color="#23395d")
        limits = [m.limit for _, m in points if m.limit is not None]
        if limits:
            axis.axhline(limits[-1], color="#b3261e", ls="--", lw=1, label="limit")
        banded = [(x, b) for x, b in zip(xs, series.bands, strict=True) if b]
        if banded:
            axis.fill_between([x for x, _ in banded], [b[0] for _, b in banded],
                              [b[1] for _, b in banded], color="#23395d", alpha=.1, lw=0)
        if series.departure is not None:
            point = series.points[series.departure]
            axis.plot([series.departure], [point.value], "o", ms=8, mfc="none",
                      color="#b3261e")
        axis.set_ylabel(series.unit or "")
        axis.set_title(series.key, fontsize=8, loc="left")
        axis.tick_params(labelsize=7)
        axis.grid(alpha=.3)
    axes[-1, 0].set_xticks(xs, labels, rotation=60, ha="right", fontsize=6)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def render(history: History, title: str = "Run history") -> str:
    labels = [run.label for run in history.runs]
    for case in history.cases:
        if case.series:
            case.png = plot(case, labels)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True)
    return env.get_template("history.html.j2").render(
        h=history, title=title, css=(TEMPLATES / "trend.css").read_text(encoding="utf-8"),
        fmt_pm=measures.fmt_pm, min_runs=MIN_RUNS, mad_factor=MAD_FACTOR,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M:%S"), esc=html.escape)


def write(folders: list[str], out: Path, target: dict | None = None) -> History:
    paths = find_outputs(folders)
    if not paths:
        raise measures_error(f"No output.xml under {', '.join(folders)}. Give the folder(s) "
                             f"where the runs wrote their results.")
    runs, skipped = read_runs(paths, target=target)
    history = build(runs, skipped)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(history), encoding="utf-8")
    return history


def one_line(text: str) -> str:
    return " ".join(text.split())

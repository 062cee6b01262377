"""``extreme expectations``: propose an ``expectations:`` section from runs on a good cloud.

The operator runs the suites N times on a cloud they know to be good; this reads the runs'
``expectation`` records (schema 1) and writes, per scenario (the suite file's name, as in
the target file: ``service_restart``, ``workloads``...) and key, a proposed limit:

    proposed = worst + margin,  margin = max(spread, 2 × largest uncertainty, 10 % of worst)

(for "at least" figures such as throughput: worst − margin, never below 0), rounded
outwards to two significant digits. Every figure behind it is written as a YAML comment.
It is a proposal to review and copy by hand: nothing is applied to a target file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import history, measures
from .measures import Measure

WORKLOAD_SCENARIOS = ("workloads",)
_KEYS = (("failed share", "failed_share"), ("failing time", "failing_time"),
         ("outage", "max_outage"), ("recover", "recovery"), ("error rate", "error_rate"),
         ("failure rate", "failure_rate"), ("throughput", "throughput"))


@dataclass
class Figure:
    scenario: str
    subject: str  # a workload's name under "workloads", else ""
    key: str
    unit: str
    higher_is_better: bool
    seen: list[tuple[str, str, Measure]] = field(default_factory=list)  # (run, case, measure)

    @property
    def values(self) -> list[float]:
        return [m.value for _, _, m in self.seen if m.value is not None]

    @property
    def worst(self) -> float:
        return min(self.values) if self.higher_is_better else max(self.values)

    @property
    def spread(self) -> float:
        """The largest min..max range of one subject (probe, service) over the runs."""
        by_subject: dict[str, list[float]] = {}
        for _, case, m in self.seen:
            if m.value is not None:
                by_subject.setdefault(f"{case}/{m.subject}", []).append(m.value)
        return max(max(v) - min(v) for v in by_subject.values())

    @property
    def uncertainty(self) -> float:
        return max((m.uncertainty or 0.0 for _, _, m in self.seen), default=0.0)

    @property
    def margin(self) -> float:
        return max(self.spread, 2 * self.uncertainty, 0.1 * abs(self.worst))

    @property
    def proposed(self) -> float:
        if self.higher_is_better:
            return max(_round(self.worst - self.margin, down=True), 0.0)
        return _round(self.worst + self.margin, down=False)


def _round(value: float, down: bool) -> float:
    """Two significant digits, rounded away from the measured side."""
    if value == 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(abs(value))) - 1)
    rounded = (math.floor if down else math.ceil)(round(value / step, 6)) * step
    return float(f"{rounded:.10g}")


def scenario_of(suite_source: str, suite_name: str) -> str:
    if suite_source:
        return Path(suite_source).stem.lower()
    return re.sub(r"\W+", "_", suite_name.split(".")[-1].strip().lower())


def key_of(what: str) -> str:
    lowered = what.lower()
    if re.fullmatch(r"p\d+|max", lowered):
        return lowered
    for word, key in _KEYS:
        if word in lowered:
            return key
    return re.sub(r"\W+", "_", lowered).strip("_")


def collect(folders: list[str]) -> tuple[dict[tuple[str, str, str], Figure], list[str],
                                          list[tuple[str, str]]]:
    """(figures by (scenario, subject, key), run labels, skipped files)."""
    from . import model

    figures: dict[tuple[str, str, str], Figure] = {}
    labels, skipped = [], []
    for path in history.find_outputs(folders):
        try:
            run = model.read([path], [], path.parent)
        except model.ReportError as error:
            skipped.append((str(path), history.one_line(str(error))))
            continue
        label = f"{path.parent.name} ({run.verdict})"
        labels.append(label)
        for case in run.cases:
            scenario = scenario_of(case.suite_source, case.suite)
            for record in measures.expectation_records(case):
                measure = measures.from_expectation(record)
                if measure.value is None:
                    continue
                subject = measure.subject if scenario in WORKLOAD_SCENARIOS else ""
                key = key_of(measure.what)
                found = figures.setdefault((scenario, subject, key), Figure(
                    scenario, subject, key, measure.unit, measure.better == measures.HIGHER))
                found.seen.append((label, case.name, measure))
    return figures, labels, skipped


def _value(number: float, unit: str) -> str:
    text = f"{number:.10g}"
    return f"{text}%" if unit == "%" else text


def _comment(figure: Figure) -> str:
    unit = figure.unit
    worst = measures.fmt(figure.worst, unit)
    return (f"worst {worst}, spread {measures.fmt(figure.spread, unit)}, "
            f"uncertainty {measures.fmt(figure.uncertainty, unit)}, "
            f"margin {'−' if figure.higher_is_better else '+'}"
            f"{measures.fmt(figure.margin, unit)}")


def _yaml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_][\w .-]*", name) and name == name.strip() \
        else '"' + name.replace('"', '\\"') + '"'


def render(figures: dict[tuple[str, str, str], Figure], labels: list[str]) -> str:
    lines = [
        f"# Proposed by `extreme expectations` on {datetime.now():%Y-%m-%d %H:%M} from "
        f"{len(labels)} run(s):",
        *[f"#   {label}" for label in labels],
        "# A PROPOSAL TO REVIEW: nothing applies it. Copy what you accept into the target",
        "# file's expectations section; limits stay what the operator requires.",
        "# proposed = worst + margin, margin = max(spread over the runs, 2 × the largest",
        "# uncertainty, 10 % of the worst), rounded outwards to two significant digits",
        "# ('at least' figures such as throughput: worst − margin). Each figure behind it",
        "# is a comment: which cases and subjects measured what.",
        "expectations:",
    ]
    for scenario in sorted({s for s, _, _ in figures}):
        lines.append(f"  {_yaml_key(scenario)}:")
        subjects = sorted({sub for s, sub, _ in figures if s == scenario})
        for subject in subjects:
            indent = "    "
            if subject:
                lines.append(f"    {_yaml_key(subject)}:")
                indent = "      "
            for (s, sub, key), figure in sorted(figures.items()):
                if s != scenario or sub != subject:
                    continue
                by_subject: dict[str, list[float]] = {}
                for _, case, m in figure.seen:
                    by_subject.setdefault(m.subject or case, []).append(m.value)
                for name, values in sorted(by_subject.items()):
                    lines.append(f"{indent}# {name}: " + ", ".join(
                        measures.fmt(v, figure.unit) for v in values))
                lines.append(f"{indent}{_yaml_key(key)}: {_value(figure.proposed, figure.unit)}"
                             f"    # {_comment(figure)}")
    return "\n".join(lines) + "\n"

"""The sign-off report as one self-contained HTML page (inline CSS, images as data: URIs)."""

from __future__ import annotations

import html
import platform
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from . import figures as fig
from .model import AREA_TITLES as _AREA_TITLES
from .model import AREAS, OTHER_AREA, REQUIREMENT_TAG_PREFIXES, VERDICTS, Case, Run

TEMPLATES = Path(__file__).with_name("templates")
AREA_TITLES = {**_AREA_TITLES, OTHER_AREA: "Other cases"}
VERDICT_TEXT = {
    "ACCEPTED": "Every case passed.",
    "ACCEPTED WITH KNOWN FINDINGS": "Every failure is a known finding listed for this target; "
                                    "no new failure.",
    "NOT ACCEPTED": "At least one case failed with a new finding or did not run, a skip the "
                    "target does not declare, a tooling error, or a known finding that no "
                    "longer reproduces.",
    "NOT A VERDICT": "This run proves nothing about the cloud: see why below.",
    "ABORTED": "The run was ended early by its safeguards (an emergency limit crossed, a "
               "stop, or a failed pre-flight check): no acceptance verdict. What tripped, "
               "what was undone and which cases did not start are below.",
}
_URL = re.compile(r"(https?://[^\s<>\"']+)")


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _duration(start: datetime | None, end: datetime | None) -> str:
    if not start or not end:
        return "—"
    return fig.fmt_seconds((end - start).total_seconds())


def _message_html(text: str) -> str:
    """A test message as safe text: HTML messages lose their tags (and anything remote)."""
    if text.startswith("*HTML*"):
        text = html.unescape(re.sub(r"<br\s*/?>|<hr\s*/?>|</p>", "\n",
                                    text[len("*HTML*"):].strip(), flags=re.IGNORECASE))
        text = re.sub(r"<[^>]+>", "", text)
    return html.escape(text).replace("\n", "<br>")


def _case_view(case: Case, run: Run) -> dict[str, Any]:
    summary: list[tuple[str, str]] = []
    monitors, loads, events, others = [], [], [], []
    evidence = []
    for figure in case.figures:
        if figure.kind == "evidence":
            evidence.append(figure.data)
        elif figure.kind == "monitor":
            view = fig.monitor_view(figure.data)
            view["keyword"] = figure.keyword
            monitors.append(view)
            events += view["events"]
            summary += fig.monitor_summary(figure.data)
        elif figure.kind == "load":
            view = fig.load_view(figure.data)
            view["keyword"] = figure.keyword
            loads.append(view)
            summary += fig.load_summary(figure.data)
        elif figure.kind == "fault":
            events += fig.events_view(figure.data)
        elif figure.kind == "schemas":
            summary.append(("Response schemas", fig.schemas_line(figure.data)))
        elif figure.kind not in {"environment", fig.EXPECTATION, fig.FAULT_DRY_RUN}:
            others.append((figure.kind, figure.keyword, fig.flatten(figure.data)))
    records = [fig.expectation_row(r) for r in case.records]
    expectations = list(case.expectations)
    explicit = bool(expectations or records)
    earlier = ", ".join(f"{status} in {run.outputs[i].path.name} (run {i + 1})"
                        for i, status in case.earlier)
    return {
        "case": case, "verdict": case.verdict, "summary": summary,
        "explicit_expectations": explicit,
        "legend": any(k.startswith("p95 ") and " / " in k for k, _ in summary),
        "monitors": monitors, "loads": loads, "events": events, "others": others,
        "evidence": evidence,
        "expectations": expectations, "records": records,
        "marginal": sum(1 for r in records if r["marginal"]),
        "message_html": _message_html(case.message), "earlier": earlier,
        "anchor": f"case-{case.output_index}-{case.id}",
        "duration": fig.fmt_seconds(case.elapsed),
        "output": run.outputs[case.output_index].path.name,
    }


def _traceability(run: Run) -> list[dict[str, Any]]:
    items: dict[tuple[str, str], list[Case]] = {}
    for case in run.cases:
        for key, value in case.metadata.items():
            values = [value]
            if "req" in key.lower():
                values = [v.strip() for v in value.split(",") if v.strip()]
            for item in values:
                items.setdefault((key, item), []).append(case)
        for tag in case.tags:
            for prefix in REQUIREMENT_TAG_PREFIXES:
                if tag.lower().startswith(prefix):
                    items.setdefault(("Requirement (tag)", tag[len(prefix):]), []).append(case)
    rows = []
    for (key, value), cases in sorted(items.items(), key=lambda kv: (kv[0][0].lower(),
                                                                      kv[0][1].lower())):
        verdicts = {c.verdict for c in cases}
        if verdicts & {"FAIL", "NOT RUN"}:
            overall = "FAIL"
        elif "KNOWN" in verdicts:
            overall = "KNOWN"
        elif verdicts == {"SKIP"}:
            overall = "SKIP"
        else:
            overall = "PASS"
        rows.append({"key": key, "value": value, "cases": cases, "verdict": overall})
    return rows


def _environment(run: Run, target: dict[str, Any] | None) -> dict[str, Any]:
    rows: list[tuple[str, str]] = []
    if target:
        for key in ("name", "description", "cloud", "vip"):
            if target.get(key) not in (None, ""):
                rows.append((f"Target {key}", str(target[key])))
        if "destructive" in target:
            rows.append(("Destructive cases allowed", "yes" if target["destructive"] is True
                         else "no"))
    published = fig.flatten(run.environment)
    tools = [(f"Output {i + 1} written by", o.generator) for i, o in enumerate(run.outputs)
             if o.generator]
    try:
        from importlib.metadata import version

        ours = version("openstack-extreme-testing")
    except Exception:  # noqa: BLE001 - not installed as a distribution: still render
        ours = "unknown"
    import robot

    made_by = (f"ExtremeTesting {ours}, Robot Framework {robot.__version__}, "
               f"Python {platform.python_version()}")
    tools += [("Report made by", made_by)]
    times = [("Started", _time(run.start)), ("Ended", _time(run.end)),
             ("Wall time", _duration(run.start, run.end))]
    return {"target": rows, "published": published, "tools": tools, "times": times}


def _signers(signers: list[str]) -> list[dict[str, str]]:
    rows = []
    for signer in signers:
        name, _, role = signer.partition(",")
        rows.append({"name": name.strip(), "role": role.strip()})
    return rows or [{"name": "", "role": "Tested by"}, {"name": "", "role": "Accepted by"}]


def render(run: Run, *, title: str = "OpenStack acceptance sign-off report",
           target: dict[str, Any] | None = None, signers: list[str] | None = None,
           generated: datetime | None = None) -> str:
    target = target or {}
    views = {id(c): _case_view(c, run) for c in run.cases}
    areas = []
    for area, cases in run.by_area().items():
        counts = {v: sum(1 for c in cases if c.verdict == v) for v in VERDICTS}
        suites = [s for s in run.suites if s.area == area]
        areas.append({"name": area, "title": AREA_TITLES.get(area, area.title()),
                      "cases": [views[id(c)] for c in cases], "counts": counts,
                      "suites": [_suite_view(s) for s in suites]})
    for area in {s.area for s in run.suites} - {a["name"] for a in areas}:
        areas.append({"name": area, "title": AREA_TITLES.get(area, area.title()), "cases": [],
                      "counts": {}, "suites": [_suite_view(s) for s in run.suites
                                               if s.area == area]})
    areas.sort(key=lambda a: (AREAS + (OTHER_AREA,)).index(a["name"])
               if a["name"] in AREAS + (OTHER_AREA,) else 99)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["id"] = id
    environment.filters["linkify"] = lambda text: _URL.sub(r'<a href="\1">\1</a>', text)
    template = environment.get_template("report.html.j2")
    verdict = run.verdict
    return template.render(
        title=title, run=run, verdict=verdict, verdict_text=VERDICT_TEXT[verdict],
        verdict_class={"ACCEPTED": "pass", "ACCEPTED WITH KNOWN FINDINGS": "known"}.get(
            verdict, "fail"),
        verdict_line=run.verdict_line, not_a_verdict=run.not_a_verdict,
        abort=run.abort, degraded=run.degraded,
        fixed_findings=run.fixed_findings, intermittent_not_seen=run.intermittent_not_seen,
        tooling_errors=run.tooling_errors,
        blocking_skips=[views[id(c)] for c in run.blocking_skips],
        not_applicable=[views[id(c)] for c in run.cases if c.verdict == "NOT APPLICABLE"],
        marginal_count=len(run.marginal),
        counts={v: run.count(v) for v in VERDICTS},
        areas=areas, views=views,
        new_failures=[views[id(c)] for c in run.new_failures],
        known_findings=[views[id(c)] for c in run.known_findings],
        not_reproduced=[views[id(c)] for c in run.known_not_reproduced],
        listed_findings=_listed_findings(run, target),
        traceability=_traceability(run), env=_environment(run, target),
        signers=_signers(signers or []), target_name=str(target.get("name", "")) or
        str(run.environment.get("target", "")) or "",
        generated=_time(generated or datetime.now()),
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"))


def _listed_findings(run: Run, target: dict[str, Any]) -> list[Any]:
    """Known findings the target lists whose test is not in this run at all."""
    ran = {f.id for c in run.cases for f in c.candidates}
    return [f for f in run.listed if f.id not in ran]


def _suite_view(suite: Any) -> dict[str, Any]:
    monitors = [fig.monitor_view(f.data) | {"keyword": f.keyword}
                for f in suite.figures if f.kind == "monitor"]
    loads = [fig.load_view(f.data) | {"keyword": f.keyword}
             for f in suite.figures if f.kind == "load"]
    events = []
    for figure in suite.figures:
        if figure.kind == "fault":
            events += fig.events_view(figure.data)
    for monitor in monitors:
        events += monitor["events"]
    others = [(f.kind, f.keyword, fig.flatten(f.data)) for f in suite.figures
              if f.kind not in {"monitor", "load", "fault", "environment"}]
    return {"suite": suite, "monitors": monitors, "loads": loads, "events": events,
            "others": others, "message_html": _message_html(suite.message)}

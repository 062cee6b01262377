#!/usr/bin/env python3
"""Are the main job's verdicts repeatable? Runs it N times on one lab, or reads runs made.

    sudo bench/verdict_stability.py                    # ./run acceptance twice
    sudo bench/verdict_stability.py -n 5 --suites suites/destructive/power.robot \\
        "Hard Power Off Of A Controller"               # suites and/or test names
    bench/verdict_stability.py --from results/run-1 results/run-2   # only read

Each run goes to ``<results>/run-<i>/`` (``EXTREME_RESULTS``; ``EXTREME_SUITES`` when only
suites are picked, the same ``pabot`` and ``extreme report`` calls as ``./run acceptance``
when test names are); the load average at its start and end is kept in
``loadavg.json`` beside its output.xml (the figures are only comparable on an idle machine).

Prints, per case, the verdict of each run (flipped cases first, then the agreement), per
measured figure of the expectation records (case, what, subject) its min / max / spread
and uncertainty, and the count of marginal verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "libraries"))

from ExtremeTesting import results  # noqa: E402
from ExtremeTesting.errors import ExtremeError  # noqa: E402
from ExtremeTesting.report import figures as fig  # noqa: E402
from ExtremeTesting.report import model  # noqa: E402

LOADAVG = "loadavg.json"


@dataclass
class RunRead:
    folder: Path
    verdicts: dict[str, str]  # case full name -> PASS / FAIL / KNOWN / SKIP ...
    records: list[dict]  # expectation records, "case" set
    load: dict = field(default_factory=dict)  # {"start": [1, 5, 15], "end": [...]}


def read_run(folder: Path, target: dict) -> RunRead:
    run = model.read([folder / "output.xml"], target.get("known_findings") or [], folder,
                     not_applicable=target.get("not_applicable") or [])
    records = [dict(r, case=r.get("case") or case.full_name)
               for case in run.cases for r in case.records]
    load = {}
    if (folder / LOADAVG).is_file():
        load = json.loads((folder / LOADAVG).read_text(encoding="utf-8"))
    return RunRead(folder, {c.full_name: c.verdict for c in run.cases}, records, load)


def fmt(value: float | None, unit: str) -> str:
    return "—" if value is None else fig.fmt_measure(value, unit)


def report(runs: list[RunRead], out=print) -> int:
    """Print the comparison; returns the number of cases whose verdict flipped."""
    for i, run in enumerate(runs, 1):
        load = "  ".join(f"{when} {' '.join(f'{v:.2f}' for v in run.load[when])}"
                         for when in ("start", "end") if run.load.get(when))
        out(f"run {i}: {run.folder}  (load average 1/5/15 min: {load or 'not recorded'})")
    cases = sorted({name for run in runs for name in run.verdicts})
    seen = {name: [run.verdicts.get(name, "ABSENT") for run in runs] for name in cases}
    flipped = [name for name in cases if len(set(seen[name])) > 1]
    agree = len(cases) - len(flipped)
    percent = 100.0 * agree / len(cases) if cases else 100.0
    out(f"\nVerdicts across {len(runs)} runs: {agree} of {len(cases)} cases agree "
        f"({percent:.0f} %), {len(flipped)} flipped")
    for name in flipped + [n for n in cases if n not in flipped]:
        mark = "FLIPPED" if name in flipped else "same   "
        out(f"  {mark}  {' / '.join(seen[name]):<24} {name}")

    figures: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        for record in run.records:
            key = (record["case"], record.get("keyword", ""), record.get("subject") or "",
                   record.get("what", ""))
            figures[key].append(record)
    marginal = sum(results.is_marginal(r) for run in runs for r in run.records)
    out(f"\nMeasured figures (expectation records): {len(figures)}; marginal verdicts: "
        f"{marginal} in {len(runs)} runs")
    for (case, keyword, subject, what), records in sorted(figures.items()):
        unit = str(records[0].get("unit") or "")
        values = [r["measured"] for r in records if fig.is_number(r.get("measured"))]
        spreads = [r["uncertainty"] for r in records if fig.is_number(r.get("uncertainty"))]
        low, high = (min(values), max(values)) if values else (None, None)
        spread = None if low is None else high - low
        limit = f"{records[0].get('comparison', '')} {fmt(records[0].get('limit'), unit)}"
        uncertainty = f"± {fmt(max(spreads), unit)}" if spreads else "no uncertainty"
        passed = "/".join("pass" if r.get("passed") else "FAIL" for r in records)
        marks = sum(results.is_marginal(r) for r in records)
        out(f"  {case} · {what}{' of ' + subject if subject else ''} [{keyword}]: "
            f"min {fmt(low, unit)}, max {fmt(high, unit)}, spread {fmt(spread, unit)}, "
            f"{uncertainty}; limit {limit}; {passed} in {len(records)} run(s)"
            f"{f'; marginal {marks}x' if marks else ''}")
    return len(flipped)


def run_once(folder: Path, picks: list[str]) -> None:
    """One main job into ``folder``, as ``./run acceptance`` does it."""
    folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"EXTREME_RESULTS": str(folder)}
    suites = [p for p in picks if Path(p).exists()]
    tests = [p for p in picks if not Path(p).exists()]
    load = {"start": list(os.getloadavg())}
    started = time.monotonic()
    if not tests:
        if suites:
            env["EXTREME_SUITES"] = " ".join(suites)
        subprocess.run([str(REPO / "run"), "acceptance"], env=env, cwd=REPO, check=False)
    else:  # test names have spaces: EXTREME_SUITES cannot carry them; the same calls
        args = ["pabot", "--processes", env.get("EXTREME_PROCESSES", "2"), "--ordering",
                "suites/order.txt", "--outputdir", str(folder), "--loglevel",
                env.get("EXTREME_LOGLEVEL", "INFO"), "--pythonpath", str(REPO / "resources")]
        for name in tests:
            args += ["--test", name]
        subprocess.run(args + (suites or ["suites"]), env=env, cwd=REPO, check=False)
        from ExtremeTesting.target import default_target_path

        target = env.get("EXTREME_TARGET") or str(default_target_path())
        subprocess.run(["extreme", "report", str(folder / "output.xml"), "--target", target,
                        "-o", str(folder / "signoff.html"), "--log", "log.html"],
                       env=env, cwd=REPO, check=False)
    load["end"] = list(os.getloadavg())
    load["seconds"] = round(time.monotonic() - started, 1)
    (folder / LOADAVG).write_text(json.dumps(load), encoding="utf-8")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--runs", type=int, default=2, help="main-job runs (default 2)")
    p.add_argument("--suites", nargs="+", default=[], metavar="SUITE_OR_TEST",
                   help="suite paths and/or test names (default: every suite)")
    p.add_argument("--results", default=str(REPO / "results" / "stability"),
                   help="folder for the runs (default results/stability)")
    p.add_argument("--target", help="target file for known findings and not_applicable "
                   "(default: $EXTREME_TARGET, else none)")
    p.add_argument("--from", dest="folders", nargs="+", metavar="DIR",
                   help="only read these runs' output.xml")
    return p


def main(argv: list[str] | None = None, out=print) -> int:
    args = parser().parse_args(argv)
    try:
        if args.runs < 1:
            raise ExtremeError(f"-n {args.runs}: expected at least 1 run.")
        folders = [Path(f) for f in args.folders or []]
        if not folders:
            base = Path(args.results)
            folders = [base / f"run-{i}" for i in range(1, args.runs + 1)]
            for folder in folders:
                out(f"=== main job into {folder}")
                run_once(folder, args.suites)
        missing = [f for f in folders if not (f / "output.xml").is_file()]
        if missing:
            raise ExtremeError(f"{missing[0] / 'output.xml'} does not exist: expected the "
                               f"output.xml of a run (--from takes the folders ./run "
                               f"acceptance wrote).")
        target = _target(args.target)
        report([read_run(folder, target) for folder in folders], out)
    except ExtremeError as error:
        print(f"verdict_stability: {error}", file=sys.stderr)
        return 2
    return 0


def _target(path: str | None) -> dict:
    """The target's sections; without one no finding is known and every skip blocks (as
    ``extreme report`` without ``--target``)."""
    from ExtremeTesting.target import load

    chosen = path or os.environ.get("EXTREME_TARGET")
    return load(chosen).data if chosen else {}


if __name__ == "__main__":
    sys.exit(main())

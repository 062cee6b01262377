"""Compare and history time for 50 runs of the main job's size (67 cases).

One real output.xml is written by robot from a generated fixture suite of 67 cases (each
publishes a monitor result analysed from a synthetic 10 Hz timeline of two probes, an
expectation record, and every fifth a load result), then copied 49 times with its figures
perturbed (DECISIONS: copies of one real output with perturbed figures are allowed).
Prints: the output's size, compare of one run against 1 and 49 baselines, history of 50.

    PYTHONPATH=libraries python bench/compare_history.py [--runs 50] [--cases 67]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import tempfile
import time
from pathlib import Path

import robot

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "unit" / "data" / "compare" / "TrendFigures.py"
NUMBER = re.compile(r'("(?:measured|duration|total_outage|p50|p95|p99)": )([0-9]+\.[0-9]+)')


def write_suite(folder: Path, cases: int) -> Path:
    lines = ["*** Settings ***", f"Library    {FIXTURE}", "", "*** Test Cases ***"]
    for i in range(cases):
        lines += [f"Case {i:02d} Restart Service {i}",
                  f"    Measure A Restart    service-{i}    {1 + (i % 5) / 10}    limit=9"]
        if i % 5 == 0:
            lines.append(f"    Measure A Workload    workload {i}    0.3    0.002")
    suite = folder / "main_job.robot"
    suite.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return suite


def perturbed(text: str, rng: random.Random, factor: float) -> str:
    return NUMBER.sub(lambda m: f"{m[1]}{float(m[2]) * factor * rng.uniform(0.95, 1.05):.6f}",
                      text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cases", type=int, default=67)
    args = parser.parse_args()
    from ExtremeTesting.report import compare, history, model

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        robot.run(str(write_suite(root, args.cases)), outputdir=str(root / "real"),
                  log="NONE", report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
        real = (root / "real" / "output.xml").read_text(encoding="utf-8")
        print(f"one real output: {args.cases} cases, {len(real) / 1e6:.2f} MB, written in "
              f"{time.perf_counter() - started:.1f} s")
        rng = random.Random(13)
        runs = root / "runs"
        for i in range(args.runs):
            folder = runs / f"2026010{i // 10}T{i % 10:02d}0000Z"
            folder.mkdir(parents=True)
            drift = 1.5 if i >= args.runs - 5 else 1.0  # the last five drift
            (folder / "output.xml").write_text(perturbed(real, rng, drift), encoding="utf-8")
        outputs = sorted(runs.glob("*/output.xml"))

        started = time.perf_counter()
        compare.write([outputs[-1]], [outputs[-2]], root / "c1.html")
        one = time.perf_counter() - started
        started = time.perf_counter()
        found = compare.write([outputs[-1]], outputs[:-1], root / "c49.html")
        many = time.perf_counter() - started
        started = time.perf_counter()
        shown = history.write([str(runs)], root / "history.html")
        spent = time.perf_counter() - started
        size = (root / "history.html").stat().st_size
        print(f"compare, 1 new vs 1 baseline: {one:.1f} s")
        print(f"compare, 1 new vs {len(outputs) - 1} baselines: {many:.1f} s "
              f"({found.changed_figures} figures beyond the spread)")
        print(f"history of {len(shown.runs)} runs x {len(shown.cases)} cases: {spent:.1f} s, "
              f"page {size / 1e6:.1f} MB")
        print(f"load average: {os.getloadavg()[0]:.2f}")
        del model


if __name__ == "__main__":
    main()

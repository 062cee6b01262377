"""How long `extreme report` takes on a big run, and how big the page gets.

Runs a generated suite of N tests (default 300) with robot, each publishing figures shaped
like the Monitor library's (two probes, a planted outage, a timeline PNG) and every tenth a
load, then times reading the output and rendering the report. Prints the figures.

    .venv/bin/python bench/report_render.py [N]
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import robot

from ExtremeTesting.report import model, render

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "unit" / "data" / "report"


def main(count: int = 300) -> None:
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        root = Path(tmp)
        suite = root / "suites" / "destructive" / "generated.robot"
        suite.parent.mkdir(parents=True)
        cases = "\n".join(
            f"Case {i}\n    [Tags]    fault:service-restart    req:REQ-{i % 7}\n"
            f"    Publish Analysed Monitor Figures    outage_from=10    outage_to={11 + i % 5}\n"
            + ("    Publish Load Figures With Png File    ${OUTPUT_DIR}\n" if i % 10 == 0
               else "")
            + ("    Fail    outage too long\n" if i % 13 == 0 else "")
            for i in range(count))
        suite.write_text(f"*** Settings ***\nLibrary    {FIXTURES / 'FixtureFigures.py'}\n\n"
                         f"*** Test Cases ***\n{cases}", encoding="utf-8")
        started = time.perf_counter()
        robot.run(str(root / "suites"), outputdir=str(root / "out"), log="NONE",
                  report="NONE", stdout=io.StringIO(), stderr=io.StringIO())
        ran = time.perf_counter() - started
        output = root / "out" / "output.xml"
        started = time.perf_counter()
        run = model.read([output])
        read = time.perf_counter() - started
        started = time.perf_counter()
        page = render.render(run)
        rendered = time.perf_counter() - started
        print(f"tests: {len(run.cases)}  output.xml: {output.stat().st_size / 1e6:.1f} MB  "
              f"(robot run {ran:.1f} s)")
        print(f"read + extract figures: {read:.2f} s  render: {rendered:.2f} s  "
              f"page: {len(page.encode()) / 1e6:.2f} MB  verdict: {run.verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)

"""``extreme report``: turn output.xml files into the operator's sign-off report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ExtremeError

DESCRIPTION = """\
Write the sign-off report of a robot or pabot run: one self-contained HTML file (no
network needed to view it) with the overall verdict, each case's fault, expectation,
measured figures and verdict by area, known findings apart from new failures, the
timelines the run logged, traceability, the environment and a sign-off block.

Several outputs are combined: a test that appears again in a later output replaces the
earlier result (re-runs override, as with rebot --merge)."""

EPILOG = """\
examples:
  extreme report results/output.xml
  extreme report results/output.xml rerun/output.xml -o signoff.html --target lab.yaml --pdf
  extreme report new/output.xml --baseline old/output.xml older/output.xml
exit status: 0 when the report was written (whatever the verdict), 2 on an error."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="extreme report", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outputs", nargs="+", metavar="OUTPUT.xml",
                   help="output.xml of robot, or pabot's merged one; later ones override "
                        "re-run tests")
    p.add_argument("-o", "--output", metavar="REPORT.html",
                   help="where to write the report (default: signoff-report.html next to "
                        "the first output)")
    p.add_argument("--target", metavar="TARGET.yaml",
                   help="the target file: its name, cloud, expectations and known_findings")
    p.add_argument("--pdf", action="store_true",
                   help="also print the report to PDF with headless Chromium, next to the "
                        "report (REPORT.pdf)")
    p.add_argument("--pdf-file", metavar="REPORT.pdf",
                   help="where to print the PDF instead (implies --pdf)")
    p.add_argument("--title", default="OpenStack acceptance sign-off report",
                   help="the report's title")
    p.add_argument("--log", action="append", default=[], metavar="LOG.html",
                   help="log.html to link each case to, relative to the report: once for "
                        "all outputs or once per output (default: log.html next to each "
                        "output)")
    p.add_argument("--signer", action="append", default=[], metavar="'NAME, ROLE'",
                   help="a sign-off line with a name and role (repeatable; default: two "
                        "blank lines)")
    p.add_argument("--baseline", nargs="+", default=[], metavar="OLD.xml",
                   help="compare with these earlier runs (each one run; several give a "
                        "spread): writes a comparison page next to the report")
    p.add_argument("--comparison", metavar="COMPARISON.html",
                   help="where to write the comparison page (default: REPORT-comparison.html)")
    p.add_argument("--chromium-timeout", type=float, default=120, metavar="SECONDS",
                   help="how long headless Chromium may take for --pdf (default 120)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except ExtremeError as error:
        print(f"extreme report: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"extreme report: {error.filename or ''}: {error.strerror or error}. Check the "
              f"path and its permissions.", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .. import target as targets
    from . import chromium, model, render

    target_data = targets.load(args.target).data if args.target else {}
    out = Path(args.output) if args.output else \
        Path(args.outputs[0]).parent / "signoff-report.html"
    known = target_data.get("known_findings") or []
    if not isinstance(known, list):
        raise model.ReportError(f"Target file {args.target}: 'known_findings' must be a list "
                                f"of {{id, test, description}}.")
    run = model.read(args.outputs, known, out.parent, args.log)
    page = render.render(run, title=args.title, target=target_data, signers=args.signer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"{run.verdict}: {run.count('PASS')} passed, {run.count('KNOWN')} known findings, "
          f"{len(run.new_failures)} new failures, {run.count('SKIP')} skipped")
    print(f"Report: {out.resolve()}")
    if args.baseline:
        _compare(args, out, known)
    if args.pdf or args.pdf_file:
        pdf = Path(args.pdf_file) if args.pdf_file else out.with_suffix(".pdf")
        chromium.print_pdf(out, pdf, timeout=args.chromium_timeout)
        print(f"PDF:    {pdf.resolve()}")
    return 0


def _compare(args: argparse.Namespace, out: Path, known: list) -> None:
    from . import compare

    page = Path(args.comparison) if args.comparison else \
        out.with_name(f"{out.stem}-comparison.html")
    comparison = compare.write(args.outputs, args.baseline, page, known)
    print(compare.summary_line(comparison))
    print(f"Comparison: {page.resolve()}")

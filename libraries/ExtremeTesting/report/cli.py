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
exit status (the report is written in every case but an error):
  0  ACCEPTED or ACCEPTED WITH KNOWN FINDINGS
  1  NOT ACCEPTED (a new failure, a skip the target does not declare not_applicable, a
     tooling error, or a known finding that did not reproduce without
     --allow-fixed-findings)
  3  not a verdict (dry run, faults in dry-run mode, no case executed, an area all
     skipped, figures missing)
  4  ABORTED (a safeguard tripped, the run was stopped with extreme stop, SIGINT or
     SIGTERM, or the pre-flight gate failed: the page says which, what tripped, when,
     the figures, what was undone and which cases did not start)
  2  an error (unreadable output, bad target file, bad arguments)"""


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
    p.add_argument("--allow-fixed-findings", action="store_true",
                   help="accept a run in which a listed known finding did not reproduce "
                        "(it is still printed: update the target)")
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
    run = model.read(args.outputs, target_data.get("known_findings") or [], out.parent,
                     args.log, target_data.get("not_applicable") or [],
                     args.allow_fixed_findings)
    if args.target:
        run.safeguard_events = _safeguard_events(args.target, run)
    page = render.render(run, title=args.title, target=target_data, signers=args.signer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(run.verdict_line)
    for reason in run.not_a_verdict:
        print(reason)
    for finding in run.fixed_findings:
        print(f"known finding {finding.id} did not reproduce: update the target")
    for finding in run.intermittent_not_seen:
        print(f"known finding {finding.id} (intermittent) did not show in this run")
    for error in run.tooling_errors[:10]:
        print(f"tooling error: {error}")
    print(f"Report: {out.resolve()}")
    if args.baseline:
        _compare(args, out, target_data.get("known_findings") or [])
    if args.pdf or args.pdf_file:
        pdf = Path(args.pdf_file) if args.pdf_file else out.with_suffix(".pdf")
        chromium.print_pdf(out, pdf, timeout=args.chromium_timeout)
        print(f"PDF:    {pdf.resolve()}")
    return run.exit_code


def _safeguard_events(target: str, run) -> list[dict]:
    """The safeguards' events of this run, beside the target's ledger (a minute of slack
    around the run's start and end)."""
    from ..lifecycle.ledger import default_ledger_path
    from ..safeguards.journal import events_between

    if run.start is None or run.end is None:
        return []
    return events_between(default_ledger_path(target), run.start.timestamp() - 60,
                          run.end.timestamp() + 60)


def _compare(args: argparse.Namespace, out: Path, known: list) -> None:
    from . import compare

    page = Path(args.comparison) if args.comparison else \
        out.with_name(f"{out.stem}-comparison.html")
    comparison = compare.write(args.outputs, args.baseline, page, known)
    print(compare.summary_line(comparison))
    print(f"Comparison: {page.resolve()}")

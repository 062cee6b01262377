"""``extreme expectations``: propose an expectations section from runs on a good cloud."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ExtremeError

EPILOG = """\
examples:
  extreme expectations good-run-1/ good-run-2/ good-run-3/
  extreme expectations /srv/extreme-results -o proposed-expectations.yaml
exit status: 0 when a proposal was written, 2 on an error (no run, no expectation record)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="extreme expectations", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="From N runs on a cloud you know to be good, propose an expectations: "
                    "section (per scenario and service: the worst measured value plus a "
                    "margin from the spread and the uncertainty, the figures as comments) "
                    "for you to review. Nothing is applied to a target file.")
    p.add_argument("folders", nargs="+", metavar="RESULTS_DIR",
                   help="folders holding the runs (each run's output.xml, at any depth)")
    p.add_argument("-o", "--output", metavar="EXPECTATIONS.yaml",
                   help="where to write the proposal (default: print it)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from . import proposals

    try:
        figures, labels, skipped = proposals.collect(args.folders)
        for path, why in skipped:
            print(f"extreme expectations: skipped {path}: {why}", file=sys.stderr)
        if not labels:
            raise ExtremeError(f"No readable run under {', '.join(args.folders)}. Give the "
                               f"folders where the runs wrote their output.xml.")
        if not figures:
            raise ExtremeError(f"The {len(labels)} run(s) hold no expectation record "
                               f"(schema 1): run them with a version of the suites whose "
                               f"verdict keywords publish them.")
        text = proposals.render(figures, labels)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"Proposal from {len(labels)} run(s), {len(figures)} limits: "
                  f"{Path(args.output).resolve()} (review it; nothing was applied)")
        else:
            sys.stdout.write(text)
    except ExtremeError as error:
        print(f"extreme expectations: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"extreme expectations: {error.filename or ''}: {error.strerror or error}. "
              f"Check the path and its permissions.", file=sys.stderr)
        return 2
    return 0

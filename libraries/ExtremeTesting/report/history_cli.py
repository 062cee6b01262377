"""``extreme history``: one page with every run's figures over time."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ExtremeError

EPILOG = """\
examples:
  extreme history /srv/extreme-results -o /srv/extreme-results/history.html
  extreme history nightly/ weekly/ -o history.html
exit status: 0 when the page was written (files that are no run are listed and skipped),
2 on an error (no folder, no run found)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="extreme history", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write one self-contained page with, per case, each figure over time "
                    "(one point per run, with its uncertainty), the verdicts as a strip and "
                    "the first run where a figure left its usual band. Runs are the "
                    "output.xml files found under the folders; a file that is not a Robot "
                    "Framework output is named and skipped.")
    p.add_argument("folders", nargs="+", metavar="RESULTS_DIR",
                   help="folders holding runs (each run's output.xml, at any depth)")
    p.add_argument("-o", "--output", metavar="HISTORY.html", default="history.html",
                   help="where to write the page (default: history.html)")
    p.add_argument("--target", metavar="TARGET.yaml",
                   help="the target file: each run's verdict then counts its known findings "
                        "and not-applicable cases, as its sign-off report did")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from .. import target as targets
    from . import history

    try:
        target = targets.load(args.target).data if args.target else None
        found = history.write(args.folders, Path(args.output), target)
    except ExtremeError as error:
        print(f"extreme history: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"extreme history: {error.filename or ''}: {error.strerror or error}. Check "
              f"the path and its permissions.", file=sys.stderr)
        return 2
    for path, why in found.skipped:
        print(f"extreme history: skipped {path}: {why}", file=sys.stderr)
    without = sum(1 for run in found.runs if not run.record_count)
    print(f"{len(found.runs)} runs ({without} with no records), {len(found.skipped)} files "
          f"skipped, {len(found.cases)} cases")
    print(f"History: {Path(args.output).resolve()}")
    return 0

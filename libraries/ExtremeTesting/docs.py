"""Keyword documentation (libdoc HTML) for every library and every resource file.

    python -m ExtremeTesting.docs OUTDIR [--resources DIR]

Writes ``OUTDIR/<Library>.html`` for each ExtremeTesting library, ``OUTDIR/<name>.resource.html``
for each ``*.resource`` under the resources folder (default: ``resources/`` of the
checkout, or the installed package's), and ``OUTDIR/index.html`` linking them. No cloud
is needed: the libraries are documented against a small placeholder target file that is
never reached.
"""

from __future__ import annotations

import argparse
import html
import sys
import tempfile
from pathlib import Path

from . import datafiles

LIBRARIES = ("Cloud", "Faults", "Power", "Switch", "Monitor", "Load", "Changes", "Policy",
             "Evidence", "Schemas",
             "Safeguards")
# Enough for every library to import; nothing is ever sent to these names.
PLACEHOLDER_TARGET = """\
name: docs
description: placeholder target for generating keyword documentation
destructive: false
cloud: docs
os_faults: {cloud_management: {driver: universal}}
"""


def default_resources() -> Path:
    return datafiles.folder("resources")


def build(outdir: Path, resources: Path | None = None) -> list[Path]:
    """Writes every page; returns their paths. Raises RuntimeError naming what failed."""
    from robot.libdoc import libdoc

    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="extreme-docs-") as tmp:
        target = Path(tmp) / "target.yaml"
        target.write_text(PLACEHOLDER_TARGET, encoding="utf-8")
        for name in LIBRARIES:
            page = outdir / f"{name}.html"
            if libdoc(f"ExtremeTesting.{name}::{target}", str(page), name=name, quiet=True) \
                    or not page.is_file():
                failed.append(f"library {name}")
            else:
                written.append(page)
    folder = resources or default_resources()
    for resource in sorted(folder.glob("*.resource")) if folder.is_dir() else []:
        page = outdir / f"{resource.name}.html"  # load.resource.html beside Load.html
        if libdoc(str(resource), str(page), quiet=True) or not page.is_file():
            failed.append(f"resource {resource}")
        else:
            written.append(page)
    if failed:
        raise RuntimeError(f"libdoc failed for {', '.join(failed)}: run "
                           f"'python -m robot.libdoc' on it to see why.")
    links = "\n".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>'
                      for p in written)
    index = outdir / "index.html"
    index.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>OpenStack "
                     "Extreme Testing keywords</title></head><body><h1>Keyword "
                     f"documentation</h1><ul>\n{links}\n</ul></body></html>\n", encoding="utf-8")
    return [*written, index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ExtremeTesting.docs",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the HTML pages (created if missing)")
    parser.add_argument("--resources", help="folder of the .resource files "
                        "(default: resources/ of the checkout)")
    args = parser.parse_args(argv)
    try:
        pages = build(Path(args.outdir), Path(args.resources) if args.resources else None)
    except RuntimeError as error:
        print(f"ExtremeTesting.docs: {error}", file=sys.stderr)
        return 1
    print(f"{len(pages)} pages in {Path(args.outdir).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

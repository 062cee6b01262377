"""The files the code reads that are not Python modules of the package.

The operator-language resources (``resources/*.resource``) and the target examples with
the lab's defaults (``variables/``) live at the top of a checkout, where QA edits them; an
installed package carries them as ``ExtremeTesting/resources`` and
``ExtremeTesting/variables`` (setup.py maps them as package data), so a suite can say
``Resource  ExtremeTesting/resources/destructive.resource``. The report's templates are
package data beside ``report/render.py``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ExtremeError

PACKAGE = Path(__file__).resolve().parent


def folder(name: str) -> Path:
    """``resources`` or ``variables``: the installed package's, else the checkout's."""
    for candidate in (PACKAGE / name, PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise ExtremeError(f"The package's '{name}' folder is missing (looked in "
                       f"{PACKAGE / name} and {PACKAGE.parents[1] / name}): reinstall "
                       f"openstack-extreme-testing, or run from a full checkout.")


def data_file(name: str, file: str) -> Path:
    """A file of ``folder(name)``; a missing one is an error, never an empty default."""
    path = folder(name) / file
    if not path.is_file():
        raise ExtremeError(f"{path} is missing from the package: reinstall "
                           f"openstack-extreme-testing, or restore it in the checkout.")
    return path

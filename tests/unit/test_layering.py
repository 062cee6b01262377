"""The layers: the lifecycle and the shared modules sit beneath every keyword library,
and keyword packages do not import each other sideways.

Like Tempest's hacking check that keeps ``tempest.lib`` apart: an AST walk over the
sources (imports inside functions included, and ``import_module``/``__import__`` of a
string) fails when a lower layer imports a keyword library, and when a keyword package
imports another one other than through a shared module (:data:`SHARED`, each with why).
Every package and top-level module is covered; the composition roots (the ``extreme``
command, the ``ExtremeTesting.<Library>`` facades) are the only modules that compose.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "libraries" / "ExtremeTesting"


def keyword_libraries(root: Path = PACKAGE) -> tuple[str, ...]:
    """Every keyword library: each ``ExtremeTesting.<Name>`` facade's package (or module),
    and the command-line tools that are libraries of their own (report, lab)."""
    found = {f.stem.lower() for f in root.glob("*.py") if f.stem[:1].isupper()}
    return tuple(sorted(found | {"report", "lab"}))


KEYWORD_LIBRARIES = keyword_libraries()
# lower layer -> the keyword libraries it must not import
RULES = {
    "lifecycle": KEYWORD_LIBRARIES,
    "target.py": KEYWORD_LIBRARIES,
    "events.py": KEYWORD_LIBRARIES,
    "results.py": KEYWORD_LIBRARIES,
    "errors.py": KEYWORD_LIBRARIES,
    "clusters": KEYWORD_LIBRARIES,
    "vocabulary.py": KEYWORD_LIBRARIES,
    "datafiles.py": KEYWORD_LIBRARIES,
    "findings.py": KEYWORD_LIBRARIES,
    "loadbalancer.py": KEYWORD_LIBRARIES,
    "docs.py": KEYWORD_LIBRARIES,
    "__init__.py": KEYWORD_LIBRARIES,
}
# The modules that compose the libraries, and may import any of them: the ``extreme``
# command, every library's undo actions for recover (and each library's
# ``ExtremeTesting.<Name>`` facade, which imports its own).
COMPOSITION_ROOTS = {"cli.py", "undo_actions.py"}
# Modules of a keyword package that another keyword package may import, and why. Anything
# else of another keyword package (its library, keywords, internals) is a sideways import.
SHARED = {
    "cloud.connection": "the one rule that decides every library's cloud connection",
    "cloud.logsafety": "credentials redacted from what a library logs",
    "cloud.tracking": "the run id and the prefix of what a run creates",
    "monitor.analysis": "the sample timeline's phases and percentiles",
    "monitor.samples": "one sample of the timeline",
    "monitor.config": "the monitor's probes of a service, built from the target",
    "monitor.probes": "the requests that say a service serves (the roll-out's gate)",
    "monitor.dataplane": "one echo along a tenant's path: a guest answers (the data-plane "
                         "fixture, the survivors)",
    "power.osf_drivers": "the BMC drivers os-faults powers nodes with",
    "power.errors": "the BMC drivers' configuration error",
    "faults.cli": "extreme recover: undo whatever the ledger holds",
    "changes.remote": "SSH to the target's nodes, key login only",
    "lab.leakscan": "the scan for credentials in what a run wrote",
    # from the work on safeguards and evidence (checked once their packages exist)
    "safeguards.journal": "what the safeguards did, read by the report",
    "evidence.ids": "our request id, sent with every API call",
    "evidence.failures": "a failed request's record (ids, status), for the report",
    "schemas.watch": "answers checked against their published schemas, by sample",
}


def is_facade(name: str) -> bool:
    return name.endswith(".py") and name[:1].isupper()


def entries(root: Path = PACKAGE) -> list[str]:
    """Every package and top-level module of ``root``."""
    return sorted(p.name for p in root.iterdir()
                  if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py")


def others(root: Path = PACKAGE) -> list[str]:
    """Packages and modules that are no keyword library, lower layer or composition root:
    they may import a keyword library only through a shared module."""
    libraries = keyword_libraries(root)
    return [e for e in entries(root) if e not in RULES and e not in COMPOSITION_ROOTS
            and not is_facade(e) and e.removesuffix(".py") not in libraries]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False,
             root: Path | None = None) -> list[tuple[int, str]]:
    """Every module ``source`` (the text of ``module``) imports, as absolute names. With
    ``root`` (the package's folder), ``from pkg import submodule`` is the submodule only."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
            if root is not None and all(_is_module(name, root) for name in names):
                found += [(node.lineno, name) for name in names]
                continue
            found.append((node.lineno, base))
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in ("import_module", "__import__") and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def _is_module(name: str, root: Path) -> bool:
    parts = name.split(".")[1:]  # without "ExtremeTesting"
    path = root.joinpath(*parts) if parts else root
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(source: str, module: str, forbidden: tuple[str, ...],
               is_package: bool = False) -> list[str]:
    bad = {f"ExtremeTesting.{name}" for name in forbidden}
    bad |= {f"ExtremeTesting.{name.capitalize()}" for name in forbidden}
    return [f"{module}:{line} imports {name}" for line, name in imported(source, module,
                                                                        is_package)
            if any(name == b or name.startswith(b + ".") for b in bad)]


def check(layer: str, root: Path = PACKAGE) -> list[str]:
    path = root / layer
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    found = []
    for file in files:
        found += violations(file.read_text(encoding="utf-8"), module_name(file, root), RULES[layer],
                            file.name == "__init__.py")
    return found


@pytest.mark.parametrize("layer", sorted(RULES))
def test_lower_layers_import_no_keyword_library(layer):
    assert (PACKAGE / layer).exists()
    assert check(layer) == []


def sideways(source: str, module: str, root: Path = PACKAGE,
             is_package: bool = False) -> list[str]:
    """Imports of ``module`` (in a keyword package) into another keyword package that do
    not go through a :data:`SHARED` module."""
    own = module.split(".")[1].lower()
    found = []
    for line, name in imported(source, module, is_package, root):
        parts = name.split(".")
        if parts[0] != "ExtremeTesting" or len(parts) < 2:
            continue
        other = parts[1].lower()
        if other == own or other not in keyword_libraries(root):
            continue
        inner = ".".join(parts[1:])
        if not any(inner == s or inner.startswith(s + ".") for s in SHARED):
            found.append(f"{module}:{line} imports {name}")
    return found


def check_sideways(package: str, root: Path = PACKAGE) -> list[str]:
    """``package``: a keyword package or module (``schemas``), or any other entry."""
    path = root / package
    if not path.exists() and (root / f"{package}.py").is_file():
        path = root / f"{package}.py"
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    found = []
    for file in files:
        found += sideways(file.read_text(encoding="utf-8"), module_name(file, root), root,
                          file.name == "__init__.py")
    return found


@pytest.mark.parametrize("package", KEYWORD_LIBRARIES)
def test_keyword_packages_import_each_other_only_through_shared_modules(package):
    assert (PACKAGE / package).is_dir() or (PACKAGE / f"{package}.py").is_file()
    assert check_sideways(package) == []


def test_every_other_package_or_module_imports_libraries_only_through_shared_ones():
    assert [v for entry in others() for v in check_sideways(entry.removesuffix(".py"))] == []


@pytest.mark.parametrize("facade", [e for e in entries() if is_facade(e)])
def test_a_library_facade_imports_its_own_library_only(facade):
    assert sideways((PACKAGE / facade).read_text(encoding="utf-8"),
                    f"ExtremeTesting.{facade.removesuffix('.py')}") == []


def test_every_package_and_module_is_covered():
    """Each package and top-level module is a keyword library, a lower layer, a
    composition root, a facade or checked as one of the others: none is missed."""
    covered = set(RULES) | COMPOSITION_ROOTS | set(others())
    rest = [e for e in entries() if e not in covered]
    assert all(is_facade(e) or e.removesuffix(".py") in KEYWORD_LIBRARIES for e in rest)
    assert {"policy", "faults", "changes", "cloud", "monitor", "load", "power",
            "switch"} <= set(KEYWORD_LIBRARIES)


def test_every_shared_module_exists():
    for name in SHARED:
        package, module = name.split(".")
        if (PACKAGE / package).is_dir() or package in ("cloud", "monitor", "power", "faults",
                                                      "changes", "lab"):
            assert (PACKAGE / package / f"{module}.py").is_file(), name


@pytest.mark.parametrize("snippet", [
    "from ..monitor import library",
    "from ..monitor.library import Monitor",
    "from .. import changes",
    "from ..cloud import CloudContext",
    "from ..cloud.keywords import health",
    "import ExtremeTesting.Monitor",
    "def later():\n    from ..switch import library",
])
def test_the_sideways_check_catches_another_librarys_internals(snippet):
    assert sideways(snippet, "ExtremeTesting.load.library"), snippet


@pytest.mark.parametrize("snippet", [
    "from ..cloud import connection", "from ..cloud.connection import settings_for",
    "from ..monitor.analysis import Phases", "from ..lifecycle import Tracker",
    "from .. import results, target", "from .workloads import x", "from ..load import stats",
])
def test_the_sideways_check_allows_shared_modules_and_its_own(snippet):
    assert sideways(snippet, "ExtremeTesting.load.library") == [], snippet


@pytest.mark.parametrize("snippet", [
    "from ..faults import engine",
    "from .. import power",
    "import ExtremeTesting.switch.library",
    "from ExtremeTesting.Cloud import Cloud",
    "def later():\n    from ..monitor.library import Monitor",
    "import importlib\nimportlib.import_module('ExtremeTesting.load')",
])
def test_the_checker_catches_a_keyword_library_import(snippet):
    module = "ExtremeTesting.lifecycle.tracker"
    assert violations(snippet, module, RULES["lifecycle"]), snippet


@pytest.mark.parametrize("snippet", [
    "from .ledger import Step", "from ..target import Target", "from .. import events",
    "from ..errors import ExtremeError", "import faults",
])
def test_the_checker_allows_the_lower_layers(snippet):
    assert violations(snippet, "ExtremeTesting.lifecycle.tracker", RULES["lifecycle"]) == []


def test_a_new_file_that_breaks_the_layering_fails_the_check(tmp_path):
    root = tmp_path / "ExtremeTesting"
    (root / "lifecycle").mkdir(parents=True)
    (root / "lifecycle" / "__init__.py").write_text("from .sneaky import x\n")
    (root / "lifecycle" / "sneaky.py").write_text("from ..switch.library import Switch\n")
    assert check("lifecycle", root) == [
        "ExtremeTesting.lifecycle.sneaky:1 imports ExtremeTesting.switch.library",
        "ExtremeTesting.lifecycle.sneaky:1 imports ExtremeTesting.switch.library.Switch"]

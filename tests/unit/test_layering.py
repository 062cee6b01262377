"""The layers: the lifecycle and the shared modules sit beneath every keyword library.

Like Tempest's hacking check that keeps ``tempest.lib`` apart: an AST walk over the
sources (imports inside functions included, and ``import_module``/``__import__`` of a
string) fails when a lower layer imports a keyword library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "libraries" / "ExtremeTesting"
KEYWORD_LIBRARIES = ("faults", "power", "switch", "cloud", "monitor", "load", "changes", "report",
                     "lab")
# lower layer -> the keyword libraries it must not import
RULES = {
    "lifecycle": KEYWORD_LIBRARIES,
    "target.py": KEYWORD_LIBRARIES,
    "events.py": KEYWORD_LIBRARIES,
    "results.py": KEYWORD_LIBRARIES,
    "errors.py": KEYWORD_LIBRARIES,
    "clusters": KEYWORD_LIBRARIES,
    "lab": tuple(k for k in KEYWORD_LIBRARIES if k != "lab"),
    "report": tuple(k for k in KEYWORD_LIBRARIES if k != "report"),
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module ``source`` (the text of ``module``) imports, as absolute names."""
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
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in ("import_module", "__import__") and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


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

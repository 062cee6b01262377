"""Every public keyword of every library is documented well enough to learn from.

The rule, per keyword (as libdoc sees it):

- a first sentence of at least four words: what the keyword does;
- every argument named in the doc (``name``, `name` or the plain word);
- what it fails with: the doc says when it fails or refuses (a word ``fail``/``fails``/
  ``refuse``/``refuses``), or states that it never fails;
- the keywords QA uses most (called from ``resources/*.resource`` or from the README's
  example) carry an example: a ``| table |`` line that calls the keyword;
- a deprecated keyword's doc starts with ``*DEPRECATED`` and names its replacement.

Per library: the intro has ``%TOC%``, an ``= Importing =`` section and a
``= What it never does =`` section, and libdoc shows the package version.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from robot.api import get_resource_model
from robot.libdocpkg import LibraryDocumentation
from robot.parsing.model.statements import KeywordCall

import ExtremeTesting
from ExtremeTesting.docs import LIBRARIES  # every library, Policy included

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "tests/unit/data/suites/lab/target.yaml"
FAILS = re.compile(r"\b(fail|fails|refuse|refuses)\b", re.IGNORECASE)


def normal(name: str) -> str:
    return re.sub(r"[\s_]", "", name).lower()


@cache
def documentation(library: str):
    return LibraryDocumentation(f"ExtremeTesting.{library}::{TARGET}")


def all_keywords():
    return [pytest.param(library, kw, id=f"{library}.{kw.name}")
            for library in LIBRARIES for kw in documentation(library).keywords]


def first_sentence(doc: str) -> str:
    paragraph = doc.strip().split("\n\n")[0]
    return re.split(r"(?<=[.])\s", " ".join(paragraph.split()), maxsplit=1)[0]


def calls_in_resources() -> set[str]:
    called = set()
    for resource in sorted((ROOT / "resources").glob("*.resource")):
        model = get_resource_model(resource)
        for section in model.sections:
            for keyword in getattr(section, "body", []):
                for node in _walk(keyword):
                    if isinstance(node, KeywordCall):
                        called.add(normal(node.keyword))
                        # Run Keyword And ... / Wait Until Keyword Succeeds pass one on
                        called.update(normal(a) for a in node.args)
    return called


def _walk(node):
    yield node
    for child in getattr(node, "body", []) or []:
        yield from _walk(child)


def calls_in_readme() -> set[str]:
    text = (ROOT / "README.rst").read_text(encoding="utf-8")
    block = text.split("*** Test Cases ***", 1)[1].split("\nRead it line by line", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.startswith("        ")]
    return {normal(re.split(r"\s{2,}", line)[0]) for line in lines if line}


def most_used() -> list[tuple[str, str]]:
    called = calls_in_resources() | calls_in_readme()
    return [(library, kw.name) for library in LIBRARIES
            for kw in documentation(library).keywords if normal(kw.name) in called]


def test_the_most_used_keywords_are_found():
    names = {name for _, name in most_used()}
    # the anchors of the example: if these vanish, the parsing above went wrong
    assert {"Kill Service", "Start Service", "Cloud Should Be Healthy",
            "Start Availability Monitor", "Restore All Faults"} <= names


@pytest.mark.parametrize(("library", "kw"), all_keywords())
def test_keyword_is_documented(library, kw):
    doc = kw.doc.strip()
    assert doc, f"{library}.{kw.name} has no documentation"
    sentence = first_sentence(re.sub(r"^\*DEPRECATED[^*]*\*\s*", "", doc))
    assert len(sentence.split()) >= 4, \
        f"{library}.{kw.name}: the first sentence does not say what it does: {sentence!r}"
    if doc.startswith("*DEPRECATED"):
        # Robot's warning shows the first line after the closing asterisk: name the new one
        assert re.search(r"`[^`]+`", doc.splitlines()[0].split("*", 2)[2]), \
            f"{library}.{kw.name}: the deprecation names no replacement on its first line"
        return
    missing = [a.name for a in kw.args
               if not re.search(rf"(?<![\w.]){re.escape(a.name)}(?!\w)", doc)]
    assert not missing, f"{library}.{kw.name}: the doc does not name argument(s) {missing}"
    assert FAILS.search(doc), \
        f"{library}.{kw.name}: the doc does not say what it fails with (or that it never fails)"


@pytest.mark.parametrize(("library", "name"), most_used())
def test_most_used_keyword_has_an_example(library, name):
    doc = next(kw.doc for kw in documentation(library).keywords if kw.name == name)
    cells = [[normal(cell.strip().strip("`")) for cell in line.strip().strip("|").split("|")
              if cell.strip()] if "|" in line.strip()[1:]
             else [normal(c.strip("`")) for c in re.split(r"\s{2,}", line.strip()[1:].strip())]
             for line in doc.splitlines() if line.strip().startswith("|")]
    assert any(normal(name) in row for row in cells), \
        f"{library}.{name} is used in resources/ or the README but its doc has no example"


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_intro(library):
    doc = documentation(library).doc
    assert "%TOC%" in doc, f"{library}: the intro has no %TOC%"
    assert re.search(r"^\s*= Importing =\s*$", doc, re.MULTILINE), \
        f"{library}: the intro has no '= Importing =' section"
    assert re.search(r"^\s*= What it never does =\s*$", doc, re.MULTILINE), \
        f"{library}: the intro has no '= What it never does =' section"


@pytest.mark.parametrize("library", LIBRARIES)
def test_library_version_is_the_package_version(library):
    assert ExtremeTesting.__version__
    assert documentation(library).version == ExtremeTesting.__version__


@pytest.mark.parametrize("resource", sorted(p.name for p in ROOT.glob("resources/*.resource")))
def test_resource_keywords_are_documented(resource):
    doc = LibraryDocumentation(str(ROOT / "resources" / resource))
    assert doc.doc.strip(), f"{resource} has no Documentation in its settings"
    undocumented = [kw.name for kw in doc.keywords if not kw.doc.strip()]
    assert not undocumented, f"{resource}: keywords without [Documentation]: {undocumented}"


def test_every_deprecated_name_points_to_one_that_exists_and_is_not_deprecated():
    # One name per check: an old name of a resource or a library says, on the first line
    # Robot's warning shows, which keyword to use instead, and that one is current.
    current, deprecated = set(), []
    sources = [(library, documentation(library)) for library in LIBRARIES] + [
        (path.name, LibraryDocumentation(str(path)))
        for path in sorted((ROOT / "resources").glob("*.resource"))]
    for source, doc in sources:
        for kw in doc.keywords:
            if kw.doc.startswith("*DEPRECATED"):
                deprecated.append((source, kw.name, kw.doc.splitlines()[0]))
            else:
                current.add(normal(kw.name))
    assert len(deprecated) >= 17, deprecated
    for source, name, first_line in deprecated:
        replacement = re.search(r"`([^`]+)`", first_line.split("*", 2)[2])
        assert replacement, f"{source}: {name} names no replacement: {first_line}"
        assert normal(replacement.group(1)) in current, \
            f"{source}: {name} points to {replacement.group(1)!r}, which is not a current name"

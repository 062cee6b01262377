"""Verdict keywords register themselves: the report's list cannot miss one.

A verdict keyword is one that publishes an expectation record. The list is computed from the
``verdict`` decorator; this test reads every library's source for the keyword names it
publishes records under and checks each is a registered verdict, tagged ``verdict``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import ExtremeTesting
from ExtremeTesting import results
from ExtremeTesting.docs import LIBRARIES
from robot.utils import printable_name

PACKAGE = Path(ExtremeTesting.__file__).parent
# A call that publishes a record, and the string literals of its first ~3 lines.
PUBLISHING = re.compile(r"(?:_expect|publish_expectation|_publish_expectation)\((.{0,240})",
                        re.S)


def _keywords() -> dict[str, object]:
    """Every keyword of every library: its name -> its function."""
    found = {}
    for name in LIBRARIES:
        modules = [importlib.import_module(f"ExtremeTesting.{name}")]
        # a library composed of components (robotlibcore): their classes too
        if (PACKAGE / name.lower() / "keywords" / "__init__.py").is_file():
            modules.append(importlib.import_module(f"ExtremeTesting.{name.lower()}.keywords"))
        for _, cls in [c for module in modules
                       for c in inspect.getmembers(module, inspect.isclass)]:
            for attribute, function in inspect.getmembers(cls, callable):
                if hasattr(function, "robot_name"):
                    found[function.robot_name or printable_name(attribute, code_style=True)] \
                        = function
    return found


def _published_under() -> set[str]:
    """Keyword names that appear as string literals in a record-publishing call."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        if {"lab", "report"} & set(path.relative_to(PACKAGE).parts):
            continue
        text = path.read_text(encoding="utf-8")
        for call in PUBLISHING.finditer(text):
            names.update(re.findall(r'"([A-Z][A-Za-z ]+)"', call.group(1)))
            names.update(re.findall(r"\bKEYWORD\b", call.group(1)) and
                         re.findall(r'^KEYWORD = "([^"]+)"', text, re.M))
    return names


def test_every_keyword_that_publishes_a_record_is_a_registered_verdict():
    keywords = _keywords()
    publishing = _published_under() & set(keywords)
    assert len(publishing) >= 15, publishing  # the scan itself works
    assert publishing <= results.VERDICT_KEYWORDS, publishing - results.VERDICT_KEYWORDS
    for name in results.VERDICT_KEYWORDS:
        assert results.VERDICT_TAG in keywords[name].robot_tags, name


def test_policy_verdicts_are_verdicts():
    importlib.import_module("ExtremeTesting.Policy")
    assert {"Persona Should Be Allowed To", "Persona Should Be Denied", "Check Policy Matrix",
            "Deployed Policy Should Match Matrix"} <= results.VERDICT_KEYWORDS


def test_a_keyword_that_is_no_verdict_is_not_on_the_list():
    keywords = _keywords()
    for name in ("Start Availability Monitor", "Run Constant Rate Load", "Expect Policy"):
        assert name in keywords and name not in results.VERDICT_KEYWORDS
        assert results.VERDICT_TAG not in keywords[name].robot_tags


def test_the_decorator_registers_by_explicit_or_derived_name():
    @results.verdict
    def some_figure_should_be_small(self):
        pass

    @results.verdict("Another Figure Should Be Small")
    def another(self):
        pass

    try:
        assert {"Some Figure Should Be Small", "Another Figure Should Be Small"} <= \
            results.VERDICT_KEYWORDS
        assert results.is_verdict(another.robot_tags)
    finally:
        results._VERDICTS -= {"Some Figure Should Be Small", "Another Figure Should Be Small"}

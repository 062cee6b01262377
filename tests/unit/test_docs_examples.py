"""The guides' Robot examples run as written: what a QA author copies from
docs/*.rst and the README must pass the checks docs/writing-a-new-case.rst tells them to run.

- every full suite in a ``.. code-block:: robotframework`` passes ``robot --dryrun`` against
  the fixture copy of the lab's target (no failed case, no ERROR or WARN line), and
  ``robocop check`` and ``robocop format --check`` with the project's robocop.toml;
- every ``${LIMITS.<key>}`` such an example reads is given by the guide's YAML for its
  scenario or by the target's ``default`` section;
- every keyword a guide names inline (````Kill Service memcached on=...````) exists, as a
  library keyword, a resource sentence or a suite's own keyword, and every ``name=`` it is
  given there is one of that keyword's arguments.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest
import yaml
from robot.api import ExecutionResult, get_model
from robot.libdocpkg import LibraryDocumentation
from robot.parsing.model.blocks import Keyword as KeywordBlock

from ExtremeTesting.docs import LIBRARIES

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
FIXTURE = ROOT / "tests" / "unit" / "data" / "suites" / "lab" / "target.yaml"
GUIDES = sorted((ROOT / "docs").glob("*.rst")) + [ROOT / "README.rst"]
BLOCK = re.compile(r"^( *)\.\. code-block:: (\w+)\n\n((?:(?:\1    .*)?\n)+)", re.MULTILINE)
LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
ROBOT_SETTINGS = {"Test Template", "Test Setup", "Test Teardown", "Test Tags", "Test Timeout",
                  "Suite Setup", "Suite Teardown"}

sys.path.insert(0, str(ROOT / "variables"))
import lab  # noqa: E402  (variables/lab.py)


def normal(name: str) -> str:
    return re.sub(r"[\s_]", "", name).lower()


def blocks(path: Path, language: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [textwrap.dedent(body).strip() + "\n" for _, lang, body in BLOCK.findall(text)
            if lang == language]


def suites() -> list[tuple[Path, int, str]]:
    return [(path, n, body) for path in GUIDES
            for n, body in enumerate(blocks(path, "robotframework"))
            if "*** Settings ***" in body]


def test_the_guides_have_their_examples():
    found = {(path.name, n) for path, n, _ in suites()}
    # the memcached walk-through (guide and README), a fault under load, a concurrent case
    assert len([f for f in found if f[0] == "writing-a-new-case.rst"]) >= 3, found
    assert ("README.rst", 0) in found, found


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> list[Path]:
    """Each example written where the guide says to create it (suites/<area>/...), its
    ``../../resources/`` pointing at the checkout's."""
    folder = tmp_path_factory.mktemp("examples")
    files = []
    for path, n, body in suites():
        area = re.search(r"area:(\w+)", body)
        target = folder / "suites" / (area.group(1) if area else "misc") / \
            f"{path.stem.replace('-', '_')}_{n}.robot"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body.replace("../../resources/", f"{RESOURCES}/"), encoding="utf-8")
        files.append(target)
    return files


def test_every_example_suite_passes_a_dry_run(written, tmp_path):
    output = tmp_path / "output.xml"
    env = dict(os.environ, EXTREME_TARGET=str(FIXTURE))
    run = subprocess.run(
        [sys.executable, "-m", "robot", "--dryrun", "--output", str(output), "--log", "NONE",
         "--report", "NONE", "--console", "none", *map(str, written)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    result = ExecutionResult(str(output))
    failed = [f"{t.full_name}: {t.message}" for t in result.suite.all_tests
              if t.status != "PASS"]
    assert not failed, "\n".join(failed)
    errors = [m.message for m in result.errors.messages if m.level in {"ERROR", "WARN"}]
    assert not errors, "\n".join(errors)
    per_file = {t.source for t in result.suite.all_tests}  # every example ran its cases
    assert per_file == {Path(str(w)) for w in written}, run.stdout[-2000:]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_every_example_suite_is_robocop_clean(written, command):
    run = subprocess.run([sys.executable, "-m", "robocop", *command, "--config",
                          str(ROOT / "robocop.toml"), *map(str, written)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_every_limit_an_example_reads_is_given(tmp_path):
    expectations = lab.get_variables(str(FIXTURE))["expectations"]
    default = set(expectations["default"])
    for path in GUIDES:
        # a guide may build on a scenario the lab's expectations already give
        given: dict[str, set[str]] = {name: set(expectations[name]) for name in expectations}
        for body in blocks(path, "yaml"):
            document = yaml.safe_load(body) or {}
            for scenario, limits in (document.get("expectations") or {}).items():
                given.setdefault(scenario, set()).update(limits or {})
        for n, body in enumerate(blocks(path, "robotframework")):
            chosen = re.search(r"Use The Expectations Of\s{2,}(\w+)", body)
            if not chosen:
                continue
            scenario = chosen.group(1)
            assert scenario in given, \
                f"{path.name} example {n}: no YAML block gives expectations.{scenario}"
            read = set(re.findall(r"\$\{LIMITS\.(\w+)\}", body))
            missing = read - given[scenario] - default
            assert not missing, f"{path.name} example {n} reads {sorted(missing)} that " \
                f"neither its YAML for {scenario} nor the default section gives"


@cache
def keywords() -> dict[str, tuple[list[str], bool]]:
    """Every keyword a case can call: name -> (argument names, takes any named argument)."""
    docs = [LibraryDocumentation(f"ExtremeTesting.{library}::{FIXTURE}")
            for library in LIBRARIES]
    docs += [LibraryDocumentation(str(path)) for path in sorted(RESOURCES.glob("*.resource"))]
    found = {normal(kw.name): ([a.name for a in kw.args],
                               any(a.kind == "VAR_NAMED" for a in kw.args))
             for doc in docs for kw in doc.keywords}
    for suite in sorted((ROOT / "suites").rglob("*.robot")):
        for section in get_model(suite).sections:
            for block in section.body:
                if isinstance(block, KeywordBlock):
                    found.setdefault(normal(block.name), ([], True))
    return found


def named_in_guides() -> list[tuple[str, str, list[str]]]:
    """(guide, keyword, named arguments) for each inline literal that reads as a keyword
    call: two or more capitalised words (not a Robot setting, not a message in capitals),
    then its arguments."""
    calls = []
    for path in GUIDES:
        text = path.read_text(encoding="utf-8")
        text = BLOCK.sub("", text)  # the code blocks are checked by the dry run
        for literal in LITERAL.findall(text):
            words = " ".join(literal.split()).split(" ")
            name = []
            for word in words:
                if not re.fullmatch(r"[A-Z][A-Za-z']*", word):
                    break
                name.append(word)
            if len(name) >= 2 and name[0] != name[0].upper() \
                    and " ".join(name[:2]) not in ROBOT_SETTINGS:
                named = [w.split("=", 1)[0] for w in words[len(name):]
                         if re.fullmatch(r"[a-z_]+=.*", w)]
                calls.append((path.name, " ".join(name), named))
    return calls


def test_the_guides_name_keywords_inline():
    assert len(named_in_guides()) >= 30


@pytest.mark.parametrize(("guide", "name", "named"), named_in_guides())
def test_every_keyword_a_guide_names_exists_with_those_arguments(guide, name, named):
    known = keywords()
    assert normal(name) in known, f"{guide} names ``{name}``, which no library, " \
        f"resource or suite defines"
    arguments, any_named = known[normal(name)]
    wrong = [n for n in named if n not in arguments and not any_named]
    assert not wrong, f"{guide}: ``{name}`` has no argument {wrong} (it takes {arguments})"

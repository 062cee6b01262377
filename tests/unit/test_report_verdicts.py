"""Each way to fool the verdict, tried with real robot (and pabot) runs of tiny suites.

Exit codes (DECISIONS): 0 ACCEPTED / ACCEPTED WITH KNOWN FINDINGS, 1 NOT ACCEPTED,
3 not a verdict, 2 an error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ExtremeTesting.report import cli

DATA = Path(__file__).parent / "data"
LIBRARY = DATA / "verdicts" / "Verdicts.py"
LAB_TARGET = DATA / "suites" / "lab" / "target.yaml"
BIN = Path(sys.executable).parent

HEAD = f"""*** Settings ***
Library    {LIBRARY}

*** Test Cases ***
"""
PASSING = """Outage Case
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    1.0
"""


def run(tmp_path: Path, body: str, *options: str, tool: str = "robot",
        env: dict[str, str] | None = None, settings: str = "") -> Path:
    suite = tmp_path / "suites" / "fixture.robot"
    suite.parent.mkdir(parents=True, exist_ok=True)
    suite.write_text(HEAD.replace("\n\n*** Test Cases", f"\n{settings}\n*** Test Cases")
                     + body, encoding="utf-8")
    out = tmp_path / "out"
    extra = ["--no-pabotlib"] if tool == "pabot" else ["--console", "none"]
    environment = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
                       PYTHONPATH=os.pathsep.join(sys.path), **(env or {}))
    done = subprocess.run([str(BIN / tool), *extra, "--outputdir", str(out), "--log", "NONE",
                           "--report", "NONE", *options, str(suite.parent)],
                          capture_output=True, text=True, timeout=300, env=environment,
                          cwd=tmp_path)
    assert (out / "output.xml").is_file(), done.stdout + done.stderr
    return out / "output.xml"


def target(tmp_path: Path, known: str = "", not_applicable: str = "") -> Path:
    path = tmp_path / "target.yaml"
    text = "name: fixture\ncloud: fixture\n"
    if known:
        text += "known_findings:\n" + known
    if not_applicable:
        text += "not_applicable:\n" + not_applicable
    path.write_text(text, encoding="utf-8")
    return path


def verdict(tmp_path: Path, output: Path, *args: str, capsys) -> tuple[int, str, str]:
    page = tmp_path / "signoff.html"
    rc = cli.main([str(output), "-o", str(page), *args])
    printed = capsys.readouterr().out
    return rc, printed, page.read_text(encoding="utf-8")


def test_a_proven_run_is_accepted_and_marginal_figures_are_counted(tmp_path, capsys):
    output = run(tmp_path, PASSING + """Close Call
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    4.95    uncertainty=0.1
""")
    rc, printed, page = verdict(tmp_path, output, capsys=capsys)
    assert rc == 0
    assert printed.startswith("ACCEPTED: 2 passed") and "1 marginal" in printed
    assert "(areas: destructive)" in printed
    assert "MARGINAL" in page and "4.95 s ± 100 ms (limit &lt; 5.00 s)" in page


def test_dry_run_is_not_a_verdict(tmp_path, capsys):
    output = run(tmp_path, PASSING, "--dryrun")
    rc, printed, page = verdict(tmp_path, output, capsys=capsys)
    assert rc == 3
    assert printed.startswith("DRY RUN — not a verdict")
    assert "DRY RUN — not a verdict" in page


USER_KEYWORDS = """Outage Through A User Keyword
    [Tags]    area:destructive
    Set Tags    checked
    Judge The Outage    1.0

Only BuiltIn Keywords
    [Tags]    area:operational
    Should Be Equal    ${1}    ${1}

*** Keywords ***
Judge The Outage
    [Arguments]    ${measured}
    Run Keyword    Outage Should Be Shorter Than    5    ${measured}
"""


def test_dry_run_through_user_keywords_is_not_a_verdict_and_builtin_cases_are(tmp_path,
                                                                              capsys):
    # Dry run marks user keywords PASS and really runs Set Tags and Run Keyword: still
    # nothing ran. The same suite run for real is a verdict, its BuiltIn-only case too.
    rc, printed, _ = verdict(tmp_path, run(tmp_path / "dry", USER_KEYWORDS, "--dryrun"),
                             capsys=capsys)
    assert rc == 3 and printed.startswith("DRY RUN")
    rc, printed, _ = verdict(tmp_path, run(tmp_path / "real", USER_KEYWORDS), capsys=capsys)
    assert rc == 0 and printed.startswith("ACCEPTED: 2 passed"), printed


def test_an_undeclared_skip_blocks_and_a_declared_one_prints_its_reason(tmp_path, capsys):
    output = run(tmp_path, PASSING + """Volume Case
    [Tags]    area:destructive
    Skip    no volume service
""")
    rc, printed, _ = verdict(tmp_path, output, capsys=capsys)
    assert rc == 1 and printed.startswith("NOT ACCEPTED") and "1 skipped" in printed
    declared = target(tmp_path, not_applicable="  - {test: Volume*, reason: No Cinder here.}\n")
    rc, printed, page = verdict(tmp_path, output, "--target", str(declared), capsys=capsys)
    assert rc == 0 and "1 not applicable" in printed
    assert "No Cinder here." in page


def test_skip_on_failure_is_a_failure(tmp_path, capsys):
    output = run(tmp_path, PASSING + """Broken Case
    [Tags]    area:destructive    flaky
    Outage Should Be Shorter Than    5    9.0
""", "--skiponfailure", "flaky")
    declared = target(tmp_path, not_applicable="  - {test: Broken*, reason: hides it}\n")
    rc, printed, page = verdict(tmp_path, output, "--target", str(declared), capsys=capsys)
    assert rc == 1 and "1 new failures" in printed
    assert "expected shorter than 5 s" in page


def test_an_area_all_skipped_or_no_case_executed_is_not_a_verdict(tmp_path, capsys):
    output = run(tmp_path, PASSING + """Load Case
    [Tags]    area:concurrent
    Skip    no load today
""")
    declared = target(tmp_path, not_applicable="  - {test: Load*, reason: not here}\n")
    rc, printed, _ = verdict(tmp_path, output, "--target", str(declared), capsys=capsys)
    assert rc == 3 and printed.startswith("AREA CONCURRENT ALL SKIPPED — not a verdict")
    output = run(tmp_path, "Only Case\n    Skip    nothing\n")
    declared = target(tmp_path, not_applicable="  - {test: '*', reason: nothing applies}\n")
    rc, printed, _ = verdict(tmp_path, output, "--target", str(declared), capsys=capsys)
    assert rc == 3 and printed.startswith("NO CASE EXECUTED — not a verdict")


def test_faults_in_dry_run_mode_are_not_a_verdict(tmp_path, capsys):
    body = f"""Restart Case
    [Tags]    area:destructive
    Import Library    ExtremeTesting.Faults    {LAB_TARGET}
    Restart Service    keystone    on=ctl1
    Outage Should Be Shorter Than    5    1.0
"""
    output = run(tmp_path, body, env={"EXTREME_DRY_RUN": "1"})
    rc, printed, page = verdict(tmp_path, output, capsys=capsys)
    assert rc == 3, printed
    assert printed.startswith("FAULTS IN DRY-RUN MODE — not a verdict")
    # Even with --loglevel WARN the marker stays.
    output = run(tmp_path, body, "--loglevel", "WARN", env={"EXTREME_DRY_RUN": "1"})
    rc, printed, _ = verdict(tmp_path, output, capsys=capsys)
    assert rc == 3 and "FAULTS IN DRY-RUN MODE" in printed


KNOWN = """  - id: LAB-DB-1
    test: Hang Case
    failure: 'Longest outage of overall was \\d+\\.\\d+ s'
    description: requests hang
"""


def test_known_finding_needs_every_failure_to_match_its_signature(tmp_path, capsys):
    listed = target(tmp_path, known=KNOWN)
    output = run(tmp_path, PASSING + """Hang Case
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    13.7
""")
    rc, printed, _ = verdict(tmp_path, output, "--target", str(listed), capsys=capsys)
    assert rc == 0 and printed.startswith("ACCEPTED WITH KNOWN FINDINGS: 1 passed, 1 known")
    # Without the target, nothing is known.
    rc, printed, _ = verdict(tmp_path, output, capsys=capsys)
    assert rc == 1 and "0 known findings, 1 new failures" in printed
    # Another failure in the same test (its teardown), or another message: NEW.
    output = run(tmp_path, PASSING + """Hang Case
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    13.7
    [Teardown]    Fail    could not restore keystone on ctl1
""")
    rc, printed, page = verdict(tmp_path, output, "--target", str(listed), capsys=capsys)
    assert rc == 1 and "1 new failures" in printed
    assert "did not match known finding LAB-DB-1" in page
    assert "could not restore keystone on ctl1" in page


def test_an_undo_failure_is_a_new_failure(tmp_path, capsys):
    listed = target(tmp_path, known=KNOWN)
    output = run(tmp_path, PASSING + """Hang Case
    [Tags]    area:destructive
    Fail    could not undo kill keystone on ctl1: the cloud may be left broken
""")
    rc, printed, page = verdict(tmp_path, output, "--target", str(listed), capsys=capsys)
    assert rc == 1 and "1 new failures" in printed and "could not undo" in page


def test_an_unlisted_known_tag_counts_for_nothing(tmp_path, capsys):
    output = run(tmp_path, PASSING + """Other Case
    [Tags]    area:destructive    known:MADE-UP-7
    Fail    anything
""")
    rc, printed, page = verdict(tmp_path, output, "--target", str(target(tmp_path, KNOWN)),
                                capsys=capsys)
    assert rc == 1 and "1 new failures" in printed
    assert "tag known:MADE-UP-7 names no finding the target lists" in page


def test_a_fixed_known_finding_blocks_unless_allowed(tmp_path, capsys):
    listed = target(tmp_path, known=KNOWN)
    output = run(tmp_path, PASSING + """Hang Case
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    0.5
""")
    rc, printed, _ = verdict(tmp_path, output, "--target", str(listed), capsys=capsys)
    assert rc == 1 and printed.startswith("NOT ACCEPTED")
    assert "known finding LAB-DB-1 did not reproduce: update the target" in printed
    rc, printed, _ = verdict(tmp_path, output, "--target", str(listed),
                             "--allow-fixed-findings", capsys=capsys)
    assert rc == 0 and printed.startswith("ACCEPTED:")
    assert "known finding LAB-DB-1 did not reproduce" in printed


def test_an_intermittent_known_finding_that_did_not_show_blocks_nothing(tmp_path, capsys):
    listed = target(tmp_path, known=KNOWN + "    intermittent: true\n")
    passing = PASSING + """Hang Case
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    0.5
"""
    rc, printed, page = verdict(tmp_path, run(tmp_path, passing), "--target", str(listed),
                                capsys=capsys)
    assert rc == 0 and printed.startswith("ACCEPTED:"), printed
    assert "known finding LAB-DB-1 (intermittent) did not show in this run" in printed
    assert "did not reproduce" not in printed
    assert "LAB-DB-1 (intermittent) did not show in this run" in page
    # When it shows, it is known as any other finding.
    failing = PASSING + """Hang Case
    [Tags]    area:destructive
    Outage Should Be Shorter Than    5    9
"""
    rc, printed, _ = verdict(tmp_path, run(tmp_path, failing), "--target", str(listed),
                             capsys=capsys)
    assert rc == 0 and printed.startswith("ACCEPTED WITH KNOWN FINDINGS"), printed
    assert "did not show" not in printed


def test_intermittent_must_be_true_or_false(tmp_path):
    from ExtremeTesting import findings
    from ExtremeTesting.errors import TargetError

    entry = {"id": "X-1", "test": "T*", "failure": "f", "intermittent": "sometimes"}
    with pytest.raises(TargetError, match="'intermittent' must be true or false"):
        findings.parse([entry])
    assert findings.parse([dict(entry, intermittent=True)])[0].intermittent


def test_figures_missing_is_not_a_verdict(tmp_path, capsys):
    output = run(tmp_path, PASSING, "--loglevel", "WARN")
    rc, printed, page = verdict(tmp_path, output, capsys=capsys)
    assert rc == 3 and printed.startswith("FIGURES MISSING — not a verdict")
    assert "Outage Should Be Shorter Than ran without its record" in page


def test_tooling_errors_are_never_accepted(tmp_path, capsys):
    output = run(tmp_path, PASSING, settings="Library    NoSuchLibrary42\n")
    rc, printed, page = verdict(tmp_path, output, capsys=capsys)
    assert rc == 1 and printed.startswith("NOT ACCEPTED: 1 passed, 0 known findings, 0 new")
    assert "1 tooling error(s) in the run" in printed
    assert "tooling error: output.xml: Error in file" in printed and "NoSuchLibrary42" in page


@pytest.mark.skipif(not (BIN / "pabot").exists(), reason="pabot is not installed")
def test_pabot_run_with_an_undeclared_skip_blocks(tmp_path, capsys):
    output = run(tmp_path, PASSING + """Volume Case
    [Tags]    area:destructive
    Skip    no volume service
""", "--processes", "2", tool="pabot")
    rc, printed, _ = verdict(tmp_path, output, capsys=capsys)
    assert rc == 1 and "1 skipped" in printed


def test_bad_not_applicable_is_one_clear_error(tmp_path, capsys):
    output = run(tmp_path, PASSING)
    bad = target(tmp_path, not_applicable="  - {test: x}\n")
    rc = cli.main([str(output), "-o", str(tmp_path / "r.html"), "--target", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "not_applicable entry #1 must be" in err[0]

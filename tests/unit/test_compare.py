"""Compare, history, expectation proposals and the periodic CI script, on real robot and
pabot outputs of fixture suites whose library publishes figures as the real ones do."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import robot
import yaml
from ExtremeTesting.report import cli as report_cli
from ExtremeTesting.report import compare, history, history_cli, model, proposals_cli

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data" / "compare"
SUITES = DATA / "suites"
LAB_TARGET = Path(__file__).parent / "data" / "suites" / "lab" / "target.yaml"
NOVA = "Suites.Destructive.Service Restart.Nova API Restart On All Nodes"
KEYSTONE = "Suites.Destructive.Service Restart.Keystone Restart On One Node"
LONGEST = "expectation · Outage Should Be Shorter Than · nova-api · longest outage"


def run_robot(outdir: Path, *variables: str, **options) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    rc = robot.run(str(SUITES), outputdir=str(outdir), output="output.xml", log="NONE",
                   report="NONE", variable=list(variables), stdout=io.StringIO(),
                   stderr=io.StringIO(), **options)
    assert rc < 250, f"robot could not run the fixture suites (rc {rc})"
    return outdir / "output.xml"


def run_pabot(outdir: Path, *variables: str) -> Path:
    args = [sys.executable, "-m", "pabot.pabot", "--processes", "2", "--outputdir",
            str(outdir), "--log", "NONE", "--report", "NONE"]
    for variable in variables:
        args += ["--variable", variable]
    done = subprocess.run([*args, str(SUITES)], capture_output=True, text=True, timeout=300,
                          env=os.environ | {"PYTHONPATH": str(REPO / "libraries")})
    assert (outdir / "output.xml").is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    return outdir / "output.xml"


def read(path: Path) -> model.Run:
    return model.read([path], [], path.parent)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    return run_robot(tmp_path_factory.mktemp("base"))


def rows_of(comparison: compare.Comparison, case: str) -> dict[str, compare.Row]:
    found = next(c for c in comparison.cases if c.name == case)
    return {row.key: row for row in found.rows}


def test_identical_runs_compare_as_no_change(baseline, tmp_path):
    again = run_pabot(tmp_path / "again")
    comparison = compare.compare(read(again), [read(baseline)])
    assert comparison.verdict_changes == []
    assert comparison.changed_figures == 0
    assert comparison.environment == []
    statuses = {row.status for case in comparison.cases for row in case.rows}
    assert statuses == {compare.NO_CHANGE}
    # Every kind of figure is there: records, monitor (outage, latency), load.
    keys = rows_of(comparison, NOVA)
    assert LONGEST in keys and "monitor default · overall · p95 during" in keys
    assert "monitor default · overall · lost" in keys
    assert "load · issue token · throughput" in rows_of(
        comparison, "Suites.Concurrent.Workloads.Issue Token")
    page = compare.render(comparison)
    assert "No verdict changed" in page and "No change: every figure" in page


def test_a_change_beyond_the_uncertainty_is_flagged_one_within_is_not(baseline, tmp_path):
    changed = run_robot(tmp_path / "new", "NOVA_OUTAGE:4.0", "NOVA_LIMIT:9",
                        "KEYSTONE_OUTAGE:1.05")
    comparison = compare.compare(read(changed), [read(baseline)])
    nova = rows_of(comparison, NOVA)[LONGEST]
    assert nova.status == compare.BEYOND_U and nova.direction == "worse"
    assert nova.change == pytest.approx(2.5, abs=0.11)
    keystone = rows_of(comparison, KEYSTONE)[
        "expectation · Outage Should Be Shorter Than · keystone · longest outage"]
    assert not keystone.flagged
    assert keystone.status in {compare.WITHIN_U, compare.NO_CHANGE}
    assert comparison.verdict_changes == []
    page = compare.render(comparison)
    flagged = page[page.index("Figures changed beyond"):page.index("Every case, side")]
    assert "nova-api · longest outage" in flagged and "beyond uncertainty (worse)" in flagged
    assert "keystone · longest outage" not in flagged


def test_figures_not_measured_in_the_new_run_are_listed_apart_not_counted(baseline,
                                                                          tmp_path):
    # The destructive cases failed in their setup: they measured nothing.
    failed = run_robot(tmp_path / "new", "SETUP_FAILS:True")
    comparison = compare.compare(read(failed), [read(baseline)])
    nova = rows_of(comparison, NOVA)[LONGEST]
    assert nova.status == compare.GONE == "not measured in the new run"
    assert not nova.flagged and nova.unmatched
    assert comparison.changed_figures == 0
    assert comparison.not_measured == len(rows_of(comparison, NOVA)) + len(
        rows_of(comparison, KEYSTONE)) > 0
    assert comparison.new_figures == 0
    line = compare.summary_line(comparison)
    assert "0 figure(s) beyond the uncertainty or spread" in line
    assert f"{comparison.not_measured} figure(s) not measured in the new run" in line
    page = compare.render(comparison)
    apart = page[page.index("Figures measured in one run only"):page.index("Every case, side")]
    assert "nova-api · longest outage" in apart and "not measured in the new run" in apart
    assert "No change: every figure" in page
    # The other way round the same figures are new, and still no change.
    back = compare.compare(read(baseline), [read(failed)])
    assert rows_of(back, NOVA)[LONGEST].status == compare.NEW_FIGURE
    assert back.changed_figures == 0 and back.new_figures == comparison.not_measured


def test_verdict_and_api_changes_come_first(baseline, tmp_path):
    new = run_robot(tmp_path / "new", "NOVA_LIMIT:1", "EXTRA:True", "COMPUTE_MAX:2.96",
                    "WITH_VOLUME:False", test=["Nova*", "Extra*", "Endpoints*"])
    comparison = compare.compare(read(new), [read(baseline)])
    changes = {case.name.rsplit(".", 1)[-1]: what for case, what in comparison.verdict_changes}
    assert changes == {"Nova API Restart On All Nodes": "PASS → FAIL",
                       "Extra Case": "SKIP → PASS",
                       "Keystone Restart On One Node": "vanished",
                       "Issue Token": "vanished"}
    back = compare.compare(read(baseline), [read(new)])
    assert dict((c.name.rsplit(".", 1)[-1], w) for c, w in back.verdict_changes)[
        "Keystone Restart On One Node"] == "new case"
    assert ("compute", "max_microversion", "2.95", "2.96") in comparison.environment
    assert ("volumev3", "removed", "v3.0, microversions ?..3.70", "") in comparison.environment
    page = compare.render(comparison)
    assert page.index("Verdict changes") < page.index("Cloud API versions") < \
        page.index("Every case, side by side")


def test_schema_mismatches_that_appeared_or_went_away_are_listed(baseline, tmp_path):
    broken = run_robot(tmp_path / "broken", "SCHEMA_MISMATCH:servers[0].status")
    comparison = compare.compare(read(broken), [read(baseline)])
    (appeared,) = comparison.schemas
    assert (appeared.status, appeared.request, appeared.field, appeared.problem,
            appeared.before, appeared.after, appeared.cases) == (
        "appeared", "compute GET /servers", "servers[0].status", "missing", "", "2.1",
        [NOVA])
    assert comparison.schema_appeared == [appeared] and not comparison.schema_gone
    assert compare.summary_line(comparison).endswith(
        "1 response-schema mismatch(es) appeared, 0 went away")
    page = compare.render(comparison)
    section = page[page.index("<h2>Response schemas"):page.index("Figures changed beyond")]
    assert "servers[0].status" in section and "appeared" in section
    # the other way round it went away: the new run checked that request and saw no mismatch
    back = compare.compare(read(baseline), [read(broken)])
    assert [(c.status, c.before, c.after) for c in back.schemas] == [
        ("went away", "2.1", "")]
    # a new run that checked nothing (no tempest) proves nothing went away
    unchecked = run_robot(tmp_path / "unchecked", "SCHEMAS_CHECKED:False")
    blind = compare.compare(read(unchecked), [read(broken)])
    assert [c.status for c in blind.schemas] == ["not checked in the new run"]
    assert not blind.schema_gone and not blind.schema_appeared
    # seen in both: no change, counted
    again = compare.compare(read(broken), [read(broken)])
    assert again.schemas == [] and again.schemas_persisting == 1
    assert "1 seen in both runs" in compare.render(again)


def test_several_baselines_judge_by_their_spread(tmp_path):
    bases = [run_robot(tmp_path / f"b{i}", f"NOVA_OUTAGE:{o}", "NOVA_LIMIT:9")
             for i, o in enumerate((1.0, 2.0))]
    inside = run_robot(tmp_path / "in", "NOVA_OUTAGE:1.5", "NOVA_LIMIT:9")
    outside = run_robot(tmp_path / "out", "NOVA_OUTAGE:4.0", "NOVA_LIMIT:9")
    runs = [read(b) for b in bases]
    assert rows_of(compare.compare(read(inside), runs), NOVA)[LONGEST].status == \
        compare.WITHIN_SPREAD
    row = rows_of(compare.compare(read(outside), runs), NOVA)[LONGEST]
    assert row.status == compare.BEYOND_SPREAD and row.spread == pytest.approx((1.05, 2.05))


def test_report_cli_writes_the_comparison_and_errors_are_one_line(baseline, tmp_path, capsys):
    new = run_robot(tmp_path / "new", "NOVA_OUTAGE:4.0")
    out = tmp_path / "signoff.html"
    # Nova's new outage fails its limit: the run is NOT ACCEPTED (1), comparison written.
    assert report_cli.main([str(new), "--baseline", str(baseline), "-o", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "1 verdict change(s)" in printed  # Nova's 3 s limit: PASS -> FAIL
    page = (tmp_path / "signoff-comparison.html").read_text(encoding="utf-8")
    assert "PASS → FAIL" in page and "data:" not in page.split("<style>")[0]
    rc = report_cli.main([str(new), "--baseline", str(tmp_path / "missing.xml"), "-o",
                          str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "missing.xml: no such file" in err


@pytest.fixture(scope="module")
def five_runs(tmp_path_factory) -> Path:
    """Five runs in timestamp folders, the third corrupt (a killed run), the fifth with
    Nova's outage tripled, plus an old run without expectation records."""
    root = tmp_path_factory.mktemp("history")
    run_robot(root / "20260101T000000Z", "NOVA_OUTAGE:1.0", "NOVA_LIMIT:9",
              suite=["Health"])  # records nothing: an "older" run
    for i, outage in enumerate((1.0, 1.0, 1.0, 1.0, 3.0), start=1):
        run_robot(root / f"2026010{i}T120000Z", f"NOVA_OUTAGE:{outage}", "NOVA_LIMIT:9")
    path = root / "20260103T120000Z" / "output.xml"
    path.write_text(path.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    return root


def test_history_over_five_runs_with_a_corrupt_one(five_runs, tmp_path, capsys):
    out = tmp_path / "history.html"
    assert history_cli.main([str(five_runs), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "20260103T120000Z/output.xml" in captured.err and "skipped" in captured.err
    assert "5 runs (1 with no records), 1 files skipped" in captured.out
    page = out.read_text(encoding="utf-8")
    assert "20260103T120000Z" in page and "Files skipped" in page and "no records" in page
    assert "<link" not in page and "src=\"http" not in page
    assert page.count("data:image/png;base64,") == 3  # the three cases with records
    runs, skipped = history.read_runs(history.find_outputs([str(five_runs)]))
    found = history.build(runs, skipped)
    nova = next(c for c in found.cases if c.name == NOVA)
    series = next(s for s in nova.series if s.key == LONGEST)
    assert runs[series.departure].label == "20260105T120000Z"
    assert nova.verdicts == ["", "PASS", "PASS", "PASS", "PASS"]
    flagged = page[page.index("left their usual band"):page.index("Every case")]
    assert "nova-api · longest outage" in flagged and "keystone" not in flagged


def test_history_errors_are_one_line(tmp_path, capsys):
    assert history_cli.main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no such folder" in err
    assert history_cli.main([str(tmp_path), "-o", str(tmp_path / "h.html")]) == 2
    assert "No output.xml under" in capsys.readouterr().err


def test_expectations_proposed_from_three_runs(tmp_path, capsys):
    for i, outage in enumerate((1.0, 1.3, 1.1)):
        run_robot(tmp_path / "good" / f"run{i}", f"NOVA_OUTAGE:{outage}", "NOVA_LIMIT:9",
                  f"TOKEN_P95:{0.3 + i / 10}")
    out = tmp_path / "proposed.yaml"
    assert proposals_cli.main([str(tmp_path / "good"), "-o", str(out)]) == 0
    assert "nothing was applied" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    proposed = yaml.safe_load(text)["expectations"]
    # Worst 1.35 s (nova), spread 0.3 s: 1.65 s rounded up.
    assert proposed["service_restart"]["max_outage"] == pytest.approx(1.7)
    token = proposed["workloads"]["issue token"]
    assert token["p95"] == pytest.approx(0.7)  # worst 0.5 s + spread 0.2 s
    assert token["failure_rate"].endswith("%")
    assert "# nova-api: 1.05 s, 1.35 s, 1.15 s" in text
    assert "A PROPOSAL TO REVIEW" in text
    empty = tmp_path / "empty"
    run_robot(empty, suite=["Health"])
    assert proposals_cli.main([str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no expectation record" in err


# --- the periodic CI recipe -----------------------------------------------------------

FAKE_SECRET = "s3cr3t-Periodic-9f2a"


def periodic(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = os.environ | {"PYTHONPATH": str(REPO / "libraries"),
                                "EXTREME_PERIODIC_DRY": "1",
                                "EXTREME_SUITES": "suites/operational",
                                "OS_PASSWORD": FAKE_SECRET, "LAB_BMC_PASSWORD": FAKE_SECRET}
    return subprocess.run(["bash", str(REPO / "ci" / "periodic.sh"), *args], cwd=root,
                          capture_output=True, text=True, timeout=600,
                          env=environment | (env or {}))


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()
            and secret in p.read_text(encoding="utf-8", errors="replace")]


def test_periodic_keeps_each_run_writes_history_and_never_shows_the_secret(tmp_path):
    root = tmp_path / "results"
    first = periodic(tmp_path, str(LAB_TARGET), str(root))
    second = periodic(tmp_path, str(LAB_TARGET), str(root))
    for done in (first, second):
        # The dry path proves nothing: its report is "not a verdict" (3), and so is the job.
        assert done.returncode == 3, done.stdout + done.stderr
        assert "DRY RUN — not a verdict" in done.stdout
        assert FAKE_SECRET not in done.stdout + done.stderr
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(runs) == 2 and all((r / "output.xml").is_file() for r in runs)
    assert all((r / "signoff.html").is_file() and (r / "job.log").is_file() for r in runs)
    assert "2 runs" in (runs[1] / "history.log").read_text(encoding="utf-8")
    assert (root / "history.html").is_file()
    assert files_holding(root, FAKE_SECRET) == []


def test_periodic_refuses_bad_arguments_in_one_line(tmp_path):
    done = periodic(tmp_path, str(tmp_path / "no-target.yaml"), str(tmp_path / "r"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no-target.yaml' is not a readable file" in done.stderr
    assert not (tmp_path / "r").exists()
    done = periodic(tmp_path, str(LAB_TARGET))
    assert done.returncode == 2 and "usage: ci/periodic.sh TARGET RESULTS_ROOT" in done.stderr


@pytest.mark.skipif(shutil.which("ansible-playbook") is None, reason="no ansible-playbook")
def test_zuul_playbook_checks_and_runs_the_dry_path_with_a_secret(tmp_path):
    playbook = REPO / "ci" / "playbooks" / "periodic.yaml"
    base = ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook),
            "-e", f"ansible_python_interpreter={sys.executable}"]
    env = os.environ | {"PYTHONPATH": str(REPO / "libraries"), "ANSIBLE_NOCOLOR": "1"}
    check = subprocess.run([*base, "--syntax-check"], capture_output=True, text=True,
                           timeout=120, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    secret = {"extreme_target": {"file": LAB_TARGET.read_text(encoding="utf-8"),
                                 "env": {"OS_PASSWORD": FAKE_SECRET}},
              "repo_dir": str(REPO), "results_root": str(tmp_path / "results"),
              "periodic_dry": True, "extreme_suites": "suites/operational"}
    extra = tmp_path / "secret.json"
    extra.write_text(json.dumps(secret), encoding="utf-8")
    done = subprocess.run([*base, "-e", f"@{extra}"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert FAKE_SECRET not in done.stdout + done.stderr
    assert (tmp_path / "results" / "history.html").is_file()
    assert not (tmp_path / "results" / ".secret" / "target.yaml").exists()
    assert files_holding(tmp_path / "results", FAKE_SECRET) == []


def test_history_judges_each_run_with_the_target_as_its_report_did(five_runs, tmp_path,
                                                                    capsys):
    # "Extra Case" skips in these runs: without a target the skip blocks (NOT ACCEPTED);
    # declared not applicable by the target, the runs read as their reports did.
    runs, _ = history.read_runs(history.find_outputs([str(five_runs)]))
    assert {r.verdict for r in runs if r.record_count} == {"NOT ACCEPTED"}
    target = tmp_path / "target.yaml"
    target.write_text("name: fixture\ncloud: fixture\nnot_applicable:\n"
                      "  - {test: Extra Case, reason: only some runs have it}\n")
    runs, _ = history.read_runs(history.find_outputs([str(five_runs)]),
                                target={"not_applicable": [
                                    {"test": "Extra Case", "reason": "only some runs"}]})
    assert "NOT ACCEPTED" not in {r.verdict for r in runs if r.record_count}
    out = tmp_path / "h.html"
    assert history_cli.main([str(five_runs), "-o", str(out), "--target", str(target)]) == 0
    capsys.readouterr()  # (the corrupt run is named on stderr)
    assert history_cli.main([str(five_runs), "--target", str(tmp_path / "typo.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "typo.yaml" in err[0]


def test_partial_outage_records_propose_the_scenario_keys():
    from ExtremeTesting.report import proposals

    assert proposals.key_of("failed share (during)") == "failed_share"
    assert proposals.key_of("failing time (after recovery)") == "failing_time"
    assert proposals.key_of("longest outage") == "max_outage"

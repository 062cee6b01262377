"""The sign-off report, from real output.xml files written by running small fixture suites."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import robot
from ExtremeTesting.report import chromium, cli, model

DATA = Path(__file__).parent / "data" / "report"
SUITES = DATA / "suites"
TARGET = DATA / "target.yaml"


def run_robot(outdir: Path, *paths: Path, **options) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    rc = robot.run(*[str(p) for p in paths], outputdir=str(outdir), output="output.xml",
                   log="log.html", report="NONE", stdout=io.StringIO(),
                   stderr=io.StringIO(), **options)
    assert rc < 250, f"robot failed to run the fixture suites (rc {rc})"
    return outdir / "output.xml"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    return run_robot(tmp_path_factory.mktemp("run1"), SUITES)


@pytest.fixture(scope="module")
def rerun(tmp_path_factory) -> Path:
    """The failing switch case run again, this time passing."""
    return run_robot(tmp_path_factory.mktemp("run2"), SUITES, variable=["FIXED:True"],
                     test=["Switch Restart Recovers"])


def report(tmp_path: Path, *args: str) -> tuple[int, str]:
    out = tmp_path / "signoff.html"
    rc = cli.main([*args, "-o", str(out)])
    return rc, out.read_text(encoding="utf-8") if out.exists() else ""


def section(page: str, title: str) -> str:
    """The text of one numbered <h2> section of the page."""
    start = page.index(f"</span>{title}</h2>")
    end = page.find("<h2>", start)
    return page[start:end if end > 0 else None]


def test_report_verdicts_figures_and_known_findings(first_run, tmp_path, capsys):
    rc, page = report(tmp_path, str(first_run), "--target", str(TARGET))
    assert rc == 1
    printed = capsys.readouterr().out
    assert ("NOT ACCEPTED: 6 passed, 2 known findings, 1 new failures, 0 skipped, "
            "1 not applicable, 0 marginal (areas: destructive, concurrent, operational); "
            "known finding LAB-POWER-2 did not reproduce: update the target") in printed
    assert str((tmp_path / "signoff.html").resolve()) in printed

    assert 'class="verdict-value">NOT ACCEPTED<' in page
    new = section(page, "New failures")
    assert "Switch Restart Recovers" in new
    assert "Keystone answered 503 for 4.20 s after the switch came back" in new
    assert "Database Partition" not in new and "RabbitMQ" not in new
    known = section(page, "Known findings")
    assert "LAB-RABBIT-1" in known and "from tag known:LAB-RABBIT-1" in known
    assert "LAB-DB-1" in known and "from test pattern" in known
    assert "Requests hang while the database node is cut off." in known
    assert "A token request hung 13.70 s during the database partition" in known
    # Tagged known:LAB-POWER-2 but passed: not reproduced; listed but absent: shown too.
    assert "not reproduced" in known and "Power Off Then On Again" in known
    assert "known finding LAB-POWER-2 did not reproduce: update the target" in page
    assert "Object storage is not part of this fixture cloud." in new  # not applicable
    assert "LAB-NOT-RUN-9" in known

    # Measured figures, with uncertainty, from what the fixture library published.
    results = section(page, "Results by area")
    assert "8.50 s ± 50 ms" in results and "1.25 s ± 50 ms" in results
    assert "1 / 0 / 1" in results  # lost / duplicate / stuck of the RabbitMQ case
    assert "28.3 %" in results  # its error rate: 8.5 s of the 30 s timeline
    assert "400 ms" in results  # recovery time
    assert "25 ms / 1.25 s / 27 ms" in results  # p95 before/during/after
    assert "2000, 3 failed (0.15 %)" in results and "33.3/s" in results
    assert "outage &lt; 5 s" in results  # expectation from the expect: tag
    # The verdict table comes from the expectation record, never from the target file.
    assert "outage: 1.25 s ± 50 ms (limit &lt; 5.00 s)" in results
    assert "max_outage" not in results
    assert "power" in results and "service-kill" in results  # faults from fault:* tags

    # Areas: from suites/<area>/ paths, and an area: tag wins over the path.
    destructive = results[results.index('id="area-destructive"'):
                          results.index('id="area-concurrent"')]
    assert "Load During Keystone Restart" in destructive
    assert "Tokens Under Constant Rate" not in destructive

    details = section(page, "Case details")
    assert "identity.token" in details and "compute.servers" in details
    assert "+12.40 s" in details and "+20.90 s" in details  # the outage window's edges
    assert "lag_p99" in details and "overall.degradation.during_p99_ratio" in details  # \
        # monitor keys without a table of their own, shown generically
    assert "widgets" in details and "nested.depth_s" in details  # an unknown kind
    assert "keystone on ctl1" in details  # a fault event
    assert "Object storage is not deployed on this target." in details  # a skip's reason
    # Links into the run's own log.html, relative to the report (suites sort by name).
    log = Path("..") / first_run.parent.name / "log.html"
    assert f'href="{log}#s1-s2-s1-t1"' in page and f'href="{log}#s1-s3-s1-t2"' in page

    trace = section(page, "Traceability")
    assert "REQ-HA-1" in trace and "REQ-HA-2" in trace and "REQ-NET-3" in trace
    environment = section(page, "Environment")
    assert "fixture-cloud" in environment and "services.compute" in environment
    assert "2.95" in environment and "Robot 7" in environment
    assert "must-not-appear" not in page  # a credential-looking key is hidden
    signoff = page[page.index('class="signoff"'):]
    assert "NOT ACCEPTED" in signoff and "Signature" in signoff and "Tested by" in signoff


def test_report_is_self_contained(first_run, tmp_path):
    rc, page = report(tmp_path, str(first_run))
    assert rc == 1
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page
    assert "<script" not in page  # the figures' JSON is not carried over
    images = re.findall(r'<img src="data:image/png;base64,', page)
    # A monitor PNG per monitor case (5) and in a suite teardown (1), a load PNG per load case
    # (3; the one written to a file and also logged inline is shown once), one image logged
    # in a nested keyword.
    assert len(images) == 5 + 1 + 3 + 1


def test_report_shows_the_monitor_libraries_result_shape(first_run, tmp_path):
    """Figures as the Monitor library publishes them (its own analysis of a timeline with a
    planted 3 s outage), and a load whose PNG is a file next to log.html."""
    rc, page = report(tmp_path, str(first_run))
    assert rc == 1
    case = page[page.index("<h4>Keystone Restart Measured By The Monitor</h4>"):]
    case = case[:case.index("</article>")]
    assert "3.05 s ± 100 ms (1 window)" in page  # the measured column: union of both probes
    assert "3.00 s ± 100 ms" in case  # each probe's own outage
    assert ">600<" in case and "60 failed" in case and "30 failed" in case
    assert "200 ms ± 50 ms" in case  # recovery after the fault was undone
    assert "10 %" in case and "during 85.1 %" in case  # error rate, whole run and during
    assert "HTTP 503 ×30" in case  # what the outage window saw
    assert "+10.00 s" in case and "+13.00 s" in case  # the compute probe's window edges
    assert "name=extreme-mon-17, request_id=req-17" in case  # the lost write, by name
    assert "+9.50 s →" in case  # the fault window, on the monitor's clock
    assert "restart" in case and "keystone on ctl1" in case and "+12.80 s" in case
    assert "cpu share" in case and "lag_p99" in case  # context, and the rest generically
    assert "300 ms" in case  # p95 after the fault from the latency table
    # The load: its figures, its own view of the outage, its PNG read from the file.
    assert "tokens-during-restart (issue tokens)" in case and "9.9/s" in case
    assert "Seen by the load's own requests" in case and "1.25 s ± 100 ms" in case
    assert "errors.HTTP 503" in case
    assert case.count('<img src="data:image/png;base64,') == 2


def test_suite_level_figures_are_shown_in_their_area(first_run, tmp_path):
    rc, page = report(tmp_path, str(first_run))
    assert rc == 1
    concurrent = page[page.index('id="area-concurrent"'):page.index('id="area-operational"')]
    assert "Suite-level figures: Suites.Concurrent.Token Load" in concurrent
    assert "300 ms ± 50 ms" in concurrent
    run = model.read([first_run])
    assert [s.full_name for s in run.suites] == ["Suites.Concurrent.Token Load"]


def test_report_reads_figures_from_nested_keywords(first_run):
    run = model.read([first_run])
    switch = next(c for c in run.cases if c.name == "Switch Restart Recovers")
    assert len(switch.images) == 1
    assert [f.kind for f in switch.figures] == ["fault"]
    rabbit = next(c for c in run.cases if c.name == "RabbitMQ Outage Loses No Request")
    monitor = rabbit.figures_of("monitor")[0]
    assert monitor.keyword == "Publish Monitor Figures"
    assert len(monitor.data["writes"]["compute.servers"]["lost"]) == 1
    assert run.environment["services"] == {"compute": "2.95", "identity": "3.14"}


def test_report_without_target_knows_no_finding(first_run, tmp_path):
    run = model.read([first_run])
    verdicts = {c.name: c.verdict for c in run.cases}
    assert verdicts["RabbitMQ Outage Loses No Request"] == "FAIL"  # a known: tag alone
    assert verdicts["Database Partition Does Not Hang"] == "FAIL"
    assert verdicts["Optional Service Answers"] == "SKIP"  # undeclared: blocks
    assert run.verdict == "NOT ACCEPTED" and run.exit_code == 1


def test_rerun_overrides_earlier_result(first_run, rerun, tmp_path):
    rc, page = report(tmp_path, str(first_run), str(rerun), "--target", str(TARGET))
    assert rc == 1  # LAB-POWER-2 did not reproduce: a stale list is never signed silently
    rc, page = report(tmp_path, str(first_run), str(rerun), "--target", str(TARGET),
                      "--allow-fixed-findings")
    assert rc == 0
    assert 'class="verdict-value">ACCEPTED WITH KNOWN FINDINGS<' in page
    assert "rebot --merge" in page and "re-run" in page
    assert "FAIL in output.xml (run 1)" in page
    assert "None. No case failed outside the known findings." in page
    run = model.read([first_run, rerun], [])
    switch = next(c for c in run.cases if c.name == "Switch Restart Recovers")
    assert (switch.status, switch.earlier, switch.output_index) == ("PASS", [(0, "FAIL")], 1)
    assert len(run.cases) == 10  # the re-run replaced the case, it did not add one
    # Later outputs win: in the other order the failure is the final result.
    run = model.read([rerun, first_run], [])
    switch = next(c for c in run.cases if c.name == "Switch Restart Recovers")
    assert switch.status == "FAIL" and switch.earlier == [(0, "PASS")]


def test_log_links_are_configurable(first_run, rerun, tmp_path):
    rc, page = report(tmp_path, str(first_run), "--log", "../logs/log.html")
    assert rc == 1 and 'href="../logs/log.html#s1-s1-s1-t1"' in page
    rc, page = report(tmp_path, str(first_run), str(rerun), "--log", "a.html", "--log",
                      "b.html")
    assert rc == 1 and 'href="b.html#s1-s1-s1-t1"' in page and 'href="a.html#s1-s1-s1-t2"' \
        in page


def _one_line_error(capsys, rc: int, *needles: str) -> str:
    captured = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_malformed_output_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "output.xml"
    bad.write_text("<robot><suite name='x'><test name='t'><kw></robot>garbage", "utf-8")
    rc, page = report(tmp_path, str(bad))
    line = _one_line_error(capsys, rc, str(bad), "not a readable Robot Framework output")
    assert "re-run the suites" in line and not page


def test_truncated_output_is_a_clear_error(first_run, tmp_path, capsys):
    truncated = tmp_path / "output.xml"
    data = first_run.read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    rc, _ = report(tmp_path, str(truncated))
    _one_line_error(capsys, rc, str(truncated), "truncated")


def test_missing_file_and_folder_are_clear_errors(first_run, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "output.xml"
    rc, _ = report(tmp_path, str(missing))
    _one_line_error(capsys, rc, str(missing), "no such file")
    rc, _ = report(tmp_path, str(first_run.parent))
    _one_line_error(capsys, rc, "is a folder", "output.xml")


def test_output_without_tests_is_a_clear_error(tmp_path, capsys):
    empty = run_robot(tmp_path / "empty", SUITES / "operational", include=["no-such-tag"],
                      runemptysuite=True)
    rc, _ = report(tmp_path, str(empty))
    _one_line_error(capsys, rc, str(empty), "contains no tests")


def test_bad_arguments_are_clear_errors(first_run, tmp_path, capsys):
    rc, _ = report(tmp_path, str(first_run), "--log", "a.html", "--log", "b.html")
    _one_line_error(capsys, rc, "--log was given 2 times for 1 outputs")
    rc, _ = report(tmp_path, str(first_run), "--target", str(tmp_path / "missing.yaml"))
    _one_line_error(capsys, rc, "missing.yaml", "does not exist")


def test_pabot_merged_output(tmp_path):
    pabot = Path(sys.executable).with_name("pabot")
    if not pabot.exists():
        pytest.skip(f"pabot is not installed next to {sys.executable}")
    outdir = tmp_path / "pabot"
    # pabot's workers call `robot` from PATH; no PabotLib server (no fixed port taken).
    env = dict(os.environ, PATH=f"{pabot.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    completed = subprocess.run(
        [str(pabot), "--no-pabotlib", "--processes", "2", "--outputdir", str(outdir),
         "--report", "NONE", str(SUITES)], capture_output=True, text=True, timeout=300,
        check=False, cwd=tmp_path, env=env)
    assert (outdir / "output.xml").is_file(), completed.stdout + completed.stderr
    run = model.read([outdir / "output.xml"], [])
    assert len(run.cases) == 10
    rabbit = next(c for c in run.cases if c.name == "RabbitMQ Outage Loses No Request")
    assert rabbit.verdict == "FAIL" and rabbit.figures_of("monitor")  # no target: not known
    assert {c.area for c in run.cases} == {"destructive", "concurrent", "operational"}
    rc, page = report(tmp_path, str(outdir / "output.xml"), "--target", str(TARGET))
    assert rc == 1 and "8.50 s ± 50 ms" in page
    assert "LAB-RABBIT-1" in section(page, "Known findings")


needs_chromium = pytest.mark.skipif(
    chromium.find() is None,
    reason="headless Chromium is not installed (apt-get install -y --no-install-recommends "
           "chromium)")


@needs_chromium
def test_report_renders_in_headless_chromium(first_run, tmp_path):
    from PIL import Image

    rc, _ = report(tmp_path, str(first_run), "--target", str(TARGET))
    assert rc == 1
    png = chromium.screenshot(tmp_path / "signoff.html", tmp_path / "shot.png", 1280, 1600,
                              timeout=120)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert png.stat().st_size > 20_000
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 1600)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text and tables, not a blank page
    # The NOT ACCEPTED banner is drawn in the report's red (#b3261e) near the top.
    top = image.crop((0, 0, 1280, 500))
    assert any(abs(r - 0xb3) < 25 and abs(g - 0x26) < 25 and abs(b - 0x1e) < 25
               for _, (r, g, b) in top.getcolors(maxcolors=1 << 20))


@needs_chromium
def test_pdf_is_printed(first_run, tmp_path, capsys):
    pdf = tmp_path / "signoff.pdf"
    rc, _ = report(tmp_path, str(first_run), "--pdf")
    assert rc == 1
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 10_000
    assert f"PDF:    {pdf.resolve()}" in capsys.readouterr().out
    assert not list(Path("/tmp").glob("extreme-report-chromium-*"))  # profile removed
    elsewhere = tmp_path / "print" / "copy.pdf"
    elsewhere.parent.mkdir()
    rc, _ = report(tmp_path, str(first_run), "--pdf-file", str(elsewhere))
    assert rc == 1 and elsewhere.read_bytes().startswith(b"%PDF")


def test_pdf_without_chromium_is_a_clear_error(first_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    rc, _ = report(tmp_path, str(first_run), "--pdf")
    captured = capsys.readouterr()
    assert rc == 2 and "apt-get install" in captured.err and "Traceback" not in captured.err
    assert (tmp_path / "signoff.html").exists()  # the HTML report is still written

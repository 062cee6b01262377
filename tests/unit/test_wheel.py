"""A regular install works: the wheel carries every template, stylesheet, resource file and
default the code reads.

Builds the wheel from a copy of the checkout, installs it (no dependencies: they come from
this environment) into a fresh virtualenv, and from a folder outside the checkout renders a
report with the installed `extreme report` and runs a suite that imports
`ExtremeTesting/resources/...` from the installed package (its `../variables/lab.py` and the
lab's defaults included).
"""

from __future__ import annotations

import io
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import robot
from robot.api import ExecutionResult

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_TARGET = ROOT / "tests" / "unit" / "data" / "suites" / "lab" / "target.yaml"
REPORT_SUITES = ROOT / "tests" / "unit" / "data" / "report" / "suites" / "operational"

SUITE = """\
*** Settings ***
Resource    ExtremeTesting/resources/common.resource
Resource    ExtremeTesting/resources/destructive.resource
Resource    ExtremeTesting/resources/load.resource

*** Test Cases ***
Servers Requested During A RabbitMQ Outage Become Active Once It Is Back
    Mark Known Findings Of This Test
    Should Not Be Empty    ${expectations}
"""


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(the venv's bin folder, an environment without the checkout, a folder to run in)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in ("setup.py", "README.rst"):
        shutil.copy(ROOT / name, source / name)
    for name in ("libraries", "resources", "variables"):
        shutil.copytree(ROOT / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
         str(source)], cwd=tmp)
    wheel = next((tmp / "dist").glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("ExtremeTesting/report/templates/report.html.j2",
                   "ExtremeTesting/report/templates/report.css",
                   "ExtremeTesting/variables/lab-expectations.yaml",
                   "ExtremeTesting/variables/lab.py",
                   *(f"ExtremeTesting/resources/{p.name}"
                     for p in (ROOT / "resources").glob("*.resource"))):
        assert needed in names, f"{needed} is not in the wheel"
    # Test fakes stay out of the wheel; the lab's emulators are the `lab` extra.
    assert "ExtremeTesting/monitor/fakecloud.py" not in names
    assert "ExtremeTesting/monitor/library.py" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA")))
    requires = [line for line in metadata.decode().splitlines()
                if line.startswith("Requires-Dist:")]
    assert "Requires-Dist: sushy-tools; extra == \"lab\"" in requires, requires
    assert not [r for r in requires if r.startswith("Requires-Dist: sushy-tools")
                and "extra ==" not in r], requires
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    bindir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EXTREME_TARGET")}
    run([sys.executable, "-m", "pip", "--python", str(bindir / "python"), "install",
         "--no-deps", "--no-index", "-q", str(wheel)], cwd=tmp, env=env)
    # Then the dependencies come from this environment's site-packages (a plain path: its
    # .pth files, the editable install of the checkout among them, are not run).
    venv_site = next((venv / "lib").glob("python3*/site-packages"))
    (venv_site / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["EXTREME_TARGET"] = str(FIXTURE_TARGET)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    # robot, pabot... come from this environment: their scripts run this environment's
    # python, so they are started as modules of the venv's python instead.
    where = run([str(bindir / "python"), "-c",
                 "import ExtremeTesting, robot; print(ExtremeTesting.__file__)"],
                env=env, cwd=elsewhere).stdout.strip()
    assert where.startswith(str(venv)), f"ExtremeTesting imported from {where}, not the wheel"
    return bindir, env, elsewhere


def test_installed_extreme_report_renders_with_its_templates(installed, tmp_path):
    bindir, env, elsewhere = installed
    robot.run(str(REPORT_SUITES), outputdir=str(tmp_path), log="NONE", report="NONE",
              stdout=io.StringIO(), stderr=io.StringIO())
    page = tmp_path / "signoff.html"
    done = subprocess.run([str(bindir / "extreme"), "report", str(tmp_path / "output.xml"),
                           "-o", str(page)], env=env, cwd=elsewhere, capture_output=True,
                          text=True, timeout=120)
    # The fixture skips a case no target declares not applicable: written, NOT ACCEPTED.
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT ACCEPTED" in done.stdout and "Report:" in done.stdout
    html = page.read_text(encoding="utf-8")
    css = (ROOT / "libraries/ExtremeTesting/report/templates/report.css").read_text()
    assert css.splitlines()[0].strip() in html  # the stylesheet was inlined from the wheel
    assert "<table" in html


def test_installed_resources_resolve_with_their_relative_imports(installed):
    bindir, env, elsewhere = installed
    (elsewhere / "uses_resources.robot").write_text(SUITE)
    for dryrun in (["--dryrun"], []):
        run([str(bindir / "python"), "-m", "robot", *dryrun, "--output", "out.xml", "--log",
             "NONE", "--report", "NONE", "--console", "none", "uses_resources.robot"],
            env=env, cwd=elsewhere)
        test = ExecutionResult(str(elsewhere / "out.xml")).suite.tests[0]
        assert test.status == "PASS", test.message
    # the lab's known finding came from the installed variables/lab-expectations.yaml
    assert list(test.tags) == ["known:LAB-RABBIT-1"]
    libdoc = run([str(bindir / "python"), "-m", "ExtremeTesting.docs", "libdoc"], env=env,
                 cwd=elsewhere)
    assert (elsewhere / "libdoc" / "destructive.resource.html").is_file(), libdoc.stdout


def test_lab_defaults_are_read_from_the_package_and_missing_ones_fail_loudly(monkeypatch,
                                                                             tmp_path):
    from ExtremeTesting import datafiles
    from ExtremeTesting.lab import targetfile
    from ExtremeTesting.lab.shell import LabError

    found = targetfile.lab_expectations()
    assert found["expectations"] and found["known_findings"]
    monkeypatch.setattr(datafiles, "PACKAGE", tmp_path / "site" / "ExtremeTesting")
    with pytest.raises(LabError, match="'variables' folder is missing.*reinstall"):
        targetfile.lab_expectations()
    (tmp_path / "site" / "ExtremeTesting" / "variables").mkdir(parents=True)
    with pytest.raises(LabError, match="lab-expectations.yaml is missing"):
        targetfile.lab_expectations()

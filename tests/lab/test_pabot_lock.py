"""Two destructive suites started together by pabot are serialised by the Faults lock."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_pabot_serialises_two_destructive_suites(running_lab, tmp_path):
    windows = tmp_path / "windows.jsonl"
    env = dict(os.environ, EXTREME_PABOT_WINDOWS=str(windows))
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}:{env['PATH']}"
    run = subprocess.run(
        [str(bindir / "pabot"), "--pabotlib", "--processes", "2", "--outputdir",
         str(tmp_path / "out"), str(HERE / "robot" / "pabot")],
        env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    check = subprocess.run([sys.executable, "-m", "ExtremeTesting.load.pabot", "check",
                            str(windows)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    print(check.stdout)

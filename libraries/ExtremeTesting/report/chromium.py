"""Headless Chromium: print the report to PDF, or take a screenshot of it.

Chromium runs as root here, so it needs ``--no-sandbox``; everything that would reach the
network on its own (component updates, sync, QUIC, background fetches) is switched off, it
gets a fresh profile directory that is removed afterwards, and a timeout bounds it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import ExtremeError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = ("Install it: DEBIAN_FRONTEND=noninteractive apt-get install -y "
                "--no-install-recommends chromium")


class ChromiumError(ExtremeError):
    """Chromium is missing or did not produce its file."""


def find() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(page: Path, option: str, output: Path, extra: list[str], timeout: float) -> Path:
    binary = find()
    if not binary:
        raise ChromiumError(f"Chromium is needed to write {output} but is not installed. "
                            f"{INSTALL_HINT}")
    output = output.resolve()
    output.unlink(missing_ok=True)
    profile = tempfile.mkdtemp(prefix="extreme-report-chromium-")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-extensions",
               "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
               "--disable-breakpad", "--disable-crash-reporter",
               f"--user-data-dir={profile}", *extra, f"{option}={output}",
               page.resolve().as_uri()]
    # Its own process group, so that helpers it leaves behind (crash handler, zygote) are
    # ended with it and stop writing into the profile before it is removed.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChromiumError(f"Chromium did not write {output} within {timeout:.0f} s. "
                            f"Try again, or open {page} in a browser and print it.") from None
    finally:
        _end_group(process)
        _remove(Path(profile))
    if not output.is_file() or not output.stat().st_size:
        detail = (stderr or stdout).strip().splitlines()
        raise ChromiumError(f"Chromium exited {process.returncode} without writing {output}"
                            f"{': ' + detail[-1] if detail else ''}.")
    return output


def _end_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _remove(profile: Path, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while profile.exists() and time.monotonic() < deadline:
        shutil.rmtree(profile, ignore_errors=True)
        if profile.exists():
            time.sleep(0.1)  # a helper still exiting may recreate a file; try again


def print_pdf(page: Path, pdf: Path, timeout: float = 120) -> Path:
    return _run(page, "--print-to-pdf", pdf, ["--no-pdf-header-footer"], timeout)


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400,
               timeout: float = 120) -> Path:
    return _run(page, "--screenshot", png, [f"--window-size={width},{height}"], timeout)

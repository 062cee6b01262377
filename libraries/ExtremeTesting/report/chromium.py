"""Headless Chromium: print the report to PDF, or take a screenshot of it.

Chromium runs as root here, so it needs ``--no-sandbox``; everything that would reach the
network on its own (component updates, sync, QUIC, background fetches) is switched off, it
gets a fresh profile directory that is removed afterwards, and a timeout bounds it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
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
               f"--user-data-dir={profile}", *extra, f"{option}={output}",
               page.resolve().as_uri()]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                   check=False)
    except subprocess.TimeoutExpired:
        raise ChromiumError(f"Chromium did not write {output} within {timeout:.0f} s. "
                            f"Try again, or open {page} in a browser and print it.") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not output.is_file() or not output.stat().st_size:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise ChromiumError(f"Chromium exited {completed.returncode} without writing {output}"
                            f"{': ' + detail[-1] if detail else ''}.")
    return output


def print_pdf(page: Path, pdf: Path, timeout: float = 120) -> Path:
    return _run(page, "--print-to-pdf", pdf, ["--no-pdf-header-footer"], timeout)


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2400,
               timeout: float = 120) -> Path:
    return _run(page, "--screenshot", png, [f"--window-size={width},{height}"], timeout)

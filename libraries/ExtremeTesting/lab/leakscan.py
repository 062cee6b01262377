"""The credential scan: find credentials in the files a run wrote.

It looks for
  - every lab secret (passwords), as written, HTML-escaped or JSON-escaped;
  - Keystone tokens: the value of any ``X-Auth-Token`` / ``X-Subject-Token`` header (a
    hashed ``{SHA256}...`` or masked ``***`` value is fine), and any Fernet-looking token
    (``gAAAAA`` followed by at least 50 base64url characters);
  - the lab's SSH private key: its ``BEGIN ... PRIVATE KEY`` line or any line of its body;
  - Basic-auth strings: any ``Authorization: Basic <value>``, and any ``Basic <base64>``
    whose decoding holds a lab secret.
Robot's log.html and report.html keep messages zlib-compressed and base64-encoded; the
scan reads them decoded too. A finding names the file, the line and what was found, never
the value.

    python -m ExtremeTesting.lab.leakscan PATH...   # files or folders; exit 1 on a finding
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path

# A token is 32 characters (UUID) or more (Fernet: 180+): shorter values after the header's
# name are other words ("'vary': 'X-Auth-Token', 'x-openstack-request-id'").
TOKEN_HEADER = re.compile(
    rb"X-(?:Auth|Subject)-Token[\"']?\s*[:=,]\s*[\"']?(?P<value>[A-Za-z0-9_\-+/=.%{}*$]{32,})",
    re.IGNORECASE)
HARMLESS_TOKEN = re.compile(rb"^(?:\{SHA256\}|\*{3}|<redacted>|REDACTED|\$\{|%s)",
                            re.IGNORECASE)
# Standing alone: not a piece of a longer base64 blob (an embedded PNG holds "gAAAAA" too).
FERNET = re.compile(rb"(?<![A-Za-z0-9+/_\-])gAAAAA[A-Za-z0-9_\-]{50,}={0,2}(?![A-Za-z0-9+/_\-])")
BASIC_HEADER = re.compile(
    rb"Authorization[\"']?\s*[:=,]\s*[\"']?Basic\s+(?P<value>[A-Za-z0-9+/=]{4,})",
    re.IGNORECASE)
BASIC = re.compile(rb"Basic\s+(?P<value>[A-Za-z0-9+/]{8,}={0,2})")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# A base64 string in a JSON array of Robot's log/report (zlib-compressed message text).
ROBOT_STRING = re.compile(rb"\"(e[A-Za-z0-9+/]{8,}={0,2})\"")


def key_lines_from(key: bytes) -> list[bytes]:
    """The body lines of a private key (each long enough to be unmistakable)."""
    return [line.strip() for line in key.splitlines()
            if len(line.strip()) >= 16 and not line.startswith(b"-----")]


def _forms(value: str) -> set[bytes]:
    """A secret as it may appear in a file: raw, HTML/XML-escaped, JSON-escaped."""
    return {value.encode(), html.escape(value).encode(), json.dumps(value)[1:-1].encode()}


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def robot_decoded(data: bytes) -> bytes:
    """The compressed message strings of a Robot log.html/report.html, decoded."""
    parts = []
    for match in ROBOT_STRING.finditer(data):
        try:
            parts.append(zlib.decompress(base64.b64decode(match.group(1), validate=True)))
        except (binascii.Error, zlib.error, ValueError):
            continue
    return b"\n".join(parts)


def scan_bytes(data: bytes, secrets: dict[str, str],
               private_key: Iterable[bytes] = ()) -> list[str]:
    """What credentials ``data`` holds, as "line N: what" (never the value itself)."""
    found = []
    for name, value in secrets.items():
        if not value:
            continue
        for form in _forms(value):
            at = data.find(form)
            if at >= 0:
                found.append(f"line {_line_of(data, at)}: the lab's {name} password")
                break
    for match in TOKEN_HEADER.finditer(data):
        if not HARMLESS_TOKEN.match(match.group("value")):
            found.append(f"line {_line_of(data, match.start())}: a Keystone token "
                         f"({match.group(0).split(b':')[0].split(b'=')[0][:20].decode()} value)")
    for match in FERNET.finditer(data):
        found.append(f"line {_line_of(data, match.start())}: a Fernet token (gAAAAA...)")
    match = PRIVATE_KEY.search(data)
    if match:
        found.append(f"line {_line_of(data, match.start())}: a private key header")
    for line in private_key:
        at = data.find(line)
        if at >= 0:
            found.append(f"line {_line_of(data, at)}: a line of the lab's SSH private key")
            break
    for match in BASIC_HEADER.finditer(data):
        found.append(f"line {_line_of(data, match.start())}: an Authorization: Basic header")
    headers = {m.start("value") for m in BASIC_HEADER.finditer(data)}
    for match in BASIC.finditer(data):
        if match.start("value") in headers:
            continue
        try:
            decoded = base64.b64decode(match.group("value"), validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(v and v.encode() in decoded for v in secrets.values()):
            found.append(f"line {_line_of(data, match.start())}: a Basic-auth string "
                         f"holding a lab password")
    return found


def scan_files(paths: Iterable[str | Path], secrets: dict[str, str],
               private_key: Iterable[bytes] = ()) -> tuple[int, list[str]]:
    """(files scanned, findings as "path: line N: what") for files and folders."""
    private_key = list(private_key)
    count, findings = 0, []
    for path in files_under(paths):
        data = path.read_bytes()
        count += 1
        found = scan_bytes(data, secrets, private_key)
        if path.suffix in (".html", ".htm", ".js"):
            found += [f"(compressed Robot message) {f.split(': ', 1)[1]}"
                      for f in scan_bytes(robot_decoded(data), secrets, private_key)]
        findings += [f"{path}: {f}" for f in found]
    return count, findings


def files_under(paths: Iterable[str | Path]):
    for item in map(Path, paths):
        if item.is_file():
            yield item
        elif item.is_dir():
            yield from sorted(p for p in item.rglob("*") if p.is_file())


def lab_credentials() -> tuple[dict[str, str], list[bytes]]:
    """The running lab's secrets and its SSH private key's body lines."""
    from . import paths, targetfile

    secrets = json.loads((paths.root() / "secrets.json").read_text())
    key = Path(targetfile.key_path())
    return secrets, key_lines_from(key.read_bytes()) if key.is_file() else []


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    try:
        secrets, key = lab_credentials()
    except OSError as error:
        print(f"leakscan: cannot read the lab's secrets ({error.strerror or error}): is the "
              f"lab up? 'extreme lab status' tells.", file=sys.stderr)
        return 2
    count, findings = scan_files(args, secrets, key)
    for finding in findings:
        print(f"CREDENTIAL: {finding}")
    outcome = f"{len(findings)} credentials found" if findings else "no credential"
    print(f"scanned {count} files: {outcome}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

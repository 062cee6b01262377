"""Secrets out of log lines before they reach any file.

The leak scanner's rules (:mod:`ExtremeTesting.lab.leakscan`: token headers, Fernet tokens,
Basic-auth strings, private keys) applied as masks, plus the known secrets of this process
(:mod:`ExtremeTesting.cloud.logsafety`'s registered passwords and its ``password=``,
``"password": ...`` and header rules) and credentials inside URLs
(``rabbit://user:pass@host``, ``mysql+pymysql://user:pass@host``). A line masked here
passes the leak scan; :func:`mask` is called on every fetched line before it is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..cloud import logsafety
from ..lab import leakscan

MASK = "***"
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^\s/:@]*:)(?P<value>[^\s/@]+)@",
                              re.IGNORECASE)
# `password = value` / `password: value` in configuration dumps (oslo.config logs them).
_CONFIG_VALUE = re.compile(
    r"(?P<key>\b(?:[\w.\-]*(?:password|passwd|secret|credential)|[\w.\-]*_key|token)\b"
    r"\s*[=:]\s*)"
    r"(?P<value>(?!\*{3}|\*+\s*$)[^\s,;'\"]{3,})", re.IGNORECASE)


def mask(text: str, secrets: Iterable[str] = (), key_lines: Iterable[bytes] = ()) -> str:
    """``text`` with every credential the rules recognise replaced by ``***``."""
    if not text:
        return text
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = logsafety.redact(text)
    data = text.encode("utf-8", errors="replace")
    data = leakscan.TOKEN_HEADER.sub(
        lambda m: m.group(0)[:m.start("value") - m.start(0)] + MASK.encode(), data)
    data = leakscan.FERNET.sub(b"gAAAAA" + MASK.encode(), data)
    data = leakscan.BASIC_HEADER.sub(
        lambda m: m.group(0)[:m.start("value") - m.start(0)] + MASK.encode(), data)
    data = leakscan.BASIC.sub(b"Basic " + MASK.encode(), data)
    if leakscan.PRIVATE_KEY.search(data):
        data = leakscan.PRIVATE_KEY.sub(b"-----" + MASK.encode() + b" PRIVATE KEY-----", data)
    for line in key_lines:
        if line:
            data = data.replace(line, MASK.encode())
    text = data.decode("utf-8", errors="replace")
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _CONFIG_VALUE.sub(lambda m: f"{m['key']}{MASK}", text)


def target_secrets(data: dict, environ: dict | None = None) -> list[str]:
    """The values of every ``*_env`` variable the target names (BMC, switch, persona
    passwords): known secrets to mask even where no rule recognises them."""
    import os

    environ = os.environ if environ is None else environ
    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
                    secret = environ.get(value)
                    if secret:
                        found.append(secret)
                else:
                    walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(data)
    return found

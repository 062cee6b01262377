"""How libraries leave measured figures in a Robot run, and how the report finds them.

A library calls :func:`publish` inside a keyword: it logs an HTML message that shows a
human summary in log.html and carries the full figures as JSON in a
``<script type="application/json" data-extreme="KIND">`` element. The message lands in
output.xml (and survives pabot's merge), so the sign-off report reads the very figures
the run measured: :func:`extract` finds them again in a message's text.
"""

from __future__ import annotations

import html
import json
import re

_SCRIPT = re.compile(
    r'<script type="application/json" data-extreme="(?P<kind>[\w.-]+)">(?P<body>.*?)</script>',
    re.S)


def render(kind: str, data: dict, summary_html: str = "") -> str:
    # "</" inside the JSON would end the script element early; \u003c keeps it valid JSON.
    body = json.dumps(data, default=str, sort_keys=True).replace("</", "<\\u002f")
    return (f'{summary_html}<script type="application/json" data-extreme="{html.escape(kind)}">'
            f"{body}</script>")


def publish(kind: str, data: dict, summary_html: str = "") -> None:
    from robot.api import logger

    logger.info(render(kind, data, summary_html), html=True)


def extract(message: str) -> list[tuple[str, dict]]:
    """Every (kind, data) pair carried by one message's text."""
    found = []
    for match in _SCRIPT.finditer(message or ""):
        try:
            found.append((match["kind"], json.loads(match["body"])))
        except json.JSONDecodeError:
            continue
    return found

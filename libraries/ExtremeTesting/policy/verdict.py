"""Judging cells: run an operation as a persona, compare with the expectation, report.

Pure functions over :class:`Cell`, so the verdict logic is tested without a cloud.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from .calls import ALLOW, DENY, ERROR, Outcome
from .errors import PolicyError
from .operations import Operation


@dataclass
class Cell:
    persona: str
    operation: str
    expected: str
    got: str
    status: int | None
    request_id: str
    deny_code: int
    message: str = ""
    seconds: float = 0.0
    cleanup: str = ""

    @property
    def mismatch(self) -> bool:
        return self.got != self.expected

    @property
    def code_finding(self) -> bool:
        """Denied, but not with the code the catalogue says this API denies with."""
        return self.got == DENY and self.status != self.deny_code

    def line(self) -> str:
        status = self.status if self.status is not None else "no answer"
        text = (f"{self.persona} / {self.operation}: expected {self.expected}, got {self.got}"
                f" (HTTP {status}, request id {self.request_id or 'none'})")
        if self.got == ERROR and self.message:
            text += f": {self.message}"
        return text


def run_cell(persona: str, operation: Operation, expected: str,
             perform: Callable[[Operation], Outcome], has_project: bool = True) -> Cell:
    started = time.monotonic()
    try:
        outcome = perform(operation)
    except PolicyError as error:
        outcome = Outcome(None, "", str(error))
    cleanup = getattr(outcome, "cleanup", "")
    return Cell(persona, operation.name, expected, outcome.got, outcome.status,
                outcome.request_id, operation.deny_code(has_project), outcome.message,
                round(time.monotonic() - started, 3), cleanup)


def failure_message(cells: list[Cell], what: str, check_codes: bool = True) -> str:
    """'' when every cell holds; else ONE message listing every mismatch and finding."""
    mismatches = [c for c in cells if c.mismatch]
    findings = [c for c in cells if c.code_finding] if check_codes else []
    if not mismatches and not findings:
        return ""
    parts = []
    if mismatches:
        parts.append(f"{len(mismatches)} of {len(cells)} cell(s) of {what} do not match:\n"
                     + "\n".join(f"- {c.line()}" for c in mismatches))
    if findings:
        parts.append(f"{len(findings)} denial(s) with an unexpected code (the catalogue says "
                     "which code each API denies with):\n"
                     + "\n".join(f"- {c.persona} / {c.operation}: HTTP {c.status}, expected "
                                 f"{c.deny_code} (request id {c.request_id or 'none'})"
                                 for c in findings))
    return "\n".join(parts)


def summary(name: str, cells: list[Cell], seconds: float, overridden: int,
            not_enforced: dict[str, str]) -> dict:
    return {"schema": 1, "record": "matrix", "matrix": name, "cells": len(cells),
            "personas": sorted({c.persona for c in cells}),
            "operations": len({c.operation for c in cells}),
            "mismatches": sum(c.mismatch for c in cells),
            "code_findings": sum(c.code_finding for c in cells),
            "allowed": sum(c.got == ALLOW for c in cells),
            "denied": sum(c.got == DENY for c in cells),
            "errors": sum(c.got == ERROR for c in cells),
            "overridden_by_table": overridden, "notes": not_enforced,
            "seconds": round(seconds, 1)}


def mismatch_record(name: str, cell: Cell) -> dict:
    return {"schema": 1, "record": "mismatch", "matrix": name, **asdict(cell)}


_COLOURS = {ALLOW: "#d4edda", DENY: "#e2e3e5", ERROR: "#fff3cd"}


def html_table(name: str, cells: list[Cell], notes: dict[str, str],
               overridden: list[tuple[str, str]]) -> str:
    """The matrix as log.html shows it: a row per operation, a column per persona; a
    mismatch is red and names both values, a denial code finding is marked '!'."""
    personas = list(dict.fromkeys(c.persona for c in cells))
    operations = list(dict.fromkeys(c.operation for c in cells))
    by_cell = {(c.persona, c.operation): c for c in cells}
    head = "".join(f"<th>{html.escape(p)}</th>" for p in personas)
    rows = []
    for operation in operations:
        tds = []
        for persona in personas:
            cell = by_cell.get((persona, operation))
            if cell is None:
                tds.append("<td></td>")
                continue
            colour = "#f8d7da" if cell.mismatch else _COLOURS[cell.got]
            text = cell.got if not cell.mismatch else f"{cell.got} (expected {cell.expected})"
            mark = "!" if cell.code_finding else ""
            star = "*" if (persona, operation) in overridden else ""
            title = html.escape(f"HTTP {cell.status} request id {cell.request_id}")
            tds.append(f'<td style="background:{colour}" title="{title}">{text} '
                       f"{cell.status or ''}{mark}{star}</td>")
        rows.append(f"<tr><th style='text-align:left'>{html.escape(operation)}</th>"
                    f"{''.join(tds)}</tr>")
    foot = []
    if overridden:
        foot.append("* a cell of the suite's table, which wins over the matrix file")
    if any(c.code_finding for c in cells):
        foot.append("! denied with another code than the catalogue's (403 or 404)")
    foot += [f"{html.escape(k)}: {html.escape(v)}" for k, v in notes.items()]
    return (f"<b>Policy matrix {html.escape(name)}</b> ({len(cells)} cells)"
            f"<table border='1' style='border-collapse:collapse;font-size:90%'>"
            f"<tr><th>operation</th>{head}</tr>{''.join(rows)}</table>"
            + "".join(f"<div>{line}</div>" for line in foot))

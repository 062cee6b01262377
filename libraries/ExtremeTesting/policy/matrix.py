"""The policy matrix: persona x operation -> allow / deny, as the operator wrote it.

The file (YAML) is the operator's document::

    personas: [admin, member, reader, other-member, system-reader]
    notes:                        # shown under the table (why a service is as it is)
      placement: new defaults on, scope enforcement off (Zed's rules are system-only)
    operations:
      identity:list_users: {admin: allow, member: deny, reader: deny}
      network:create_network: [allow, allow, deny, allow, deny]   # in `personas` order

A cell left out is not checked. A Robot template table may add or replace cells for
one suite (`Expect Policy`); where both name a cell, the suite's table wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .calls import ALLOW, DENY
from .errors import MatrixError

FILE, TABLE = "file", "table"


@dataclass
class Matrix:
    name: str
    personas: list[str]
    cells: dict[tuple[str, str], str] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def operations(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, operation in self.cells:
            seen.setdefault(operation, None)
        return list(seen)

    def overridden(self) -> list[tuple[str, str]]:
        return [cell for cell, source in self.sources.items() if source == "table-over-file"]

    def add(self, persona: str, operation: str, expected: str, source: str) -> None:
        expected = parse_expectation(expected, f"{operation} for {persona}")
        cell = (persona, operation)
        if source == TABLE and self.sources.get(cell) == FILE:
            source = "table-over-file"
        self.cells[cell] = expected
        self.sources[cell] = source
        if persona not in self.personas:
            self.personas.append(persona)

    def select(self, expected: str | None = None, personas: list[str] | None = None,
               operations: list[str] | None = None) -> list[tuple[str, str, str]]:
        """(persona, operation, expected) of the chosen cells, operations in file order."""
        chosen = []
        for operation in self.operations:
            if operations and operation not in operations:
                continue
            for persona in self.personas:
                value = self.cells.get((persona, operation))
                if value is None or (expected and value != expected):
                    continue
                if personas and persona not in personas:
                    continue
                chosen.append((persona, operation, value))
        return chosen


def parse_expectation(value: object, where: str) -> str:
    text = str(value).strip().lower() if value is not None else ""
    aliases = {"allow": ALLOW, "allowed": ALLOW, "yes": ALLOW, "true": ALLOW,
               "deny": DENY, "denied": DENY, "no": DENY, "false": DENY}
    if text not in aliases:
        raise MatrixError(f"Policy matrix, {where}: '{value}' is neither allow nor deny; "
                          "write allow or deny.")
    return aliases[text]


def from_data(data: object, name: str, known_operations: set[str] | None = None) -> Matrix:
    if not isinstance(data, dict) or not isinstance(data.get("operations"), dict):
        raise MatrixError(f"Policy matrix {name}: expected a mapping with an 'operations' "
                          "mapping (operation: {persona: allow|deny}).")
    personas = data.get("personas") or []
    if not isinstance(personas, list) or not all(isinstance(p, str) for p in personas):
        raise MatrixError(f"Policy matrix {name}: 'personas' must be a list of names.")
    notes = data.get("notes") or {}
    if not isinstance(notes, dict):
        raise MatrixError(f"Policy matrix {name}: 'notes' must be a mapping (service: text).")
    unknown_keys = sorted(set(data) - {"personas", "notes", "operations", "description"})
    if unknown_keys:
        raise MatrixError(f"Policy matrix {name}: unknown key(s) {', '.join(unknown_keys)}; "
                          "known: personas, notes, operations, description.")
    matrix = Matrix(name, list(personas), notes={str(k): str(v) for k, v in notes.items()})
    for operation, row in data["operations"].items():
        if known_operations is not None and operation not in known_operations:
            raise MatrixError(f"Policy matrix {name}: unknown operation '{operation}'; "
                              "use a catalogue name or register it first "
                              "(`Register Operation`).")
        if isinstance(row, list):
            if len(row) != len(personas):
                raise MatrixError(f"Policy matrix {name}, {operation}: {len(row)} values for "
                                  f"{len(personas)} personas; give one per persona in "
                                  "'personas' order, or a mapping.")
            row = dict(zip(personas, row))
        if not isinstance(row, dict):
            raise MatrixError(f"Policy matrix {name}, {operation}: expected a mapping "
                              "persona: allow|deny or a list in 'personas' order.")
        for persona, expected in row.items():
            if personas and persona not in personas:
                raise MatrixError(f"Policy matrix {name}, {operation}: persona '{persona}' "
                                  f"is not in 'personas' ({', '.join(personas)}).")
            matrix.add(str(persona), operation, expected, FILE)
    return matrix


def load(path: str | Path, known_operations: set[str] | None = None) -> Matrix:
    file = Path(path)
    if not file.is_file():
        raise MatrixError(f"Policy matrix {file} does not exist; give the path of the "
                          "operator's matrix file (YAML), or the target's 'policy_matrix'.")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise MatrixError(f"Policy matrix {file} is not valid YAML{line}; fix its syntax."
                          ) from None
    return from_data(data, str(file), known_operations)

"""Edit one option of an INI file (oslo.config's format) as text, keeping the rest as it is.

Comments, blank lines, the order of sections and options and every other section stay
byte for byte; only the option's own line changes (or is added at the end of its
section, or the section at the end of the file). Python's configparser would drop the
comments and rewrite the whole file, which an operator would not accept in /etc.
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^(?P<name>[^=:#;\s\[][^=:]*?)\s*[=:]")


class IniError(ValueError):
    """A section or option name that cannot be written to an INI file."""


def _check(section: str, option: str) -> None:
    if not section or any(c in section for c in "[]\n"):
        raise IniError(f"Invalid INI section name {section!r}: no brackets or newlines.")
    if not option or any(c in option for c in "=:\n[]#;") or option != option.strip():
        raise IniError(f"Invalid INI option name {option!r}: no '=', ':', brackets, "
                       f"comment signs, newlines or surrounding spaces.")


def _locate(lines: list[str], section: str, option: str) -> tuple[int | None, int | None, int]:
    """(index of the section's header, index of the option's line, index where the
    section ends), in the section's first occurrence; None when absent. Lines before
    any header belong to ``DEFAULT`` (header -1 when it has no header of its own)."""
    current = "DEFAULT"
    header = -1 if section == "DEFAULT" else None
    found = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match:
            name = match["name"].strip()
            if current == section and header is not None and name != section:
                return header, found, index
            current = name
            if current == section and (header is None or header < 0):
                header = index  # its header (a [DEFAULT] header continues the lines before)
            continue
        if current == section and found is None:
            option_match = _OPTION.match(line)
            if option_match and option_match["name"].strip() == option:
                found = index
    return (header if header is not None else None), found, len(lines)


def get_option(text: str, section: str, option: str) -> str | None:
    """The option's value (the first one written), or None when it is not set."""
    _check(section, option)
    lines = text.splitlines()
    _, found, _ = _locate(lines, section, option)
    if found is None:
        return None
    return re.split(r"[=:]", lines[found], maxsplit=1)[1].strip()


def set_option(text: str, section: str, option: str, value: str) -> str:
    """``text`` with ``option = value`` in ``section``: replaces the option's line when it
    is set, else appends it at the end of the section (before trailing blank lines),
    else appends the section at the end of the file."""
    _check(section, option)
    if "\n" in str(value):
        raise IniError(f"The value of {section}/{option} must be one line.")
    lines = text.splitlines(keepends=True)
    plain = [line.rstrip("\r\n") for line in lines]
    header, found, end = _locate(plain, section, option)
    new = f"{option} = {value}\n"
    if found is not None:
        lines[found] = new
    elif header is not None and (header >= 0 or end > 0):
        insert = end
        while insert > header + 1 and not plain[insert - 1].strip():
            insert -= 1
        if insert and not lines[insert - 1].endswith("\n"):
            lines[insert - 1] += "\n"
        lines.insert(insert, new)
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        if lines and plain[-1].strip():
            lines.append("\n")
        lines += [f"[{section}]\n", new]
    return "".join(lines)


def remove_option(text: str, section: str, option: str) -> tuple[str, bool]:
    """``text`` without the option's line(s) in ``section``; and whether it was there."""
    _check(section, option)
    lines = text.splitlines(keepends=True)
    removed = False
    while True:
        plain = [line.rstrip("\r\n") for line in lines]
        _, found, _ = _locate(plain, section, option)
        if found is None:
            return "".join(lines), removed
        del lines[found]
        removed = True

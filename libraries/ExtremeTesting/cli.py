"""The ``extreme`` command: lab, recover, report, history, expectations.

Each area owns its sub-command in its own module (``lab.cli``, ``faults.cli``,
``report.cli``); this file only dispatches, so the areas stay independent.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "lab": ("ExtremeTesting.lab.cli", "Build, inspect and remove the lab cloud."),
    "recover": ("ExtremeTesting.faults.cli", "Undo every fault a run left in the ledger."),
    "report": ("ExtremeTesting.report.cli", "Turn output.xml files into the sign-off report."),
    "history": ("ExtremeTesting.report.history_cli", "One page of every run's figures over time."),
    "expectations": ("ExtremeTesting.report.proposals_cli",
                     "Propose expectations from runs on a known-good cloud."),
}


def usage() -> str:
    lines = ["usage: extreme COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<14}{help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\n'extreme COMMAND --help' tells more.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"extreme: unknown command '{name}'.\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

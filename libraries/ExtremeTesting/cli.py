"""The ``extreme`` command: lab, recover, report, history, expectations.

Each area owns its sub-command in its own module (``lab.cli``, ``faults.cli``,
``report.cli``); this file only dispatches, so the areas stay independent.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


LAB_EXTRA = "pip install 'openstack-extreme-testing[lab]'"


def _lab(args: list[str]) -> int:
    import importlib.util

    if args[:1] == ["up"] and importlib.util.find_spec("sushy_tools") is None:
        print(f"extreme lab up: the lab's BMC emulator (sushy-tools) is not installed: "
              f"install the lab extra, {LAB_EXTRA} (./run does).", file=sys.stderr)
        return 2
    from .lab import cli

    return cli.main(args)


def _recover(args: list[str]) -> int:
    from .faults import cli  # recover registers every library's undo actions first

    return cli.main(args)


def _stop(args: list[str]) -> int:
    from .safeguards import stop

    return stop.main(args)


def _report(args: list[str]) -> int:
    from .report import cli

    return cli.main(args)


def _history(args: list[str]) -> int:
    from .report import history_cli

    return history_cli.main(args)


def _expectations(args: list[str]) -> int:
    from .report import proposals_cli

    return proposals_cli.main(args)


def _target(args: list[str]) -> int:
    if args[:1] != ["discover"]:
        print("usage: extreme target discover [--check TARGET] [OPTIONS]  (write a target "
              "file from a running cloud, or name every difference between one and the "
              "cloud; 'extreme target discover --help' tells more)",
              file=sys.stderr if args[:1] not in (["-h"], ["--help"]) else sys.stdout)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    from .discover import cli

    return cli.main(args[1:])


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "lab": (_lab, "Build, inspect and remove the lab cloud."),
    "recover": (_recover, "Undo every fault a run left in the ledger."),
    "stop": (_stop, "Stop a running run from another terminal, undoing what it broke."),
    "report": (_report, "Turn output.xml files into the sign-off report."),
    "history": (_history, "One page of every run's figures over time."),
    "expectations": (_expectations, "Propose expectations from runs on a known-good cloud."),
    "target": (_target, "Write a target file from a running cloud (discover), or check one."),
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
    return int(COMMANDS[name][0](rest) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""Running the suites in parallel with pabot: value sets, shared setup, and proof that the
destructive lock serialised what it should.

Notes for suite authors
=======================
- The destructive lock is *not* taken here: the Faults library takes the pabot lock
  ``destructive:<target name>`` at the first fault of a test and releases it when that
  test's faults are undone. Run pabot with ``--pabotlib`` so the lock server exists.
- Value sets: ``python -m ExtremeTesting.load.pabot valuesets TARGET > nodes.dat`` writes a
  pabot resource file with one set per node (tags: its roles and services; values: node,
  address, BMC protocol/address/port/username and the *name* of the BMC password's
  environment variable — never the password). Then ``pabot --pabotlib --resourcefile
  nodes.dat`` and, in a suite::

      Library    pabot.PabotLib
      ${set}=    Acquire Value Set    controller
      ${node}=    Get Value From Set    node
      ...
      [Teardown]    Release Value Set

- Shared setup: ``Run Setup Only Once    Prepare Images`` in a suite setup runs the keyword
  in the first process that reaches it; the others wait and skip it (and fail if it
  failed). Pair it with ``Run Teardown Only Once``. Both fall back to running the keyword
  when the suite runs with plain ``robot``.
- Credentials reach pabot's workers through the environment (``%{VAR}`` in suites,
  clouds.yaml via ``OS_CLIENT_CONFIG_FILE``): never ``--variable`` or an argument file,
  which pabot copies into its results folder.
- Stages: an ``--ordering`` file with ``#WAIT`` lines between groups that must not overlap
  (for example all destructive suites after the read-only ones).

The serialisation proof
=======================
``Window`` is a tiny keyword library: a suite records when it began waiting, when its
fault was in effect and when it finished, plus the fault events of its process, into a
JSON lines file shared by every pabot process (``$EXTREME_PABOT_WINDOWS``). :func:`check`
then proves that the suites ran at the same time (pabot started them together) and that
their fault windows did not overlap (the lock serialised them).
"""

from __future__ import annotations

import argparse
import configparser
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExtremeError

ENV_WINDOWS = "EXTREME_PABOT_WINDOWS"


def value_sets(target_data: dict) -> str:
    """A pabot resource file (INI) with one value set per node of the target."""
    parser = configparser.ConfigParser(interpolation=None)
    bmcs = target_data.get("bmcs") or {}
    for name, node in sorted((target_data.get("nodes") or {}).items()):
        node = node or {}
        tags = sorted({*map(str, node.get("roles") or []), *map(str, node.get("services") or [])})
        values = {"tags": ",".join(tags), "node": name,
                  "address": str(node.get("address", ""))}
        bmc = bmcs.get(name) or {}
        if bmc:
            values |= {"bmc_protocol": str(bmc.get("protocol", "")),
                       "bmc_address": str(bmc.get("address", "")),
                       "bmc_port": str(bmc.get("port", "")),
                       "bmc_username": str(bmc.get("username", "")),
                       "bmc_password_env": str(bmc.get("password_env", ""))}
        parser[name] = values
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _windows_file(path: str | None = None) -> Path:
    return Path(path or os.environ.get(ENV_WINDOWS)
                or Path(tempfile.gettempdir()) / "extreme-pabot-windows.jsonl")


def _append(path: Path, record: dict) -> None:
    line = json.dumps(record, default=str) + "\n"
    # one write of a short line with O_APPEND: records of parallel processes do not mix
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class Window:
    """Records a suite's destructive window for the pabot serialisation check.

    | Library    ExtremeTesting.load.pabot.Window
    | Record Window Mark    waiting      # before the first fault keyword (may wait for the lock)
    | Freeze Service    keystone    on=ctl1    duration=3 s
    | Record Window Mark    in effect    # the lock is held from here
    | Record Window Mark    done
    | [Teardown]    Record Fault Events  # in the suite teardown: the undo events too
    """

    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self, path: str | None = None):
        self.path = _windows_file(path)
        self.started = time.monotonic()

    @staticmethod
    def _suite() -> str:
        from robot.libraries.BuiltIn import BuiltIn

        return str(BuiltIn().get_variable_value("${SUITE NAME}"))

    def record_window_mark(self, mark: str) -> None:
        """Append ``mark`` with this suite's name and the wall-clock time."""
        _append(self.path, {"suite": self._suite(), "mark": mark, "wall": time.time(),
                            "pid": os.getpid()})

    def record_fault_events(self) -> int:
        """Append the fault events this process saw since the library was imported."""
        from .. import events

        found = events.between(self.started)
        for event in found:
            _append(self.path, {"suite": self._suite(), "mark": f"event {event.phase}",
                                "wall": event.wall, "pid": os.getpid(),
                                "event": event.as_dict()})
        return len(found)


class NotSerialised(ExtremeError):
    """The destructive windows of two suites overlapped, or the run proves nothing."""


@dataclass
class SuiteWindow:
    suite: str
    waiting: float  # wall time it asked for the lock
    begin: float  # first fault requested/in effect
    end: float  # last fault undone (or the suite's own 'done' mark)


def _windows(records: Iterable[dict]) -> list[SuiteWindow]:
    by_suite: dict[str, list[dict]] = {}
    for record in records:
        by_suite.setdefault(record["suite"], []).append(record)
    found = []
    for suite, marks in sorted(by_suite.items()):
        def times(*names: str, marks=marks) -> list[float]:
            return [float(m["wall"]) for m in marks if m["mark"] in names]

        waiting = times("waiting")
        begin = times("event requested", "event in effect") or times("in effect")
        end = times("event undone") or times("done")
        if not (waiting and begin and end):
            raise NotSerialised(f"Suite '{suite}' recorded {sorted({m['mark'] for m in marks})};"
                                " expected 'waiting', a fault (events or 'in effect') and its "
                                "end ('event undone' or 'done'). Did it run to the end?")
        found.append(SuiteWindow(suite, min(waiting), min(begin), max(end)))
    return found


def check(path: str | Path, expected_suites: int = 2) -> list[SuiteWindow]:
    """Prove from the recorded windows that the suites were started together and that their
    fault windows did not overlap; raise :class:`NotSerialised` saying what was seen."""
    lines = Path(path).read_text(encoding="utf-8").splitlines() if Path(path).is_file() else []
    windows = sorted(_windows(json.loads(line) for line in lines if line.strip()),
                     key=lambda w: w.begin)
    if len(windows) < expected_suites:
        raise NotSerialised(f"{path}: windows of {len(windows)} suite(s), expected "
                            f"{expected_suites}. Run the destructive suites together with "
                            f"pabot --pabotlib and ${ENV_WINDOWS} set for every process.")
    for first, second in zip(windows, windows[1:], strict=False):
        if second.waiting >= first.end:
            raise NotSerialised(
                f"'{second.suite}' only asked for the lock {second.waiting - first.end:.2f} s "
                f"after '{first.suite}' had finished: they did not run at the same time, so "
                "this run proves nothing about the lock. Run them with pabot --processes 2.")
        if second.begin < first.end:
            raise NotSerialised(
                f"Destructive windows overlap by {first.end - second.begin:.2f} s: "
                f"'{first.suite}' held its fault until {first.end:.3f} but '{second.suite}' "
                f"injected at {second.begin:.3f}. Expected the pabot lock to serialise them "
                "(is pabot run with --pabotlib, and do both use the same target name?).")
    return windows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ExtremeTesting.load.pabot")
    sub = parser.add_subparsers(dest="command", required=True)
    values = sub.add_parser("valuesets", help="pabot --resourcefile with one set per node")
    values.add_argument("target", nargs="?", help="target file (default: $EXTREME_TARGET)")
    checker = sub.add_parser("check", help="prove the destructive suites were serialised")
    checker.add_argument("windows", nargs="?", default=str(_windows_file()))
    checker.add_argument("--suites", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "valuesets":
        from ..errors import ExtremeError
        from ..target import load

        try:
            sys.stdout.write(value_sets(load(args.target).data))
        except ExtremeError as error:
            print(f"valuesets: {error}", file=sys.stderr)
            return 2
        return 0
    try:
        windows = check(args.windows, args.suites)
    except NotSerialised as error:
        print(f"NOT SERIALISED: {error}", file=sys.stderr)
        return 1
    for w in windows:
        print(f"{w.suite}: asked {w.waiting:.3f}, fault {w.begin:.3f} .. {w.end:.3f} "
              f"(waited {w.begin - w.waiting:.2f} s)")
    print("serialised: the fault windows did not overlap, and the suites ran together")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the run is: the test and suite a change belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError


def full_name(item: Any) -> str:
    """A Robot test's or suite's full name (``Top.Child.Test``)."""
    return str(getattr(item, "full_name", None) or getattr(item, "longname", "") or item.name)


def robot_scope() -> tuple[str, str]:
    """The running test's and suite's full names ("" for the test outside one; both ""
    outside Robot)."""
    try:
        variables = BuiltIn()
        test = variables.get_variable_value("${TEST NAME}", "") or ""
        suite = variables.get_variable_value("${SUITE NAME}", "") or ""
    except RobotNotRunningError:
        return "", ""
    return (f"{suite}.{test}" if test and suite else test), suite


@dataclass
class Scope:
    """The test and suites running now, kept current by the :class:`ScopeListener`."""

    test: str = ""
    suites: list[str] = field(default_factory=list)

    @property
    def suite(self) -> str:
        return self.suites[-1] if self.suites else ""

    def current(self) -> tuple[str, str]:
        """(test, suite) as the listener saw them; Robot's variables when no listener ran."""
        if self.suites:
            return self.test, self.suite
        return robot_scope()

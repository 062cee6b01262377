"""The error types every ExtremeTesting library raises.

Robot shows ``ROBOT_SUPPRESS_NAME`` errors by their message alone, so each message must
say what was expected, what was seen and what to do.
"""


class ExtremeError(Exception):
    """Base class of the project's own errors."""

    ROBOT_SUPPRESS_NAME = True


class TargetError(ExtremeError):
    """The target file is missing, malformed or lacks what a keyword needs."""


class SafetyError(ExtremeError):
    """A destructive action was refused by the safety interlock."""

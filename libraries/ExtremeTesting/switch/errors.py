"""Errors of the Switch library."""

from ..errors import ExtremeError


class SwitchError(ExtremeError):
    """A switch refused a command or did not answer."""


class SwitchUnreachableError(SwitchError):
    """The switch's management address did not answer (SSH)."""


class SwitchAuthenticationError(SwitchError):
    """The switch rejected the credentials."""

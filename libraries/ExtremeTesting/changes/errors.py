"""Errors of the Changes library: one clear line each, naming the problem and the fix."""

from ..errors import ExtremeError


class ChangeError(ExtremeError):
    """A change could not be made, checked or undone."""

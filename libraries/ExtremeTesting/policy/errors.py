"""The Policy library's errors: one line naming the problem and the fix."""

from ..errors import ExtremeError


class PolicyError(ExtremeError):
    """A persona, an operation or a matrix is wrong, or a verdict did not hold."""


class MatrixError(PolicyError):
    """The matrix file or table is malformed."""

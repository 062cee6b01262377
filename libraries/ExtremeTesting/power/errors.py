"""Errors of the Power library: each names the BMC and says what to do."""

from ..errors import ExtremeError


class PowerError(ExtremeError):
    """A BMC refused or failed a request."""


class BmcAuthenticationError(PowerError):
    """The BMC rejected the credentials; nothing was changed."""


class BmcUnreachableError(PowerError):
    """The BMC did not answer in time."""


class PowerStateTimeout(PowerError):
    """The node did not reach the expected power state in time."""


class PowerDriverConfigError(PowerError):
    """The target's ``bmcs`` cannot be turned into os-faults power drivers."""

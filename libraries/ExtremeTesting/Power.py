"""`Library  ExtremeTesting.Power`: see ExtremeTesting.power."""

from .power import Power

__all__ = ["Power"]

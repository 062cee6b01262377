"""`Library  ExtremeTesting.Faults`: see ExtremeTesting.faults."""

from .faults import Faults

__all__ = ["Faults"]

"""`Library  ExtremeTesting.Load`: see ExtremeTesting.load."""

from .load import Load

__all__ = ["Load"]

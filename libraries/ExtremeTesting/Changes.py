"""`Library  ExtremeTesting.Changes`: see ExtremeTesting.changes."""

from .changes import Changes

__all__ = ["Changes"]

"""`Library  ExtremeTesting.Evidence`: see ExtremeTesting.evidence.library."""

from .evidence.library import Evidence

__all__ = ["Evidence"]

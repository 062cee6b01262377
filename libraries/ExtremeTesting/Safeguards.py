"""`Library  ExtremeTesting.Safeguards`: see ExtremeTesting.safeguards."""

from .safeguards.library import Safeguards

__all__ = ["Safeguards"]

"""`Library  ExtremeTesting.Policy`: see ExtremeTesting.policy."""

from .policy import Policy

__all__ = ["Policy"]

"""`Library  ExtremeTesting.Monitor`: see ExtremeTesting.monitor."""

from .monitor import Monitor

__all__ = ["Monitor"]

"""`Library  ExtremeTesting.Cloud`: see ExtremeTesting.cloud."""

from .cloud import Cloud

__all__ = ["Cloud"]

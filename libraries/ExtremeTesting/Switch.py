"""`Library  ExtremeTesting.Switch`: see ExtremeTesting.switch."""

from .switch import Switch

__all__ = ["Switch"]

"""ExtremeTesting.switch: restart switches and take ports down and up over SSH (netmiko).

:class:`Switch` is the Robot library; :mod:`.session` does the work; :mod:`.commands`
holds what to type per netmiko device type.
"""

from .library import Switch

__all__ = ["Switch"]

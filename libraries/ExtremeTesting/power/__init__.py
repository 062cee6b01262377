"""ExtremeTesting.power: BMC power control over IPMI (pyghmi) and Redfish (sushy).

:class:`Power` is the Robot library; :mod:`.clients` does the work; :mod:`.osf_drivers`
plugs the same clients into os-faults as power-management drivers.
"""

from .clients import BootDevice, PowerState
from .config import BmcProtocol
from .library import Power

__all__ = ["BmcProtocol", "BootDevice", "Power", "PowerState"]

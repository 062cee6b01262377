"""OpenStack Extreme Testing: Robot Framework keywords that prove a cloud survives
destruction and concurrency.

Libraries (import them in Robot as ``ExtremeTesting.<Name>``):
Faults, Power, Switch, Cloud, Monitor, Load. ``extreme`` is the command line.
"""

from importlib import metadata

# The version of a checkout that is not installed (keep it equal to setup.py's).
FALLBACK_VERSION = "0.1.0"

try:
    __version__ = metadata.version("openstack-extreme-testing")
except metadata.PackageNotFoundError:
    __version__ = FALLBACK_VERSION

"""OpenStack Extreme Testing: Robot Framework keywords that prove a cloud survives
destruction and concurrency.

Libraries (import them in Robot as ``ExtremeTesting.<Name>``):
Faults, Power, Switch, Cloud, Monitor, Load. ``extreme`` is the command line.
"""

__version__ = "0.1.0"

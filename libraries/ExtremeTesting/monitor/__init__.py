"""ExtremeTesting.monitor: background probes, the sample timeline, outage analysis,
request-loss reconciliation, SLA assertions and timeline plots.

Import in Robot as ``ExtremeTesting.Monitor`` (the shim ``ExtremeTesting/Monitor.py``
re-exports :class:`Monitor`).
"""

from .library import AvailabilityError, Monitor, MonitorError

__all__ = ["AvailabilityError", "Monitor", "MonitorError"]

"""ExtremeTesting.faults: os-faults keywords that always undo what they did.

The Robot library is :class:`Faults`; the work lives in small modules usable without Robot:
``ledger`` (the crash-safe fault ledger), ``engine`` (interlock, ledger, events, undo),
``osf`` (os-faults configuration and calls), ``runner`` (the bounded Ansible runner),
``power_drivers`` (the seam for BMC drivers), ``topology`` (node selection), ``cli``
(``extreme recover``).
"""

from .library import AutoUndo, Faults, StressTarget

__all__ = ["AutoUndo", "Faults", "StressTarget"]

"""ExtremeTesting.faults: os-faults keywords that always undo what they did.

The Robot library is :class:`Faults`; the work lives in small modules usable without Robot:
``engine`` (interlock, ledger, events, undo), ``osf`` (os-faults configuration and calls),
``runner`` (the bounded Ansible runner), ``topology`` (node selection), ``clusters``
(cluster faults over SSH and their undo; keywords in ``cluster_keywords``), ``cli``
(``extreme recover``). The ledger, the pabot lock and the scope listener are
``ExtremeTesting.lifecycle``'s; BMC drivers are ``ExtremeTesting.power.osf_drivers``.
"""

from .cluster_keywords import StopHow
from .library import AutoUndo, Faults, StressTarget

__all__ = ["AutoUndo", "Faults", "StopHow", "StressTarget"]

"""ExtremeTesting.faults: os-faults keywords that always undo what they did.

The Robot library is :class:`Faults`; the work lives in small modules usable without Robot:
``engine`` (os-faults actions on the lifecycle layer: its interlock, ledger, lock;
events, undo), ``undo`` (the os-faults undo actions in the lifecycle's registry),
``osf`` (os-faults configuration and calls),
``runner`` (the bounded Ansible runner), ``topology`` (node selection), ``clusters``
(cluster faults over SSH and their undo; keywords in ``cluster_keywords``), ``cli``
(``extreme recover``). The ledger, the pabot lock and the scope listener are
``ExtremeTesting.lifecycle``'s; BMC drivers are ``ExtremeTesting.power.osf_drivers``.
"""

from . import undo  # noqa: F401 - registers the os-faults undo actions
from .cluster_keywords import StopHow
from .library import AutoUndo, Faults, StressTarget

__all__ = ["AutoUndo", "Faults", "StopHow", "StressTarget"]

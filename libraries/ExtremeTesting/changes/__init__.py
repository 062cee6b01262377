"""ExtremeTesting.changes: rolling changes (drain, configuration, packages, Fernet keys,
the roll-out) that always undo what they did.

The Robot library is :class:`Changes`, composed of one component per domain
(``keywords``: load balancer, config, packages, Fernet, roll-out) over a shared
``context``; the work lives in small modules usable without Robot: ``ini`` (INI editing
that keeps comments), ``haproxy`` (drain, ready, maint and the waits, on
ExtremeTesting.loadbalancer's reader), ``packages`` (apt/dnf/dpkg commands), ``fernet``
(key rotation across nodes), ``rollout`` (the roll-out's order of steps), ``kinds`` (what a
roll-out applies), ``remote`` (SSH), ``undo`` (the undo actions, registered in one place).
Survivors are the Cloud library's (``cloud.survivors``), the zero-impact verdict the
Monitor's (``monitor.zero_impact``).
"""

from .library import Changes

__all__ = ["Changes"]

"""ExtremeTesting.changes: rolling changes (drain, configuration, packages, Fernet keys)
that always undo what they did.

The Robot library is :class:`Changes`; the work lives in small modules usable without
Robot: ``ini`` (INI editing that keeps comments), ``haproxy`` (drain, ready, maint and the
waits, on ExtremeTesting.loadbalancer's reader), ``packages`` (apt/dnf/dpkg commands),
``fernet`` (key rotation across nodes), ``remote`` (SSH), ``undo`` (the undo actions,
registered in one place), ``verdict`` (the zero-impact verdict).
"""

from .library import Changes

__all__ = ["Changes"]

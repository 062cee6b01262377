"""The safety interlock: nothing destructive against a cloud not marked ``destructive: true``."""

from __future__ import annotations

from ..target import Target


def require_destructive(target: Target, action: str) -> None:
    """Refuse ``action``, before touching anything, when ``target`` is not destructive."""
    target.require_destructive(action)

from __future__ import annotations

from ..context import ChangeContext


class Component:
    """One domain of the Changes library over the shared :class:`ChangeContext`."""

    def __init__(self, ctx: ChangeContext):
        self.ctx = ctx

    @property
    def target(self):
        return self.ctx.target

    @property
    def nodes(self):
        return self.ctx.nodes

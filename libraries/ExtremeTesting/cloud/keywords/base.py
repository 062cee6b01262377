from __future__ import annotations

from ..context import CloudContext


class Component:
    def __init__(self, ctx: CloudContext):
        self.ctx = ctx

    @property
    def conn(self):
        return self.ctx.conn

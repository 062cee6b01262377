"""Keystone's Fernet keys, rotated the operators' way (a forward change: not undone)."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from ... import events
from ...errors import TargetError
from ...lifecycle import Step
from .. import fernet
from ..context import SOURCE
from .base import Component


class FernetKeywords(Component):
    @keyword
    def rotate_fernet_keys(self, *nodes: str) -> str:
        """Rotates Keystone's Fernet keys on ``nodes`` the operators' way.

        ``nodes`` default to every node of the ``keystone`` service. First every node gets
        the same key repository (so the staged key is everywhere), then the first node
        rotates (its staged key becomes primary) and the repository goes to the others. A
        token in use stays valid: its key is kept as a secondary key. Returns the new
        primary key's number. Not undone (a forward change); written to the ledger.

        Fails, before touching anything, on a target not marked ``destructive: true`` or
        an unknown node; fails when a rotation would drop the key of tokens in use, or the
        nodes' keys differ after distribution.

        | ${primary} =    `Rotate Fernet Keys`
        | `Rotate Fernet Keys`    ctl1    ctl2
        """
        chosen = list(nodes) or list((self.target.section("services").get("keystone") or {})
                                     .get("nodes") or [])
        if not chosen:
            raise TargetError(f"Target file {self.target.path}: no node runs keystone.")
        for node in chosen:
            self.target.node(node)
        self.ctx.require_destructive("rotate the Fernet keys")
        rotation = fernet.Rotation(self.target, self.nodes, chosen)
        found: list[str] = []

        def rotate() -> None:
            events.publish(SOURCE, "mark", "fernet stage", ", ".join(chosen))
            rotation.stage()
            events.publish(SOURCE, "mark", "fernet rotate", chosen[0])
            found.append(rotation.rotate())
            events.publish(SOURCE, "mark", "fernet distributed", ", ".join(chosen))

        self.ctx.transient(Step("rotate fernet keys", "keystone", chosen), rotate)
        logger.info(f"Fernet keys rotated on {chosen[0]} and distributed to "
                    f"{', '.join(chosen[1:]) or 'no other node'}; primary key {found[0]}.")
        return found[0]

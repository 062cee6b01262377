"""Survivors: resources that must outlive a change (an upgrade, a roll-out), made with the
Cloud library's own resource keywords and checked afterwards."""

from __future__ import annotations

from typing import Any

from robot.api import logger
from robot.api.deco import keyword

from .. import survivors
from ..apierrors import CloudError
from .base import Component


class SurvivorKeywords(Component):
    def __init__(self, ctx, library: Any):
        super().__init__(ctx)
        self.library = library  # the Cloud library: its resource keywords make them
        self.made: survivors.Survivors | None = None

    @keyword
    def create_survivors(self, prefix: str = "survivor") -> dict:
        """Creates resources that must outlive a change, named after ``prefix``.

        A server, a network with a subnet and a port, an image (its checksum recorded), a
        key pair, a project and a user with a password kept in memory only, made with this
        library's resource keywords (so they are tracked and cleaned up as every resource
        of the run); with a ``data_plane`` in the target, the data plane's guests
        (`Boot Data Plane Guests`: the run's, or the suite's, booted once) and their
        paths. Returns what `Survivors Should Be Intact` checks. Fails when a resource
        cannot be created.

        | `Create Survivors`
        """
        self.made = survivors.create(self.library, prefix)
        logger.info(f"Survivors: {self.made.as_dict()}")
        return self.made.as_dict()

    @keyword
    def survivors_should_be_intact(self) -> None:
        """Checks that each survivor of `Create Survivors` is there, unchanged and usable.

        The server ACTIVE, the port on its network with its MAC, the image downloading
        with the same checksum, the key pair's fingerprint, the user getting a token, and
        each data-plane path answering again within 30 s (ICMP and TCP echo).
        Fails naming every damaged survivor, or when `Create Survivors` was not called.

        | `Survivors Should Be Intact`
        """
        if self.made is None:
            raise CloudError("No survivors: call `Create Survivors` before the change.")
        wrong = survivors.problems(self.library, self.made)
        if wrong:
            raise CloudError("Survivors damaged by the change: " + "; ".join(wrong) + ".")
        logger.info("Every survivor is intact.")

"""Packages of a node: read, upgrade, downgrade (the versions before are the undo)."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from ... import events
from ...errors import TargetError
from ...lifecycle import Step
from .. import packages, undo
from ..context import SOURCE
from ..errors import ChangeError
from .base import Component


class PackageKeywords(Component):
    @keyword
    def get_package_version(self, node: str, name: str) -> str:
        """Returns the installed version of package ``name`` on ``node``.

        Asks the node's package database (``dpkg-query`` or ``rpm``); changes nothing.
        Fails when the package is not installed or the node cannot be reached.

        | ${version} =    `Get Package Version`    ctl1    keystone
        """
        found = self.nodes.run(node, packages.version_command(self.target, name), check=False)
        if found.rc != 0 or not found.out.strip():
            raise ChangeError(f"Package {name} is not installed on {node}.")
        return found.out.strip()

    def _change_packages(self, node: str, pairs, downgrade: bool) -> None:
        wanted = packages.parse_pairs(pairs)
        self.target.node(node)
        verb = "downgrade" if downgrade else "upgrade"
        self.ctx.require_destructive(f"{verb} packages on {node}")
        before = {name: self.get_package_version(node, name) for name in wanted}
        todo = {n: v for n, v in wanted.items() if before[n] != v}
        if not todo:
            logger.info(f"{node} already has {', '.join(f'{n}={v}' for n, v in wanted.items())}.")
            return
        services = packages.services_using(self.target, node, list(todo))
        text = ", ".join(f"{n} {before[n]} -> {v}" for n, v in todo.items())
        # A rollback: exactly what an open package change of this node recorded as before.
        reverted = next(reversed(self.ctx.pending(undo.INSTALL_PACKAGES, node, packages=todo)),
                        None)
        entry = reverted or self.ctx.changes.record(
            Step(verb, None, [node], {"packages": todo}),
            Step(undo.INSTALL_PACKAGES, None, [node],
                 {"packages": {n: before[n] for n in todo}, "services": services,
                  "downgrade": not downgrade}))
        events.publish(SOURCE, "in effect", verb, node, entry.id, text)
        self.nodes.run(node, packages.install_command(self.target, todo, downgrade), timeout=900)
        undo.restart(self.target, self.nodes, node, services)
        self.ctx.mark_restarted(node, services)
        if reverted:
            # A rollback: the earlier change is undone, nothing is left to undo at scope end.
            self.ctx.changes.close(reverted, "undone", f"rolled back: {text}")
        logger.info(f"{node}: {text}; restarted {', '.join(services) or 'no service'}.")

    @keyword
    def upgrade_package(self, node: str, *pairs: str) -> None:
        """Installs the ``name=version`` ``pairs`` on ``node`` and restarts their users.

        Every service of the node that uses a changed package restarts (as on a real
        node: python3-nova serves nova-api, conductor and scheduler). The versions before
        are recorded and installed again when the test or suite ends.

        Fails, before touching anything, on a target not marked ``destructive: true``, an
        unknown node, a pair that is not ``name=version`` or a package not installed;
        fails with the package manager's error when the install fails.

        | `Upgrade Package`    ctl1    keystone=2:22.0.2-0+deb12u6
        | ...    python3-keystone=2:22.0.2-0+deb12u6
        """
        self._change_packages(node, pairs, downgrade=False)

    @keyword
    def downgrade_package(self, node: str, *pairs: str) -> None:
        """Installs older ``name=version`` ``pairs`` on ``node``, as `Upgrade Package`.

        The versions before are installed again when the test or suite ends. Fails as
        `Upgrade Package` does.

        | `Downgrade Package`    ctl1    keystone=2:22.0.2-0+deb12u3
        """
        self._change_packages(node, pairs, downgrade=True)

    @keyword
    def get_upgrade_of(self, service: str) -> tuple[list[str], list[str]]:
        """Returns the upgrade the target declares for ``service``: two lists of
        ``name=version``, the packages before (``from``) and after (``to``).

        Read from the target's ``changes.upgrades.<service>: {from: {package: version},
        to: {package: version}}`` (the lab writes both Debian revisions of Keystone and of
        Nova's API). Fails, naming the section, when the target declares none.

        | ${from}    ${to} =    `Get Upgrade Of`    keystone
        | `Roll Out Change`    keystone    `Upgrade Package`    @{to}
        """
        upgrades = self.target.section("changes").get("upgrades") or {}
        spec = upgrades.get(service)
        sides = [(spec or {}).get(side) for side in ("from", "to")]
        if not all(isinstance(side, dict) and side for side in sides):
            raise TargetError(
                f"Target file {self.target.path} declares no upgrade of '{service}': add "
                f"changes.upgrades.{service}: {{from: {{package: version}}, to: {{package: "
                f"version}}}} (declared: {', '.join(sorted(upgrades)) or 'none'}).")
        return tuple([f"{name}={version}" for name, version in side.items()] for side in sides)

    @keyword
    def packages_should_be_installed(self, node: str, *pairs: str) -> None:
        """Fails unless ``node`` has each ``name=version`` of ``pairs`` installed, naming
        every package that differs and the version found.

        | `Packages Should Be Installed`    ctl1    keystone=2:22.0.2-0+deb12u3
        """
        wanted = packages.parse_pairs(pairs)
        found = {name: self.get_package_version(node, name) for name in wanted}
        wrong = [f"{n} {found[n]} (expected {v})" for n, v in wanted.items() if found[n] != v]
        if wrong:
            raise ChangeError(f"{node} runs {', '.join(wrong)}.")
        logger.info(f"{node} runs {', '.join(pairs)}.")

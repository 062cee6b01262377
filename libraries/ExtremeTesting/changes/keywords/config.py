"""INI configuration of a node: set or remove an option, the original kept for the undo."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword

from ... import events
from ...lifecycle import Step
from .. import ini, undo
from ..context import SOURCE
from .base import Component


class ConfigKeywords(Component):
    def _keep_original(self, node: str, path: str, original: bytes) -> str:
        handle = self.ctx.backup_dir() / f"{uuid.uuid4().hex[:12]}-{node}-{Path(path).name}"
        fd = os.open(handle, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(original)
            out.flush()
            os.fsync(out.fileno())
        return str(handle)

    def _change_file(self, node: str, path: str, edit, what: str, services) -> None:
        self.target.node(node)
        self.ctx.require_destructive(f"change {path} on {node}")
        original = self.nodes.read_file(node, path)
        text = "" if original is None else original.decode()
        changed = edit(text)
        if changed == text:
            logger.info(f"{path} on {node} already {what}; nothing to change.")
            return
        backup = "" if original is None else self._keep_original(node, path, original)
        if isinstance(services, str):
            services = [s.strip() for s in services.split(",") if s.strip()]
        args = {"file": path, "backup": backup, "services": list(services or [])}
        try:
            entry = self.ctx.changes.record(Step("config", None, [node],
                                             {"file": path, "change": what}),
                                        Step(undo.RESTORE_FILE, None, [node], args))
        except Exception:
            if backup:  # nothing was changed: the copy has nothing to restore
                os.unlink(backup)
            raise
        events.publish(SOURCE, "in effect", "config", f"{path} on {node}", entry.id, what)
        self.nodes.write_file(node, path, changed.encode())
        logger.info(f"{path} on {node}: {what}.")

    @keyword
    def set_config_option(self, node: str, path: str, section: str, option: str, value: str,
                          services: list[str] | str | None = None) -> None:
        """Sets ``option`` to ``value`` in ``section`` of the INI file ``path`` on ``node``.

        Every comment and other line is kept. The original is kept (see `Kept files`) and
        put back when the test or suite ends; then ``services`` (those that read the file,
        a list or comma-separated) restart on that node. The change takes effect when the
        service restarts.

        Fails, before touching anything, on a target not marked ``destructive: true``, an
        unknown node, or a section or option name that is not valid INI; fails when the
        node cannot be reached or the file cannot be written.

        | `Set Config Option`    ctl1    /etc/keystone/keystone.conf    token    expiration
        | ...    7200    services=keystone
        """
        ini.set_option("", section, option, value)  # bad names fail before anything
        self._change_file(node, path, lambda t: ini.set_option(t, section, option, value),
                          f"[{section}] {option} = {value}", services)

    @keyword
    def remove_config_option(self, node: str, path: str, section: str, option: str,
                             services: list[str] | str | None = None) -> None:
        """Removes ``option`` from ``section`` of the INI file ``path`` on ``node``.

        As `Set Config Option`: the original is kept and put back when the test or suite
        ends, then ``services`` restart on that node. Fails as `Set Config Option` does.

        | `Remove Config Option`    ctl1    /etc/nova/nova.conf    api    max_limit
        """
        ini.remove_option("", section, option)
        self._change_file(node, path, lambda t: ini.remove_option(t, section, option)[0],
                          f"[{section}] {option} removed", services)

    @keyword
    def get_config_option(self, node: str, path: str, section: str, option: str) -> str | None:
        """Returns the value of ``option`` in ``section`` of ``path`` on ``node``.

        None when the option (or the file) is not there; changes nothing. Fails when the
        node cannot be reached.

        | ${value} =    `Get Config Option`    ctl1    /etc/keystone/keystone.conf    token
        | ...    expiration
        """
        found = self.nodes.read_file(node, path)
        return None if found is None else ini.get_option(found.decode(), section, option)

"""The Changes library's undo actions: the ONE place where they are registered.

Each is a plain function ``handler(step, target)`` (the step is the ledger entry's undo
step), registered at import with the lifecycle's :func:`register_undo`: the Changes
library calls it at scope end (with the SSH connections it already holds) and
``extreme recover``, which imports this package, after a crash. They are idempotent: a
server already ready, a file already restored, a package already at its old version are
fine. Each raises when it could not undo.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..lifecycle import Step, register_undo
from ..target import Target
from . import haproxy, packages
from .errors import ChangeError
from .remote import Nodes

LB_READY = "changes lb ready"
RESTORE_FILE = "changes restore file"
INSTALL_PACKAGES = "changes install packages"


def connect(target: Target, timeout: float = 60.0) -> Nodes:
    """SSH to the target's nodes (tests replace this with a fake)."""
    return Nodes(target, timeout)


def restart_command(target: Target, service: str) -> str:
    """``changes.restart`` of the target, else the os-faults configuration's
    ``restart_cmd`` of the service, else ``systemctl restart <service>``."""
    template = target.section("changes").get("restart")
    if template:
        return str(template).format(service=shlex.quote(service))
    if target.data.get("os_faults"):
        import yaml

        try:
            config = yaml.safe_load(target.resolve(target.data["os_faults"]).read_text())
            found = (((config.get("services") or {}).get(service) or {}).get("args")
                     or {}).get("restart_cmd")
        except (OSError, yaml.YAMLError, AttributeError):
            found = None
        if found:
            return str(found)
    return f"systemctl restart {shlex.quote(service)}"


def restart(target: Target, nodes: Nodes, node: str, services: list[str]) -> None:
    for service in services:
        nodes.run(node, restart_command(target, service), timeout=300)


def lb_ready(step: Step, target: Target, nodes: Nodes | None = None) -> None:
    """Return a drained server to its backend."""
    args = step.args or {}
    haproxy.of(target, nodes or connect(target)).set_state(args["backend"], args["server"],
                                                           "ready")


def restore_file(step: Step, target: Target, nodes: Nodes | None = None) -> None:
    """Put the kept original back (or remove a file that did not exist), restart the
    services that read it, then delete the kept copy (it may hold secrets)."""
    args = step.args or {}
    nodes = nodes or connect(target)
    node = step.nodes[0]
    backup = args.get("backup") or ""
    if backup:
        path = Path(backup)
        if path.exists():
            nodes.write_file(node, args["file"], path.read_bytes())
        elif nodes.read_file(node, args["file"]) is None:
            raise ChangeError(f"The kept copy {backup} of {args['file']} on {node} is gone "
                              f"and the file is absent: restore it by hand.")
    else:
        nodes.run(node, f"rm -f {shlex.quote(args['file'])}")
    restart(target, nodes, node, list(args.get("services") or []))
    if backup and os.path.exists(backup):
        os.unlink(backup)


def install_packages(step: Step, target: Target, nodes: Nodes | None = None) -> None:
    """Install the recorded versions again and restart the services that use them."""
    args = step.args or {}
    nodes = nodes or connect(target)
    node = step.nodes[0]
    wanted: dict[str, str] = dict(args["packages"])
    have = {name: nodes.run(node, packages.version_command(target, name), check=False).out.strip()
            for name in wanted}
    todo = {name: version for name, version in wanted.items() if have[name] != version}
    if todo:
        nodes.run(node, packages.install_command(target, todo, bool(args.get("downgrade"))),
                  timeout=900)
        restart(target, nodes, node, list(args.get("services") or []))


HANDLERS = {LB_READY: lb_ready, RESTORE_FILE: restore_file, INSTALL_PACKAGES: install_packages}

for _action, _handler in HANDLERS.items():
    register_undo(_action, _handler)

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
ADD_NODE = "changes add node"  # the undo of a removal
REMOVE_NODE = "changes remove node"  # the undo of an addition
ENABLE_COMPUTE = "changes enable compute service"  # the undo of a removal's first step


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


def open_cloud(target: Target):
    """The scale checks' cloud: openstacksdk through the one connection module (tests
    replace this with a fake)."""
    from ..cloud import connection
    from .scale import SdkCloud

    settings = connection.settings_for(target)
    conn = connection.connect(settings)
    connection.authenticate(conn, settings.cloud)
    return SdkCloud(conn)


def _scale(target: Target, nodes: Nodes, cloud=None):
    from ..cloud.tracking import new_run_id
    from . import scale

    return scale.Scale(scale.settings(target), cloud or open_cloud(target), nodes,
                       run_id=os.environ.get("EXTREME_RUN_ID") or new_run_id())


def _fresh(target: Target) -> Target:
    """The target file read again: the deploy tool (or the lab) may have changed its nodes."""
    from .. import target as target_module

    return target_module.load(target.path)


def add_node(step: Step, target: Target, nodes: Nodes | None = None, cloud=None) -> None:
    """Add the node again (the undo of a removal): the add command, then for a compute its
    service up and its host mapped, for a controller its servers in rotation once it
    serves. Raises naming what is not so."""
    from . import gate, scale

    nodes = nodes or connect(target)
    node, role = step.nodes[0], (step.args or {}).get("role", "compute")
    procedures = _scale(target, nodes, cloud)
    procedures.deploy("add", node, role)
    target = _fresh(target)
    if role == "compute":
        host = scale.hostname(target, node)
        checks = [procedures.service_up(UNDO_KEYWORD, host)]
        if checks[0].passed:
            checks.append(procedures.mapped(UNDO_KEYWORD, host))
    else:
        lb = haproxy.of(target, nodes)
        services = _api_services(target, node)
        joined = scale.join_controller(
            lb, node, services, lambda s: lb.set_state(lb.spec.backend(s), node, "drain"),
            lambda s: lb.set_state(lb.spec.backend(s), node, "ready"),
            lambda s: gate.prepare(target, node, s) if target.data.get("cloud") else None)
        checks = scale.joined_checks(UNDO_KEYWORD, node, joined)[1:]
    problems = [c.problem for c in checks if not c.passed]
    if problems:
        raise ChangeError(f"{node} was added again, but: {'; '.join(problems)}.")


def remove_node(step: Step, target: Target, nodes: Nodes | None = None, cloud=None) -> None:
    """Remove the node again (the undo of an addition): a compute disabled, its servers
    moved away, the remove command, its services and agents deleted; a controller drained
    first. Raises naming what is left."""
    from . import scale

    nodes = nodes or connect(target)
    node, role = step.nodes[0], (step.args or {}).get("role", "compute")
    procedures = _scale(target, nodes, cloud)
    host = scale.hostname(target, node)
    if role == "compute":
        providers = procedures.cloud.hypervisors(host)
        procedures.disable(host)
        procedures.move_servers(host)
        procedures.deploy("remove", node, role)
        procedures.forget(host)
        checks = procedures.left_behind(UNDO_KEYWORD, host, providers)
    else:
        try:
            lb = haproxy.of(target, nodes)
            for service in _api_services(target, node):
                lb.set_state(lb.spec.backend(service), node, "drain")
        except ChangeError:
            pass  # not in the load balancer (any more): nothing to drain
        procedures.deploy("remove", node, role)
        procedures.forget(host)
        checks = []
    problems = [c.problem for c in checks if not c.passed]
    if problems:
        raise ChangeError(f"{node} was removed again, but: {'; '.join(problems)}.")


def enable_compute(step: Step, target: Target, nodes: Nodes | None = None, cloud=None) -> None:
    """Enable the compute service a removal disabled (the removal stopped before it)."""
    from . import scale

    host = scale.hostname(target, step.nodes[0])
    procedures = _scale(target, nodes or connect(target), cloud)
    procedures.enable(host)


def _api_services(target: Target, node: str) -> list[str]:
    return [name for name, spec in target.section("services").items()
            if (spec or {}).get("api") and node in ((spec or {}).get("nodes") or [])]


UNDO_KEYWORD = "undo"

HANDLERS = {LB_READY: lb_ready, RESTORE_FILE: restore_file, INSTALL_PACKAGES: install_packages,
            ADD_NODE: add_node, REMOVE_NODE: remove_node, ENABLE_COMPUTE: enable_compute}

for _action, _handler in HANDLERS.items():
    register_undo(_action, _handler)

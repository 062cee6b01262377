"""A node's package manager, as the target's ``changes`` section names it.

``package_manager``: ``apt`` (default; the node reaches a mirror), ``dnf``, or ``dpkg``
(the node has no route out: the .deb files of every version wait in ``deb_dir``, a folder
the node sees, and are installed with ``dpkg -i``, as the lab does). ``package_env``
adds environment variables to the install command, which runs under ``nice -n 10``.
"""

from __future__ import annotations

import re
import shlex

from ..target import Target
from .errors import ChangeError

MANAGERS = ("apt", "dnf", "dpkg")
_PAIR = re.compile(r"^(?P<name>[a-z0-9][a-z0-9+.-]*)=(?P<version>[A-Za-z0-9.+~:_-]+)$")


def parse_pairs(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("keystone=2:22.0.2-0+deb12u6", ...)`` to ``{name: version}``; one clear error
    for anything else, before anything is touched."""
    if not pairs:
        raise ChangeError("Name at least one package as name=version "
                          "(e.g. keystone=2:22.0.2-0+deb12u6).")
    found: dict[str, str] = {}
    for pair in pairs:
        match = _PAIR.match(str(pair).strip())
        if not match:
            raise ChangeError(f"'{pair}' is not name=version (e.g. keystone=2:22.0.2-0+deb12u6).")
        found[match["name"]] = match["version"]
    return found


def manager(target: Target) -> str:
    chosen = target.section("changes").get("package_manager", "apt")
    if chosen not in MANAGERS:
        raise ChangeError(f"Target file {target.path}: changes.package_manager '{chosen}' is "
                          f"not one of {', '.join(MANAGERS)}.")
    return chosen


def version_command(target: Target, name: str) -> str:
    quoted = shlex.quote(name)
    if manager(target) == "dnf":
        return f"rpm -q --qf '%{{VERSION}}-%{{RELEASE}}' {quoted}"
    return f"dpkg-query -W -f '${{Version}}' {quoted}"


def deb_file_glob(deb_dir: str, name: str, version: str) -> str:
    """apt-get download's file name: the epoch's ':' written as %3a."""
    stem = f"{deb_dir.rstrip('/')}/{name}_{version.replace(':', '%3a')}"
    return f"{shlex.quote(stem)}_*.deb"


def install_command(target: Target, packages: dict[str, str], downgrade: bool) -> str:
    section = target.section("changes")
    chosen = manager(target)
    env = {} if chosen == "dnf" else {"DEBIAN_FRONTEND": "noninteractive"}
    env.update(section.get("package_env") or {})
    if chosen == "apt":
        specs = " ".join(shlex.quote(f"{n}={v}") for n, v in packages.items())
        command = ("apt-get install -y -q --allow-downgrades "
                   f"-o Dpkg::Options::=--force-confold {specs}")
    elif chosen == "dnf":
        specs = " ".join(shlex.quote(f"{n}-{v}") for n, v in packages.items())
        command = f"dnf -y {'downgrade' if downgrade else 'install'} {specs}"
    else:
        deb_dir = section.get("deb_dir")
        if not deb_dir:
            raise ChangeError(f"Target file {target.path}: package_manager dpkg needs "
                              f"changes.deb_dir, the folder of .deb files on the nodes.")
        files = " ".join(deb_file_glob(str(deb_dir), n, v) for n, v in packages.items())
        command = f"dpkg -i --force-confold {files}"
    # Niced, as on a live node: the install's own work (unpacking, byte-compiling, the
    # packages' scripts) yields to the services still serving there and on its neighbours.
    variables = "".join(f"{k}={shlex.quote(str(v))} " for k, v in env.items())
    return f"env {variables}nice -n 10 {command}"


def services_using(target: Target, node: str, changed: list[str]) -> list[str]:
    """The services of ``node`` that use one of the ``changed`` packages, in the target's
    order: ``services.<name>.packages`` lists them (default: the service's own name)."""
    on_node = set(target.node(node).get("services") or [])
    found = []
    for service, spec in target.section("services").items():
        used = (spec or {}).get("packages") or [service]
        if service in on_node and set(used) & set(changed):
            found.append(service)
    return found

"""Two releases of Keystone and Nova, and each node's own package state.

Every lab node sees the runner's /usr, /etc, /var/lib/dpkg and /var/cache through an
overlay of its own (nodeinit mounts them; the upper layers live in the node's folder),
so a package installed inside ctl1 changes ctl1 only and survives its power cycles.

The Debian mirror offers two revisions of each: bookworm's and bookworm-security's
(`apt-cache madison keystone`). The runner has the newest installed (`lab install`);
`up` fetches the .debs of both into the lab's packages/ folder, which every node sees,
and `up --old-release` installs the older one inside each node that runs Keystone or
Nova before their services start. The target file names both (``changes.upgrades``),
so a suite can roll the upgrade out and back.

The packages' own maintainer scripts run inside the node, as on a real server: invoke-rc.d
is denied by the node's policy-rc.d (the lab's service manager restarts what changed),
debconf answers are the runner's except ``nova/my-ip``, set to the node's own address, and
nova-common's db-sync trigger syncs the lab's database (a no-op between these revisions).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from . import paths
from . import topology as topo
from .shell import LabError, in_node, run

# Source package -> the lab service that names its upgrade in the target file.
SOURCES = {"keystone": "keystone", "nova": "nova-api"}
# What each service uses, beyond its own package: a node's package change restarts them.
SERVICE_PACKAGES = {
    "keystone": ["keystone", "python3-keystone"],
    "nova-api": ["nova-api", "nova-common", "python3-nova"],
    "nova-conductor": ["nova-conductor", "nova-common", "python3-nova"],
    "nova-scheduler": ["nova-scheduler", "nova-common", "python3-nova"],
    "nova-compute": ["nova-compute", "nova-compute-ironic", "nova-common", "python3-nova"],
}
# The runner's folders each node overlays (the ones dpkg and maintainer scripts write).
OVERLAID = ("/usr", "/etc", "/var/lib/dpkg", "/var/lib/systemd", "/var/cache")
POLICY_RC_D = "#!/bin/sh\n# A lab node: its package scripts start no service.\nexit 101\n"


def folder() -> Path:
    return paths.root() / "packages"


# ---------------------------------------------------------------- overlays
def overlay_mounts(home: Path) -> list[list[str]]:
    """The node's overlay mounts, for node.json (kind ``overlay``: source holds upper/ and
    work/); laid out with a policy-rc.d in the node's /usr."""
    lab = paths.root().resolve()
    mounts = []
    for target in OVERLAID:
        if lab == Path(target) or Path(target) in lab.parents:
            raise LabError(f"The lab folder {lab} is inside {target}, which each node overlays: "
                           f"set EXTREME_LAB_DIR to a folder outside {', '.join(OVERLAID)}.")
        if not os.path.isdir(target):
            continue
        layer = home / "overlay" / target.strip("/").replace("/", "-")
        for sub in ("upper", "work"):
            (layer / sub).mkdir(parents=True, exist_ok=True)
        mounts.append([str(layer), target, "overlay"])
    policy = home / "overlay" / "usr" / "upper" / "sbin" / "policy-rc.d"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    return mounts


# ---------------------------------------------------------------- versions
def installed(source: str) -> dict[str, str]:
    """{binary package: version} of ``source`` on the runner (what `lab install` put)."""
    out = run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${source:Package} ${Status}\n"],
              timeout=60).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == source and line.endswith("installed"):
            found[parts[0]] = parts[1]
    return found


def mirror_versions(package: str) -> list[str]:
    out = run(["apt-cache", "madison", package], timeout=60).stdout
    return [line.split("|")[1].strip() for line in out.splitlines() if line.count("|") >= 2]


def older(version: str, candidates: list[str]) -> str | None:
    """The newest of ``candidates`` older than ``version`` (dpkg's ordering)."""
    best = None
    for candidate in candidates:
        if run(["dpkg", "--compare-versions", candidate, "lt", version],
               check=False, timeout=10).returncode != 0:
            continue
        if best is None or run(["dpkg", "--compare-versions", candidate, "gt", best],
                               check=False, timeout=10).returncode == 0:
            best = candidate
    return best


def plan() -> dict[str, dict[str, dict[str, str]]]:
    """{service: {"from": {pkg: old}, "to": {pkg: new}}} for Keystone and Nova's API;
    a source with no older revision on the mirror is left out."""
    upgrades = {}
    for source, service in SOURCES.items():
        new = installed(source)
        old = {}
        for package, version in new.items():
            previous = older(version, mirror_versions(package))
            if previous is None:
                break
            old[package] = previous
        if new and len(old) == len(new):
            upgrades[service] = {"from": old, "to": new}
    return upgrades


def fetch(upgrades: dict) -> Path:
    """Download both revisions' .debs into the lab's packages/ folder (on the runner:
    nodes have no route out)."""
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    specs = sorted({f"{name}={version}" for upgrade in upgrades.values()
                    for side in ("from", "to") for name, version in upgrade[side].items()})
    if specs:
        # As root into the lab's own folder (apt says the download is unsandboxed).
        run(["sh", "-c", f"cd {shlex.quote(str(target))} && apt-get download -q "
             + " ".join(shlex.quote(s) for s in specs)], timeout=600)
    return target


def deb_files(packages: dict[str, str]) -> list[str]:
    files = []
    for name, version in packages.items():
        # apt-get download's name (the epoch's ':' as %3a), as changes.packages globs it;
        # the lab, a lower layer, does not import the Changes library.
        stem = f"{name}_{version.replace(':', '%3a')}_"
        match = sorted(p for p in folder().glob("*.deb") if p.name.startswith(stem))
        if not match:
            raise LabError(f"No .deb of {name} {version} in {folder()}: the mirror no longer "
                           f"offers it; run 'extreme lab up' without --old-release.")
        files.append(str(match[0]))
    return files


# ---------------------------------------------------------------- inside a node
def preseed(init_pid: int, node: topo.Node) -> None:
    """The node's own debconf answers: nova-common writes nova/my-ip into nova.conf."""
    # (man-db's index is not rebuilt on every package change: a node has no reader.)
    in_node(init_pid, ["debconf-set-selections"], timeout=60,
            input=f"nova-common nova/my-ip string {node.address}\n"
                  "man-db man-db/auto-update boolean false\n")


def install_in_node(init_pid: int, packages: dict[str, str], nice: int = 0) -> None:
    """``dpkg -i`` of ``packages`` in the node; ``nice``: the priority it runs at (its
    maintainer scripts byte-compile every module, a minute of CPU on a busy machine)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    prefix = ["nice", "-n", str(nice)] if nice else []
    in_node(init_pid, [*prefix, "dpkg", "-i", "--force-confold", *deb_files(packages)],
            timeout=900, env=env)


def nodes_with_packages() -> list[topo.Node]:
    """Nodes running a service of Keystone's or Nova's packages."""
    return [n for n in topo.NODES
            if any(s.name in SERVICE_PACKAGES for s in topo.services_of(n.name))]


def target_section(upgrades: dict) -> dict:
    """The target file's ``changes`` section for the lab."""
    return {"package_manager": "dpkg", "deb_dir": str(folder()), "upgrades": upgrades}

"""Lays out the lab's files: secrets, keys, and each node's /etc, /var/lib and /var/log.

Everything is written under the lab folder (paths.root()); nodes see their part of it at
the usual places through bind mounts made inside their own mount namespace, so nothing
on the runner's /etc or /var changes.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random_secrets
import shutil
from pathlib import Path

from . import config, paths, releases
from . import topology as topo
from .shell import LabError, run

HERE = Path(__file__).resolve().parent
SECRET_NAMES = ("admin", "service", "db", "rabbit", "bmc", "switch", "erlang_cookie")

# service -> (package folder under /etc and /var/lib, user the service runs as)
PACKAGE = {
    "mariadb": ("mysql", "mysql"), "clustercheck": (None, "root"),
    "rabbitmq": ("rabbitmq", "rabbitmq"),
    "memcached": (None, "memcache"), "keystone": ("keystone", "keystone"),
    "placement": ("placement", "placement"), "glance-api": ("glance", "glance"),
    "nova-api": ("nova", "nova"), "nova-conductor": ("nova", "nova"),
    "nova-scheduler": ("nova", "nova"), "nova-compute": ("nova", "nova"),
    "neutron-server": ("neutron", "neutron"), "haproxy": ("haproxy", "root"),
    # The agents are root in their node (namespaces, bridges, iptables: no sudo); and
    # nova-compute on cmp1 too: its guest driver makes network namespaces and veths.
    "neutron-linuxbridge-agent": ("neutron", "root"),
    "neutron-dhcp-agent": ("neutron", "root"), "neutron-l3-agent": ("neutron", "root"),
}
RUN_AS_ROOT = {"nova-compute"}
# How the agents' privileged calls run: "daemons" (upstream's privsep daemons, the
# default) or "in-process" (lab/agentinprocess.py: less memory, untried), chosen by
# $EXTREME_LAB_PRIVSEP when `up` lays the files out.
PRIVSEP_MODES = ("daemons", "in-process")
AGENT_LAUNCHER = "/usr/local/sbin/neutron-agent-inprocess"


def privsep_mode() -> str:
    mode = os.environ.get("EXTREME_LAB_PRIVSEP", "daemons")
    if mode not in PRIVSEP_MODES:
        raise LabError(f"EXTREME_LAB_PRIVSEP={mode!r}: use one of "
                       f"{', '.join(PRIVSEP_MODES)} (or leave it unset: daemons).")
    return mode
# What cmp1's guest driver needs, copied into its /usr overlay (never this machine's).
GUEST_FILES = ("nova_guest_driver.py", "guests.py")
READY_PATH = {"identity": "/v3", "image": "/versions"}
EXTRA_LIB_DIRS = {"nova": ["tmp", "instances", "buckets", "keys", "networks"],
                  "glance": ["images", "staging", "tasks", "image-cache"],
                  "neutron": ["tmp"], "keystone": [], "placement": []}


def make_secrets() -> dict[str, str]:
    path = paths.root() / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    # IPMI (RMCP+) passwords are at most 20 bytes: 16 characters fit every protocol.
    values = {name: random_secrets.token_urlsafe(12) for name in SECRET_NAMES}
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def chown(path: Path, user: str) -> None:
    shutil.chown(path, user, user if user != "root" else "root")


def write(path: Path, text: str, user: str = "root", mode: int = 0o640) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Copied package folders hold symlinks into the runner's /etc: replace, never follow.
    if path.is_symlink():
        path.unlink()
    path.write_text(text)
    os.chmod(path, mode)
    chown(path, user)


def service_spec(service: topo.Service, node: topo.Node) -> dict:
    address = node.address
    folder, user = PACKAGE[service.name]
    user = "root" if service.name in RUN_AS_ROOT else user
    log_dir = f"/var/log/{folder or service.name}"
    # An API is ready when it answers HTTP, not when its socket is bound.
    ready = f"http://{address}:{service.port}{READY_PATH.get(service.api, '/')}" \
        if service.api else None
    spec: dict = {"user": user, "grep": service.grep, "ready": ready, "rundirs": [],
                  "log": f"{log_dir}/{service.name}.out", "chdir": "/",
                  "stop_timeout": service.stop_timeout}
    commands = {
        "mariadb": ["/usr/sbin/mariadbd", "--defaults-file=/etc/mysql/my.cnf"],
        "clustercheck": ["/usr/bin/python3", "/usr/local/sbin/clustercheck", "--address",
                         address, "--port", str(topo.CLUSTERCHECK_PORT)],
        "rabbitmq": ["/usr/lib/rabbitmq/bin/rabbitmq-server"],
        "memcached": ["/usr/bin/memcached", "-l", address, "-p", "11211", "-m", "64",
                      "-U", "0", "-c", "4096"],
        "keystone": ["/usr/bin/uwsgi", "--ini", "/etc/keystone/keystone-uwsgi.ini"],
        "placement": ["/usr/bin/uwsgi", "--ini", "/etc/placement/placement-uwsgi.ini"],
        "nova-api": ["/usr/bin/uwsgi", "--ini", "/etc/nova/nova-api-uwsgi.ini"],
        "glance-api": ["/usr/bin/glance-api", "--config-file", "/etc/glance/glance-api.conf"],
        "neutron-server": ["/usr/bin/neutron-server", "--config-file",
                           "/etc/neutron/neutron.conf", "--config-file",
                           "/etc/neutron/plugins/ml2/ml2_conf.ini"],
        "nova-conductor": ["/usr/bin/nova-conductor", "--config-file", "/etc/nova/nova.conf"],
        "nova-scheduler": ["/usr/bin/nova-scheduler", "--config-file", "/etc/nova/nova.conf"],
        "nova-compute": ["/usr/bin/nova-compute", "--config-file", "/etc/nova/nova.conf"],
        **{agent: [f"/usr/bin/{agent}", *[arg for path in config.agent_config_files(agent)
                                           for arg in ("--config-file", path)]]
           for agent in config.AGENT_INI},
        "haproxy": ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"],
    }
    spec["command"] = commands[service.name]
    if service.name == "mariadb":
        # `service mariadb bootstrap` starts a new cluster from this member, as
        # galera_new_cluster does; `start` joins the members it reaches (IST or SST).
        spec.update(ready=f"{address}:3306", rundirs=["/run/mysqld"],
                    bootstrap=["--wsrep-new-cluster"])
    elif service.name == "clustercheck":
        spec.update(ready=f"{address}:{topo.CLUSTERCHECK_PORT}")
    elif service.name == "rabbitmq":
        spec.update(ready=f"{address}:5672", chdir="/var/lib/rabbitmq",
                    env={"HOME": "/var/lib/rabbitmq"})
    elif service.name == "memcached":
        spec.update(ready=f"{address}:11211")
    elif service.name == "haproxy":
        spec.update(ready=f"{topo.node('lb').address}:8404")
    elif service.name in ("keystone", "placement", "nova-api"):
        spec["chdir"] = f"/var/lib/{folder}"
    elif service.name == "nova-compute":
        # The guest driver's modules, in this node's /usr overlay only.
        spec.update(env={"PYTHONPATH": config.GUEST_LIB}, chdir="/var/lib/nova")
    elif service.name in config.AGENT_INI:
        # /usr/local/sbin first: the lab's ebtables (lab/ebtables_delete.py) for the Linux
        # bridge agent's ARP protection; the privsep daemons inherit the PATH.
        spec.update(chdir="/var/lib/neutron",
                    env={"PATH": "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"})
        if privsep_mode() == "in-process":  # the pattern still finds /usr/bin/<agent>
            spec["command"] = [AGENT_LAUNCHER, *spec["command"]]
    return spec


def node_config_files(node: topo.Node, values: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{path under the node's etc/: (content, owner)} for the services of one node."""
    files: dict[str, tuple[str, str]] = {}
    names = {s.name for s in topo.services_of(node.name)}
    address = node.address
    lab = paths.root()
    if "mariadb" in names:
        files["mysql/my.cnf"] = (config.my_cnf(node.name), "mysql")
    if "rabbitmq" in names:
        files["rabbitmq/rabbitmq.conf"] = (config.rabbitmq_conf(values, node.name), "rabbitmq")
        files["rabbitmq/rabbitmq-env.conf"] = (config.rabbitmq_env(node.name), "rabbitmq")
    if "keystone" in names:
        files["keystone/keystone.conf"] = (config.keystone_conf(values), "keystone")
        files["keystone/keystone-uwsgi.ini"] = (config.uwsgi_ini(
            "keystone-uwsgi", address, 5000, "/usr/bin/keystone-wsgi-public", "keystone",
            "/var/log/keystone/keystone-uwsgi.log", threads=config.API_THREADS), "keystone")
    if "placement" in names:
        files["placement/placement.conf"] = (config.placement_conf(values), "placement")
        files["placement/placement-uwsgi.ini"] = (config.uwsgi_ini(
            "placement-uwsgi", address, 8778, "/usr/bin/placement-api", "placement",
            "/var/log/placement/placement-uwsgi.log", threads=config.API_THREADS),
            "placement")
    if "glance-api" in names:
        files["glance/glance-api.conf"] = (config.glance_conf(values, address), "glance")
    if "nova-api" in names or "nova-compute" in names:
        files["nova/nova.conf"] = (config.nova_conf(values, address,
                                                    compute="nova-compute" in names), "nova")
    if "nova-api" in names:
        files["nova/nova-api-uwsgi.ini"] = (config.uwsgi_ini(
            "nova-api-uwsgi", address, 8774, "/usr/bin/nova-api-wsgi", "nova",
            "/var/log/nova/nova-api-uwsgi.log", processes=config.NOVA_API_PROCESSES), "nova")
    if "neutron-server" in names or names & set(config.AGENT_INI):
        files["neutron/neutron.conf"] = (config.neutron_conf(values, address), "neutron")
    if "neutron-server" in names:
        files["neutron/plugins/ml2/ml2_conf.ini"] = (config.ml2_conf(), "neutron")
    agent_files = {"neutron-linuxbridge-agent": lambda: config.linuxbridge_agent_ini(node.name),
                   "neutron-dhcp-agent": config.dhcp_agent_ini,
                   "neutron-l3-agent": config.l3_agent_ini}
    for agent, render in agent_files.items():
        if agent in names:
            files["neutron/" + config.AGENT_INI[agent]] = (render(), "neutron")
    if "haproxy" in names:
        socket = lab / "nodes" / "lb" / "haproxy" / "admin.sock"
        files["haproxy/haproxy.cfg"] = (config.haproxy_cfg(str(socket)), "root")
    return files


def folder_owners(services: list[topo.Service]) -> dict[str, str]:
    """{package folder: owner of its /var/lib and /var/log}: the service user when one
    runs as it (neutron-server beside the root agents: its logs and lock files stay
    writable to it), root only when every service of the folder is root."""
    owners: dict[str, str] = {}
    for service in services:
        folder, user = PACKAGE[service.name]
        if folder and owners.get(folder, "root") == "root":
            owners[folder] = user
    return owners


GUEST_SHIM_TEXT = ('"""The lab\'s guest driver, where Nova loads drivers from (extreme lab '
                   'up wrote this, in this node only)."""\n'
                   "from nova_guest_driver import GuestDriver  # noqa: F401\n")


def install_guest_driver(home: Path) -> Path:
    """Copies the guest driver and its guests module into the node's /usr overlay (upper
    layer, written while the node is off), where nova-compute finds them through its
    PYTHONPATH, and the shim Nova loads it by (config.GUEST_SHIM): the node's own
    package state, never this machine's Python."""
    upper = home / "overlay" / "usr" / "upper"
    target = upper / Path(config.GUEST_LIB).relative_to("/usr")
    target.mkdir(parents=True, exist_ok=True)
    for name in GUEST_FILES:
        shutil.copy(HERE / name, target / name)
        os.chmod(target / name, 0o644)
    shim = upper / Path(config.GUEST_SHIM).relative_to("/usr")
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(GUEST_SHIM_TEXT)
    os.chmod(shim, 0o644)
    return target


def fernet_keys() -> dict[str, str]:
    # A Fernet key is 32 random bytes, url-safe base64; 0 is staged, 1 is primary.
    return {str(i): base64.urlsafe_b64encode(os.urandom(32)).decode() for i in (0, 1)}


def lay_out(values: dict[str, str]) -> None:
    """Write every file the nodes need. Idempotent for a lab that is not running."""
    lab = paths.root()
    (lab / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "nodeinit.py", lab / "bin" / "nodeinit.py")
    write(lab / "hosts", config.hosts_file(), mode=0o644)
    write(lab / "resolv.conf", "# the lab has no DNS\n", mode=0o644)
    ssh = lab / "ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    if not (ssh / "id_ed25519").exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "extreme-lab",
             "-f", str(ssh / "id_ed25519")])
    shutil.copy(ssh / "id_ed25519.pub", ssh / "authorized_keys")
    shared_images = lab / "shared" / "glance-images"
    shared_images.mkdir(parents=True, exist_ok=True)
    chown(shared_images, "glance")
    keys = {"fernet-keys": fernet_keys(), "credential-keys": fernet_keys()}

    for node in list(topo.NODES) + [topo.Node(topo.SWITCH, topo.SWITCH_MGMT_ADDRESS, ("switch",))]:
        lay_out_node(node, values, keys, shared_images)


KEY_REPOSITORIES = ("fernet-keys", "credential-keys")


def lay_out_added(node: topo.Node, values: dict[str, str]) -> None:
    """The files of a node `extreme lab add-node` adds, made as `up` makes every node's
    (lay_out_node): a new controller gets Keystone's key repositories as the first
    controller has them now (rotated keys included), as an operator copies them to it."""
    keys = {}
    if any(s.name == "keystone" for s in topo.services_of(node.name)):
        model = paths.node_dir(topo.CONTROLLERS[0]) / "etc" / "keystone"
        for name in KEY_REPOSITORIES:
            found = {p.name: p.read_text() for p in sorted((model / name).iterdir())
                     if p.is_file()} if (model / name).is_dir() else {}
            if not found:
                raise LabError(f"No Keystone keys in {model / name} to give {node.name}: "
                               f"is the lab up ('extreme lab status')?")
            keys[name] = found
    lay_out_node(node, values, keys, paths.root() / "shared" / "glance-images")


def lay_out_node(node: topo.Node, values: dict[str, str], keys: dict, shared_images: Path):
    lab = paths.root()
    home = paths.node_dir(node.name)
    for sub in ("log", "etc", "lib", "sbin", "root"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    write(home / "hostname", node.name + "\n", mode=0o644)
    host_key = home / "ssh_host_ed25519_key"
    if not host_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    is_switch = node.name == topo.SWITCH
    write(home / "sshd_config", config.sshd_config(
        node.address, str(host_key), str(lab / "ssh" / "authorized_keys"),
        password_login=is_switch), mode=0o600)
    shutil.copy(Path(__file__).with_name("svcmgr.py"), home / "sbin" / "service")
    os.chmod(home / "sbin" / "service", 0o755)
    if node.name in topo.MEMBERS:
        shutil.copy(HERE / "clustercheck.py", home / "sbin" / "clustercheck")
        os.chmod(home / "sbin" / "clustercheck", 0o755)
    if {s.name for s in topo.services_of(node.name)} & set(config.AGENT_INI):
        launcher = home / "sbin" / Path(AGENT_LAUNCHER).name
        shutil.copy(HERE / "agentinprocess.py", launcher)
        os.chmod(launcher, 0o755)
    if "neutron-linuxbridge-agent" in {s.name for s in topo.services_of(node.name)}:
        # Debian 12's ebtables-nft cannot delete neutron's MAC rules by text (see the file).
        shutil.copy(HERE / "ebtables_delete.py", home / "sbin" / "ebtables")
        os.chmod(home / "sbin" / "ebtables", 0o755)
    # Overlays first: the binds below land on the node's own /etc and /usr.
    mounts: list[list[str]] = [] if is_switch else releases.overlay_mounts(home)
    mounts += [
        ["", "/run", "tmpfs"], ["", "/tmp", "tmpfs"],
        [str(home / "log"), "/var/log", "bind"],
        [str(lab / "hosts"), "/etc/hosts", "bind"],
        [str(lab / "resolv.conf"), "/etc/resolv.conf", "bind"],
        [str(home / "hostname"), "/etc/hostname", "bind"],
        [str(home / "sbin"), "/usr/local/sbin", "bind"],
        # root's home is the node's own, not the runner's (history, dotfiles, PATH).
        [str(home / "root"), "/root", "bind"],
    ]
    services = topo.services_of(node.name)
    specs = {s.name: service_spec(s, node) for s in services}
    write(home / "sbin" / "services.json", json.dumps(
        {"order": [s.name for s in services], "services": specs}, indent=1), mode=0o644)
    folders = folder_owners(services)
    for service in services:
        folder, user = PACKAGE[service.name]
        log = home / "log" / (folder or service.name)
        log.mkdir(exist_ok=True)
        chown(log, folders.get(folder, user) if folder else user)
    for folder, user in folders.items():
        etc, lib = home / "etc" / folder, home / "lib" / folder
        if not etc.exists():
            # cp -a keeps the package's owners and modes (services read as their user).
            run(["cp", "-a", f"/etc/{folder}", str(etc)])
        lib.mkdir(exist_ok=True)
        chown(lib, user)
        for sub in EXTRA_LIB_DIRS.get(folder, []):
            (lib / sub).mkdir(exist_ok=True)
            chown(lib / sub, user)
        mounts.append([str(etc), f"/etc/{folder}", "bind"])
        mounts.append([str(lib), f"/var/lib/{folder}", "bind"])
    if "glance" in folders:
        mounts.append([str(shared_images), "/var/lib/glance/images", "bind"])
    if "keystone" in folders:
        for name, content in keys.items():
            repo = home / "etc" / "keystone" / name
            repo.mkdir(mode=0o700, exist_ok=True)
            chown(repo, "keystone")
            for index, key in content.items():
                write(repo / index, key, "keystone", 0o600)
    if "haproxy" in folders:
        (home / "haproxy").mkdir(exist_ok=True)
    if any(s.name == "nova-compute" for s in services):
        install_guest_driver(home)
    if "rabbitmq" in folders:
        # One Erlang cookie for the three members (and rabbitmqctl, which runs as the
        # rabbitmq user with this home): they cluster only if theirs match.
        write(home / "lib" / "rabbitmq" / ".erlang.cookie", values["erlang_cookie"],
              "rabbitmq", 0o400)
    if is_switch:
        mounts = switch_accounts(home, values["switch"]) + mounts
    for relative, (content, owner) in node_config_files(node, values).items():
        write(home / "etc" / relative, content, owner)
    write(home / "node.json", json.dumps({
        "hostname": node.name, "address": node.address, "mounts": mounts,
        "sshd_config": str(home / "sshd_config"), "autostart": False}, indent=1), mode=0o644)


def set_autostart(name: str, value: bool) -> None:
    path = paths.node_dir(name) / "node.json"
    data = json.loads(path.read_text())
    data["autostart"] = value
    path.write_text(json.dumps(data, indent=1))


def switch_accounts(home: Path, password: str) -> list[list[str]]:
    """The switch's local 'admin' account (uid 0, like a switch's admin), seen only in sw1.

    Its passwd and shadow sit in the upper layer of an overlay of the switch's /etc, not
    in file bind mounts: a file bind mount is detached in every namespace as soon as the
    host replaces /etc/passwd (apt-get adding a system user renames a new file over it),
    and the switch then refused its admin ("Invalid user admin", measured 2026-12-06)."""
    hashed = run(["openssl", "passwd", "-6", "-stdin"], input=password).stdout.strip()
    passwd = Path("/etc/passwd").read_text() + "admin:x:0:0:switch admin:/root:/bin/bash\n"
    shadow = Path("/etc/shadow").read_text() + f"admin:{hashed}:19000:0:99999:7:::\n"
    etc = home / "overlay" / "etc"
    (etc / "work").mkdir(parents=True, exist_ok=True)
    write(etc / "upper" / "passwd", passwd, mode=0o644)
    write(etc / "upper" / "shadow", shadow, mode=0o600)
    # A switch's operator prompt: netmiko's Linux driver takes a '#' prompt for "sudo -s"
    # (config) mode and would send an extra 'exit' at logout, then wait for a prompt.
    write(home / "root" / ".bash_profile", "PS1='\\h$ '\n", mode=0o644)
    cli = HERE / "switchcli.py"
    if cli.exists():
        shutil.copy(cli, home / "sbin" / "switch")
        os.chmod(home / "sbin" / "switch", 0o755)
    return [[str(etc), "/etc", "overlay"]]

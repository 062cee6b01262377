"""The files that describe the running lab to the rest of the product.

target.yaml (the target file), clouds.yaml with secure.yaml (the cloud's credentials,
mode 600), os-faults.yaml (no passwords: the Faults library adds the BMCs' from the
environment) and the environment a run needs (`extreme lab env`).
"""

from __future__ import annotations

import os
import shlex
import shutil

import yaml

from .. import datafiles
from .. import target as targets
from . import api, config, paths, releases
from . import personas as lab_personas
from . import topology as topo
from .shell import LabError

CLOUD = "extreme-lab"
ENV_BMC = "EXTREME_LAB_BMC_PASSWORD"
ENV_SWITCH = "EXTREME_LAB_SWITCH_PASSWORD"


def key_path() -> str:
    return str(paths.root() / "ssh" / "id_ed25519")


# The lab's own limits and known findings live beside the other target files, where QA
# reads and edits them (variables/ of the checkout, ExtremeTesting/variables when
# installed). `up` folds a copy into the target it writes (for readers of the raw YAML);
# ExtremeTesting.target.load reads the file again at every run and its sections win, so an
# edit takes effect on the next run with the lab left up.
def lab_expectations() -> dict:
    """The lab's probes, expectations and known findings; a missing or unreadable file
    stops `up` with one line (a lab without its limits would judge nothing)."""
    try:
        data = targets.lab_expectations()
    except targets.TargetError as error:
        raise LabError(str(error)) from None
    if not isinstance(data.get("expectations"), dict):
        raise LabError(f"The lab's defaults {targets.LAB_EXPECTATIONS} hold no "
                       f"'expectations' mapping: restore the file.")
    return data


def target(files: dict[str, str], upgrades: dict | None = None,
           added: tuple[str, ...] | list[str] = ()) -> dict:
    """The lab's target file: the nodes `up` made and those `add-node` added since."""
    lab_nodes = topo.nodes(added)
    nodes = {n.name: {"address": n.address, "roles": list(n.roles),
                      "services": [s.name for s in topo.services_of(n.name)]}
             for n in lab_nodes}
    services = {s.name: {"nodes": list(s.nodes), "grep": s.grep,
                         "expected_downtime": s.expected_downtime,
                         **({"port": s.port} if s.port else {}),
                         **({"api": s.api} if s.api else {}),
                         **({"packages": releases.SERVICE_PACKAGES[s.name]}
                            if s.name in releases.SERVICE_PACKAGES else {})}
                for s in topo.services(added)}
    bmcs = {n.name: {"protocol": "ipmi", "address": n.bmc_address, "port": 623,
                     "username": "admin", "password_env": ENV_BMC,
                     "redfish": {"address": n.bmc_address, "port": 8000, "system_id": n.name,
                                 "scheme": "https"}}
            for n in lab_nodes}
    return {
        "name": "lab",
        "description": "The Extreme Testing lab: Debian's OpenStack in namespaces on one machine",
        "destructive": True,
        "cloud": CLOUD,
        "clouds_yaml": files["clouds.yaml"],
        "os_faults": files["os-faults"],
        "vip": topo.VIP,
        "endpoints": {s.api: config.vip_url(s.port, "/v3" if s.api == "identity" else
                                            "/v2.1" if s.api == "compute" else "")
                      for s in topo.api_services()},
        "ssh": {"username": "root", "private_key_file": key_path(), "port": 22},
        "nodes": nodes,
        "services": services,
        "bmcs": bmcs,
        # The database and the message bus: 3-member clusters (readers and faults).
        "clusters": topo.CLUSTERS,
        "switches": {topo.SWITCH: {
            "device_type": "linux", "address": topo.SWITCH_MGMT_ADDRESS, "port": 22,
            "username": "admin", "password_env": ENV_SWITCH,
            "ports": [p for n in lab_nodes for p in topo.switch_ports(n.name)]
            + [topo.CLIENT]}},
        "load_balancer": {
            "type": "haproxy", "node": "lb",
            "admin_socket": str(paths.node_dir("lb") / "haproxy" / "admin.sock"),
            "stats_url": f"http://{topo.node('lb').address}:8404/"},
        "personas": lab_personas.target_section(CLOUD),
        "policy_matrix": str(datafiles.data_file("variables", "lab-policy.yaml")),
        "changes": releases.target_section(upgrades or {}),
        "logs": logs_section(),
        "data_plane": data_plane_section(added),
        "scale": scale_section(),
        "lab": {"dir": str(paths.root()), "added_nodes": list(added)},
        **lab_expectations(),
    }


# Where each lab service logs (inside its node: /var/log is the node's log/ folder), for
# the evidence of failed cases. HAProxy's and memcached's output has no timestamps.
LOG_FILES = {
    "keystone": ["/var/log/keystone/keystone.log"],
    "placement": ["/var/log/placement/placement-api.log"],
    "glance-api": ["/var/log/glance/glance-api.log"],
    "nova-api": ["/var/log/nova/nova-api-wsgi.log"],
    "nova-conductor": ["/var/log/nova/nova-conductor.log"],
    "nova-scheduler": ["/var/log/nova/nova-scheduler.log"],
    "nova-compute": ["/var/log/nova/nova-compute.log"],
    "neutron-server": ["/var/log/neutron/neutron-server.log"],
    "neutron-linuxbridge-agent": ["/var/log/neutron/neutron-linuxbridge-agent.log"],
    "neutron-dhcp-agent": ["/var/log/neutron/neutron-dhcp-agent.log"],
    "neutron-l3-agent": ["/var/log/neutron/neutron-l3-agent.log"],
    "mariadb": ["/var/log/mysql/error.log"],
    "rabbitmq": ["/var/log/rabbitmq/rabbit@*.log"],
}


def logs_section() -> dict:
    """The target's ``logs``: the files of every lab service that logs with timestamps."""
    known = {s.name for s in topo.SERVICES}
    return {name: {"files": list(files)} for name, files in LOG_FILES.items() if name in known}


# The data_plane section's keys, each with what it means: written as comments above the
# section in the lab's target file (and the same words are in the README).
DATA_PLANE_KEYS = {
    "probe_host": "where the probes run: 'local' = this machine (no SSH)",
    "probe_namespace": "network namespace on the probe host the probes leave from (the "
                       "tenants' users: on the external network only, no route elsewhere)",
    "external_network": "Neutron network routers get their gateway from and floating IPs "
                        "come from (flat, router:external, made by 'extreme lab up')",
    "external_subnet": "its subnet (CIDR); the probe namespace has an address in it",
    "floating_ip_range": "first and last address Neutron allocates gateways and "
                         "floating IPs from",
    "image": "image (name) to boot servers from",
    "flavor": "flavor (name) to boot servers with",
    "tenant_network": "network to boot servers on; null = the suite makes its own "
                      "(VXLAN network, subnet, HA router with its gateway on external_network)",
    "tcp_port": "each guest's TCP echo port (ICMP echo is answered too)",
    "security_group_ingress": "what servers' security group must let in for the probes "
                              "(the default group refuses the probe namespace)",
    "guest_ready_timeout": "seconds a booted server's guest may take to answer on its "
                           "floating IP (its DHCP lease comes after ACTIVE)",
    "guests": "lab only: where the guests live (Nova's guest driver on these compute "
              "nodes; each guest a network namespace 'guest-' + the server id's first 16 "
              "hex digits, in the node's own /run/netns, reachable from this machine as "
              "/proc/<pid of the node's init, in init_pid_file>/root/run/netns/<name>)",
    "paths": "named data-plane paths ({from, to, tcp_port}) for 'Start Probing Data "
             "Plane'; the lab lists none (its servers' addresses exist only once booted)",
}


def data_plane_section(added: tuple[str, ...] | list[str] = ()) -> dict:
    """The target's ``data_plane``: what the data-plane cases boot and probe from (each key
    is explained in DATA_PLANE_KEYS, written above the section)."""
    computes = [n for s in topo.services(added) if s.name == "nova-compute" for n in s.nodes]
    return {
        "probe_host": "local",
        "probe_namespace": paths.netns(topo.CLIENT),
        "external_network": topo.EXTERNAL_NETWORK,
        "external_subnet": topo.EXTERNAL_CIDR,
        "floating_ip_range": list(topo.FLOATING_POOL),
        "image": api.IMAGE,
        "flavor": api.FLAVOR,
        "tenant_network": None,
        "tcp_port": topo.GUEST_ECHO_PORT,
        "security_group_ingress": [{"protocol": "icmp"},
                                   {"protocol": "tcp", "port": topo.GUEST_ECHO_PORT}],
        "guest_ready_timeout": 60,
        "guests": {"driver": config.GUEST_DRIVER, "compute_nodes": computes,
                   "namespace_prefix": "guest-", "netns_dir": "/run/netns",
                   "init_pid_file": str(paths.node_dir("{node}") / "init.pid")},
        "paths": {},
    }


def data_plane_comment() -> str:
    lines = ["# data_plane: the tenants' data plane (issue 23). Keys:"]
    for key, meaning in DATA_PLANE_KEYS.items():
        lines.append(f"#   {key}: {meaning}")
    return "\n".join(lines) + "\n"


def with_comment(text: str, key: str, comment: str) -> str:
    """YAML ``text`` with ``comment`` above its top-level ``key`` (PyYAML writes none)."""
    marker = f"\n{key}:"
    if marker not in text:
        return text
    return text.replace(marker, "\n" + comment.rstrip("\n") + marker, 1)


# The scale section's keys, each with what it means on the lab: written as comments above
# the section in the lab's target file.
SCALE_KEYS = {
    "run_on": "where the add and remove commands run: local = this machine",
    "add": "'extreme lab add-node': cmp2 (a compute node like cmp1) or ctl3 (a controller "
           "with the API services, Nova's conductor and scheduler), built like the others "
           "(namespace, switch port on sw1, BMC, package overlay, services) and written into "
           "this file",
    "remove": "'extreme lab remove-node': its services stopped, its compute services and "
              "network agents deleted from the cloud, out of HAProxy, this file, the switch "
              "and the BMCs; its namespace and files removed",
    "cell_discovery": "command: the keyword runs nova-manage cell_v2 discover_hosts (the "
                      "lab's schedulers also discover every 10 s)",
    "nova_manage": "nova-manage on ctl1 as the nova user, as 'extreme lab up' runs it",
    "boot": "the server booted targeted at a new compute node: the lab's image and flavor, "
            "no network (the fake driver needs none)",
    "migration": "how servers leave a compute node being removed: live, else cold (the "
                 "lab's guest driver moves the guest with the server)",
    "ready_within": "longest wait for each check of a new node (2-core machine)",
    "settle": "how long a removed node must stay gone",
}


def scale_section() -> dict:
    """The target's ``scale``: the lab's own deploy tool is ``extreme lab add-node`` /
    ``remove-node`` (each key explained in SCALE_KEYS, written above the section)."""
    # The command by its full path when known: a robot run without the venv on its PATH
    # still finds it.
    extreme = shutil.which("extreme") or "extreme"
    return {
        "run_on": "local",
        # Measured on the 2-core lab: a compute node about 1 min, a controller about 3
        # (its API services each load before the next starts); 15 and 10 min leave room.
        "add": {"command": f"{extreme} lab add-node {{node}} --role {{role}}",
                "timeout": "15 min"},
        "remove": {"command": f"{extreme} lab remove-node {{node}}", "timeout": "10 min"},
        "cell_discovery": "command",
        "nova_manage": {"node": topo.CONTROLLERS[0],
                        "command": "runuser -u nova -- nova-manage", "timeout": "5 min"},
        "boot": {"image": api.IMAGE, "flavor": api.FLAVOR},
        "migration": ["live", "cold"],
        "ready_within": "5 min",
        "settle": "60 s",
    }


def scale_comment() -> str:
    lines = ["# scale: adding and removing nodes (issue 25, docs/scale.rst). Keys:"]
    for key, meaning in SCALE_KEYS.items():
        lines.append(f"#   {key}: {meaning}")
    return "\n".join(lines) + "\n"


def os_faults_config(added: tuple[str, ...] | list[str] = ()) -> dict:
    return {
        "cloud_management": {"driver": "universal"},
        "node_discover": {"driver": "node_list", "args": [
            {"ip": n.address, "fqdn": n.name,
             "auth": {"username": "root", "private_key_file": key_path()}}
            for n in topo.nodes(added)]},
        "services": {s.name: {
            "driver": "process",
            "args": {"grep": s.grep, "start_cmd": f"service {s.name} start",
                     "terminate_cmd": f"service {s.name} stop",
                     "restart_cmd": f"service {s.name} restart"},
            "hosts": [topo.node(n).address for n in s.nodes]}
            for s in topo.services(added)},
    }


def clouds() -> dict:
    """clouds.yaml without the password (secure.yaml holds it)."""
    return {"clouds": {CLOUD: {
        "auth": {"auth_url": config.vip_url(5000, "/v3"), "username": "admin",
                 "project_name": "admin", "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": config.REGION, "identity_api_version": 3, "interface": "public",
        "api_timeout": 30},
        **lab_personas.clouds(config.vip_url(5000, "/v3"))}}


COMMENTS = {"data_plane": data_plane_comment(), "scale": scale_comment()}


def write_yaml(path, data, mode=0o644, comments: dict[str, str] | None = None) -> str:
    path.touch(mode=mode)
    os.chmod(path, mode)
    text = yaml.safe_dump(data, sort_keys=False)
    for key, comment in (comments or {}).items():
        text = with_comment(text, key, comment)
    path.write_text(text)
    return str(path)


def write_all(values: dict[str, str], personas: dict[str, str] | None = None,
              upgrades: dict | None = None) -> dict[str, str]:
    root = paths.root()
    secure = {CLOUD: {"auth": {"password": values["admin"]}}}
    secure.update({lab_personas.cloud_name(p): {"auth": {"password": password}}
                   for p, password in (personas or {}).items()})
    files = {
        "clouds.yaml": write_yaml(root / "clouds.yaml", clouds()),
        "secure.yaml": write_yaml(root / "secure.yaml", {"clouds": secure}, mode=0o600),
        "os-faults": write_yaml(root / "os-faults.yaml", os_faults_config()),
        "ssh key": key_path(),
    }
    files["target"] = write_yaml(root / "target.yaml", target(files, upgrades),
                                 comments=COMMENTS)
    return files


def rewrite(added: tuple[str, ...] | list[str]) -> dict[str, str]:
    """target.yaml and os-faults.yaml again, with the nodes added since `up` (and without
    those removed): a keyword that reads the target again sees the lab as it is. The
    credentials' files stay as `up` wrote them; the upgrades the target declared are kept.
    Each file is replaced whole (a reader never sees half of one)."""
    root = paths.root()
    path = root / "target.yaml"
    try:
        current = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise LabError(f"The lab's target file {path} cannot be read ({type(error).__name__}):"
                       f" is the lab up? ('extreme lab status')") from None
    upgrades = (current.get("changes") or {}).get("upgrades") or {}
    files = {"clouds.yaml": str(root / "clouds.yaml"),
             "os-faults": replace_yaml(root / "os-faults.yaml", os_faults_config(added)),
             "ssh key": key_path()}
    files["target"] = replace_yaml(path, target(files, upgrades, added), comments=COMMENTS)
    return files


def replace_yaml(path, data, comments: dict[str, str] | None = None) -> str:
    """write_yaml to a new file beside ``path``, then renamed over it."""
    new = path.with_name(path.name + ".new")
    write_yaml(new, data, comments=comments)
    os.replace(new, path)
    return str(path)


def environment(values: dict[str, str]) -> dict[str, str]:
    root = paths.root()
    return {
        "EXTREME_TARGET": str(root / "target.yaml"),
        "OS_CLIENT_CONFIG_FILE": str(root / "clouds.yaml"),
        "OS_CLIENT_SECURE_FILE": str(root / "secure.yaml"),
        "OS_CLOUD": CLOUD,
        ENV_BMC: values["bmc"],
        ENV_SWITCH: values["switch"],
    }


def shell_exports(values: dict[str, str]) -> str:
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in environment(values).items())

"""The target file: one description of one cloud (every key: variables/example-3-controllers.yaml).

A target file is YAML whose top-level keys are also Robot variables when the file is
given to ``--variablefile``. Libraries take the file's path as their import argument;
when it is omitted they use ``$EXTREME_TARGET``, then the running lab's target file.
Credentials are never in the file: sections name the environment variables that hold
them (``password_env``), and clouds.yaml/secure.yaml hold the cloud's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import datafiles
from .errors import ExtremeError, TargetError

ENV_TARGET = "EXTREME_TARGET"
KNOWN_KEYS = {
    "name", "description", "destructive", "cloud", "clouds_yaml", "os_faults", "ssh",
    "nodes", "services", "vip", "endpoints", "bmcs", "switches", "probes",
    "expectations", "known_findings", "not_applicable", "lab", "load_balancer", "changes",
    "personas", "policy_matrix", "clusters", "safeguards",
    "scale",  # adding and removing nodes: the deploy tool's commands, cell discovery
    "logs",  # where each service logs, per node (the evidence of failed cases)
    "data_plane",  # the tenants' data plane: probe host, external network, what to boot
}
# The lab's limits, known findings and not-applicable cases: one file, read at every load
# (so an edit takes effect on the next run with the lab left up). It wins over the copy
# `extreme lab up` folded into the lab's target file.
LAB_EXPECTATIONS = "lab-expectations.yaml"
LAB_SECTIONS = ("expectations", "probes", "known_findings", "not_applicable", "safeguards")
NOT_APPLICABLE_SHAPE = "[{test: <glob>, reason: <text>}]"


def lab_dir() -> Path:
    return Path(os.environ.get("EXTREME_LAB_DIR", "/var/lib/extreme-lab"))


def default_target_path() -> Path:
    env = os.environ.get(ENV_TARGET)
    return Path(env) if env else lab_dir() / "target.yaml"


@dataclass
class Target:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data.get("name", self.path.stem))

    @property
    def destructive(self) -> bool:
        return self.data.get("destructive") is True

    def require_destructive(self, action: str) -> None:
        """The safety interlock: refuse, before touching anything, a cloud not marked
        ``destructive: true``."""
        if not self.destructive:
            from .errors import SafetyError

            raise SafetyError(
                f"Refused to {action}: target '{self.name}' ({self.path}) is not marked "
                f"destructive. Set 'destructive: true' in the target file only for a cloud "
                f"you may break.")

    def section(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise TargetError(f"Target file {self.path}: '{key}' must be a mapping, "
                              f"got {type(value).__name__}.")
        return value

    def require(self, key: str) -> Any:
        if key not in self.data:
            raise TargetError(f"Target file {self.path} has no '{key}' section; add it "
                              f"(see variables/example-3-controllers.yaml).")
        return self.data[key]

    def resolve(self, value: str) -> Path:
        """A path from the file, relative to the file's folder when not absolute."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.path.parent / path)

    def node(self, name: str) -> dict[str, Any]:
        nodes = self.section("nodes")
        if name not in nodes:
            raise TargetError(f"Unknown node '{name}'. Known nodes: "
                              f"{', '.join(sorted(nodes)) or 'none'}.")
        return nodes[name] or {}


# The shape of each section: a mapping of named entries (each itself a mapping), a plain
# mapping, a list, or a scalar. Checked once at load, so a keyword never meets a list where
# it expects a mapping.
ENTRY_SECTIONS = ("nodes", "services", "bmcs", "switches")
MAPPING_SECTIONS = ("endpoints", "ssh", "probes", "expectations", "lab", "load_balancer",
                    "changes", "clusters", "safeguards", "scale", "data_plane")
SCALAR_KEYS = ("name", "description", "cloud", "clouds_yaml", "vip")
EXAMPLE = "variables/example-3-controllers.yaml"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return "a text"  # the value itself is never echoed: a mistyped line may hold a secret


def _shape_problem(data: dict[str, Any]) -> str | None:
    """The first wrongly shaped section, in words with its fix; None when all are right."""
    for key in ENTRY_SECTIONS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            return (f"'{key}' must be a mapping of names to settings (e.g. '{key}:' then "
                    f"'  ctl1: {{...}}'), got {_kind(value)}")
        for name, entry in value.items():
            if entry is not None and not isinstance(entry, dict):
                return (f"'{key}.{name}' must be a mapping of settings, got {_kind(entry)}")
    for key in MAPPING_SECTIONS:
        value = data.get(key)
        if value is not None and not isinstance(value, dict):
            return f"'{key}' must be a mapping, got {_kind(value)}"
    if data.get("os_faults") is not None and not isinstance(data["os_faults"], (str, dict)):
        return ("'os_faults' must be a file name or a mapping (os-faults' config), got "
                f"{_kind(data['os_faults'])}")
    if data.get("known_findings") is not None and not isinstance(data["known_findings"], list):
        return f"'known_findings' must be a list of {{id, test}} entries, got " \
               f"{_kind(data['known_findings'])}"
    for key in SCALAR_KEYS:
        value = data.get(key)
        if value is not None and not isinstance(value, (str, int, float)):
            return f"'{key}' must be a single value, got {_kind(value)}"
    if "destructive" in data and not isinstance(data["destructive"], bool):
        return "'destructive' must be true or false"
    return None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line from PyYAML's multi-line message: what and where (1-based line, column)."""
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or getattr(error, "context", None) or "syntax error"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{what}{where}"


def load(path: str | os.PathLike | None = None) -> Target:
    """Read and check a target file; every problem is one line naming the file and the fix."""
    target_path = Path(path) if path else default_target_path()
    hint = ("Start the lab with 'extreme lab up', or pass a target file "
            f"(library argument or ${ENV_TARGET}).")
    if target_path.is_dir():
        raise TargetError(f"Target file {target_path} is a folder, not a file. Give the "
                          f"path of the target YAML file inside it.")
    if not target_path.is_file():
        raise TargetError(f"Target file {target_path} does not exist. {hint}")
    try:
        text = target_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TargetError(f"Target file {target_path} is not a text file (not UTF-8). Give "
                          f"the target YAML file (see {EXAMPLE}).") from None
    except OSError as error:
        raise TargetError(f"Target file {target_path} cannot be read: "
                          f"{error.strerror or error}. Check its permissions.") from None
    if "\x00" in text:
        raise TargetError(f"Target file {target_path} is a binary file, not YAML. Give the "
                          f"target YAML file (see {EXAMPLE}).")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TargetError(f"Target file {target_path} is not valid YAML: "
                          f"{_yaml_problem(error)}. Fix the file there.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TargetError(f"Target file {target_path} must be a mapping of sections "
                          f"(name:, nodes:, ...), got {_kind(data)}. Fix the file (see {EXAMPLE}).")
    unknown = sorted(str(k) for k in set(data) - KNOWN_KEYS)
    if unknown:
        raise TargetError(f"Target file {target_path} has unknown sections: "
                          f"{', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_KEYS))}.")
    problem = _shape_problem(data)
    if problem:
        raise TargetError(f"Target file {target_path}: {problem}. Fix the file "
                          f"(see {EXAMPLE}).")
    if data.get("name") == "lab" and isinstance(data.get("lab"), dict):
        data.update(lab_expectations())
    check_verdict_sections(data, f"Target file {target_path}")
    if data.get("scale") is not None:
        parse_scale(data, f"Target file {target_path}")
    else:
        declare_scale_not_applicable(data)
    if data.get("data_plane") is not None:
        parse_data_plane(data, f"Target file {target_path}")
    else:
        declare_data_plane_not_applicable(data)
    return Target(target_path, data)


def load_if_any(path: str | os.PathLike | None = None) -> Target | None:
    """The target, or None for a library that can work without one: no path given and
    neither $EXTREME_TARGET's file nor the running lab's exists. A target given as an
    argument, or a file that exists but is bad, still raises its one line."""
    if not path and not default_target_path().exists():
        return None
    return load(path)


def lab_expectations(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The sections of the lab's expectations file (variables/lab-expectations.yaml of the
    checkout, ExtremeTesting/variables/ when installed); a missing file is an error."""
    try:
        source = Path(path) if path else datafiles.data_file("variables", LAB_EXPECTATIONS)
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TargetError(f"{source} is not valid YAML ({type(error).__name__}): fix "
                          f"the file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TargetError(f"The lab's expectations cannot be read "
                          f"({type(error).__name__}): restore the file.") from None
    except ExtremeError as error:
        raise TargetError(str(error)) from None
    if not isinstance(data, dict):
        raise TargetError(f"{source} must be a mapping of sections.")
    unknown = sorted(set(data) - set(LAB_SECTIONS))
    if unknown:
        raise TargetError(f"{source} may only hold {', '.join(LAB_SECTIONS)}; it has "
                          f"{', '.join(unknown)}.")
    check_verdict_sections(data, str(source))
    return data


def check_verdict_sections(data: dict[str, Any], where: str) -> None:
    """``known_findings`` and ``not_applicable`` have the shapes the report needs."""
    from . import findings

    findings.parse(data.get("known_findings"), where)
    entries = data.get("not_applicable")
    if entries in (None, ""):
        return
    if not isinstance(entries, list):
        raise TargetError(f"{where}: 'not_applicable' must be a list "
                          f"{NOT_APPLICABLE_SHAPE}.")
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"test", "reason"} or not all(
                isinstance(entry[k], str) and entry[k].strip() for k in ("test", "reason")):
            raise TargetError(f"{where}: not_applicable entry #{index} must be "
                              f"{{test: <glob>, reason: <text>}} (both non-empty text).")


def secret_from_env(variable: str, what: str) -> str:
    """A credential from the environment; never logged."""
    value = os.environ.get(variable)
    if not value:
        raise TargetError(f"{what}: environment variable {variable} is not set. Export it "
                          f"(for the lab: eval \"$(extreme lab env)\").")
    return value


# --- scale: adding and removing nodes (the Changes library's scale keywords) -------------

SCALE_KEYS = {"run_on", "add", "remove", "cell_discovery", "nova_manage", "periodic_within",
              "migration", "availability_zone", "aggregate", "boot", "ready_within",
              "settle"}
SCALE_REQUIRED = ("add", "remove", "cell_discovery", "nova_manage", "boot")
SCALE_PLACEHOLDERS = ("node", "role")
CELL_DISCOVERY = ("command", "periodic")
MIGRATIONS = ("live", "cold")


@dataclass(frozen=True)
class DeployCommand:
    """One command of the operator's deploy tool, ``{node}`` and ``{role}`` in it."""

    template: str
    timeout: float  # seconds

    def line(self, node: str, role: str) -> str:
        import shlex

        return self.template.format(node=shlex.quote(node), role=shlex.quote(role))


@dataclass(frozen=True)
class ScaleSettings:
    """The target's ``scale:`` section, checked (see variables/example-3-controllers.yaml)."""

    add: DeployCommand
    remove: DeployCommand
    cell_discovery: str  # "command" or "periodic"
    nova_manage_node: str
    nova_manage: str = "nova-manage"
    nova_manage_timeout: float = 300.0
    run_on: str | None = None  # None: this machine; else a node, over the ssh section
    periodic_within: float = 600.0
    migration: tuple[str, ...] = ("live", "cold")
    availability_zone: str | None = None
    aggregate: str | None = None
    boot_image: str = ""
    boot_flavor: str = ""
    boot_network: str | None = None  # None: the server boots without a port
    ready_within: float = 600.0
    settle: float = 120.0


def _scale_problem(where: str, key: str, problem: str, fix: str) -> TargetError:
    return TargetError(f"{where}: scale.{key} {problem}; {fix} (see {EXAMPLE}).")


def _scale_seconds(value: Any, where: str, key: str) -> float:
    from robot.utils import timestr_to_secs

    try:
        found = float(timestr_to_secs(str(value)))
    except (ValueError, TypeError):
        found = -1.0
    if found <= 0:
        raise _scale_problem(where, key, f"is not a time above 0 s (got {_kind(value)})",
                             "write e.g. 90 s or 30 min")
    return found


def _scale_command(section: dict[str, Any], key: str, where: str) -> DeployCommand:
    value = section.get(key)
    shape = "write {command: '<deploy tool> ... {node}', timeout: 30 min}"
    if not isinstance(value, dict) or set(value) - {"command", "timeout"}:
        raise _scale_problem(where, key, "must be a mapping of command and timeout", shape)
    command = value.get("command")
    if not isinstance(command, str) or not command.strip():
        raise _scale_problem(where, f"{key}.command", "is missing or empty", shape)
    import string

    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(command) if name is not None}
    except ValueError:
        raise _scale_problem(where, f"{key}.command", "has an unbalanced { or }",
                             "write {{ and }} for literal braces") from None
    unknown = sorted(fields - set(SCALE_PLACEHOLDERS))
    if unknown:
        shown = ", ".join("{" + name + "}" for name in unknown)
        raise _scale_problem(where, f"{key}.command", f"has unknown placeholders {shown}",
                             "use only {node} and {role}")
    if "node" not in fields:
        raise _scale_problem(where, f"{key}.command", "does not name the node",
                             "put {node} where the deploy tool takes the node's name")
    if "timeout" not in value:
        raise _scale_problem(where, f"{key}.timeout", "is missing",
                             "every command needs one, e.g. timeout: 45 min")
    return DeployCommand(command, _scale_seconds(value["timeout"], where, f"{key}.timeout"))


def _scale_text(section: dict[str, Any], key: str, where: str, fix: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise _scale_problem(where, key, f"must be a name, got {_kind(value)}", fix)
    return str(value)


# The cases that add and remove nodes (suites/changes/scale.robot): without a scale section
# the target declares them not applicable, as it declares the data-plane cases. The pattern
# matches the suite's cases whether robot runs suites/ (Suites.Changes.Scale.<case>) or the
# file alone (Scale.<case>).
SCALE_CASES = "*scale.*"
NO_SCALE = ("The target has no scale section: adding and removing nodes is not tested on "
            "this cloud (add scale: with the deploy tool's add and remove commands to test "
            f"it, see {EXAMPLE}).")


def declare_scale_not_applicable(data: dict[str, Any]) -> None:
    """A target without a ``scale`` section declares the scale cases not applicable (the
    report shows them NOT APPLICABLE with the reason), unless it declares them itself."""
    declare_not_applicable(data, SCALE_CASES, NO_SCALE)


def parse_scale(data: dict[str, Any], where: str) -> ScaleSettings:
    """The ``scale:`` section of a target's data, checked; every problem is a
    :class:`TargetError` naming the key and the fix."""
    section = data.get("scale")
    if not isinstance(section, dict):
        raise TargetError(f"{where} has no 'scale' section: adding and removing nodes needs "
                          f"the deploy tool's commands (see {EXAMPLE}).")
    unknown = sorted(str(k) for k in set(section) - SCALE_KEYS)
    if unknown:
        raise TargetError(f"{where}: scale has unknown keys {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(SCALE_KEYS))} (see {EXAMPLE}).")
    missing = [k for k in SCALE_REQUIRED if section.get(k) is None]
    if missing:
        raise _scale_problem(where, missing[0], "is missing",
                             f"add it (scale needs {', '.join(SCALE_REQUIRED)})")
    nodes = data.get("nodes") or {}
    run_on = _scale_text(section, "run_on", where, "write local or a node of nodes:")
    if run_on == "local":
        run_on = None
    if run_on is not None and run_on not in nodes:
        raise _scale_problem(where, "run_on", f"names '{run_on}', which is not in nodes:",
                             "write local (this machine) or a node of nodes:")
    discovery = section.get("cell_discovery")
    if discovery not in CELL_DISCOVERY:
        raise _scale_problem(where, "cell_discovery", "must be command or periodic",
                             "command: the keyword runs nova-manage cell_v2 discover_hosts; "
                             "periodic: nova's discover_hosts_in_cells_interval maps it")
    manage = section.get("nova_manage")
    manage_fix = "write {node: ctl1, command: nova-manage, timeout: 5 min}"
    if not isinstance(manage, dict) or set(manage) - {"node", "command", "timeout"}:
        raise _scale_problem(where, "nova_manage", "must be a mapping of node, command and "
                             "timeout", manage_fix)
    manage_node = _scale_text(manage, "node", where, manage_fix)
    if manage_node is None or manage_node not in nodes:
        raise _scale_problem(where, "nova_manage.node", "must name a controller of nodes: "
                             "(where nova-manage cell_v2 discover_hosts and list_hosts run)",
                             manage_fix)
    manage_command = str(manage.get("command") or "nova-manage")
    migration = section.get("migration", list(MIGRATIONS))
    if isinstance(migration, str):
        migration = [m.strip() for m in migration.split(",") if m.strip()]
    if not isinstance(migration, list) or not migration or \
            any(m not in MIGRATIONS for m in migration):
        raise _scale_problem(where, "migration", "must list live and/or cold",
                             "write [live, cold] (tried in that order) or the one the cloud "
                             "allows")
    boot = section.get("boot")
    boot_fix = "write {image: <name or id>, flavor: <name or id>, network: <name or id>}"
    if not isinstance(boot, dict) or set(boot) - {"image", "flavor", "network"}:
        raise _scale_problem(where, "boot", "must be a mapping of image, flavor and network",
                             boot_fix)
    for key in ("image", "flavor"):
        if _scale_text(boot, key, where, boot_fix) is None:
            raise _scale_problem(where, f"boot.{key}", "is missing: the server booted on a "
                                 "new compute needs one", boot_fix)
    periodic = section.get("periodic_within", "10 min")
    return ScaleSettings(
        add=_scale_command(section, "add", where),
        remove=_scale_command(section, "remove", where),
        cell_discovery=discovery, nova_manage_node=manage_node,
        nova_manage=manage_command,
        nova_manage_timeout=_scale_seconds(manage.get("timeout", "5 min"), where,
                                           "nova_manage.timeout"),
        run_on=run_on,
        periodic_within=_scale_seconds(periodic, where, "periodic_within"),
        migration=tuple(dict.fromkeys(migration)),
        availability_zone=_scale_text(section, "availability_zone", where,
                                      "write the zone's name, or leave the key out"),
        aggregate=_scale_text(section, "aggregate", where,
                              "write the aggregate's name, or leave the key out"),
        boot_image=str(boot["image"]), boot_flavor=str(boot["flavor"]),
        boot_network=None if boot.get("network") is None else str(boot["network"]),
        ready_within=_scale_seconds(section.get("ready_within", "10 min"), where,
                                    "ready_within"),
        settle=_scale_seconds(section.get("settle", "2 min"), where, "settle"))


# --- data_plane: the tenants' data plane (the data-plane fixture and probes) ------------

DATA_PLANE_KEYS = {"probe_host", "probe_namespace", "image", "flavor", "external_network",
                   "external_subnet", "floating_ip_range", "tenant_network", "subnets",
                   "ha_router", "tcp_port", "security_group_ingress", "guest_ready_timeout",
                   "guests", "paths", "router"}
DATA_PLANE_BOOT = ("image", "flavor", "external_network")
DATA_PLANE_PATH_KEYS = {"from", "to", "tcp_port", "icmp"}
DATA_PLANE_SUBNETS = ("10.251.1.0/24", "10.251.2.0/24")
DATA_PLANE_GUEST_KEYS = {"driver", "compute_nodes", "namespace_prefix", "netns_dir",
                         "init_pid_file"}
DATA_PLANE_PROTOCOLS = ("icmp", "tcp", "udp")
DATA_PLANE_PATH_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$"
LOCAL_PROBE_HOSTS = ("local", "localhost")
GUEST_ID_DIGITS = 16  # a lab guest's namespace: its prefix, then the server id's first 16
# The cases that need a data plane (suites named "Data Plane ..."): without a data_plane
# section the target declares them not applicable, as the lab declares its volume case.
DATA_PLANE_CASES = "*.data plane*.*"
NO_DATA_PLANE = ("The target has no data_plane section: the tenants' data plane is not "
                 "measured on this cloud (add data_plane: to measure it, see "
                 f"{EXAMPLE}).")


@dataclass(frozen=True)
class DataPlaneRoute:
    """One path of the target's ``data_plane.paths``: existing addresses, nothing booted."""

    name: str
    source: str  # the network namespace the packets leave from ("" = this machine's own)
    address: str
    tcp_port: int | None = None
    icmp: bool = True

    def spec(self) -> str:
        """As the Monitor's `Start Probing Data Plane` reads it: NAMESPACE -> ADDRESS[:PORT]."""
        text = f"{self.source} -> {self.address}" if self.source else self.address
        if self.tcp_port:
            text += f":{self.tcp_port}"
        return text if self.icmp else f"{text} no-icmp"


@dataclass(frozen=True)
class GuestPlacement:
    """Where guests that are network namespaces live (the lab's ``guests``): on which
    compute nodes, under which name, and how this machine enters them (through the node's
    init process: ``/proc/<pid>/root<netns_dir>/<prefix><server id's first 16 hex>``)."""

    compute_nodes: tuple[str, ...]
    init_pid_file: str  # with {node}
    namespace_prefix: str = "guest-"
    netns_dir: str = "/run/netns"

    def namespace_file(self, server_id: str, pid: int) -> str:
        name = self.namespace_prefix + server_id.replace("-", "")[:GUEST_ID_DIGITS]
        return f"/proc/{pid}/root{self.netns_dir.rstrip('/')}/{name}"


@dataclass(frozen=True)
class DataPlaneSettings:
    """The target's ``data_plane:`` section, checked (see variables/example-3-controllers.yaml).

    Either the suites boot their guests (``image``, ``flavor``, ``external_network``) or
    the target lists existing ``paths`` (floating IPs that answer already)."""

    probe_namespace: str = ""  # "" = this machine's own network namespace
    image: str | None = None
    flavor: str | None = None
    external_network: str | None = None
    tenant_network: str | None = None  # None: the suite makes two networks and a router
    subnets: tuple[str, str] = DATA_PLANE_SUBNETS
    ha_router: bool | None = None  # None: the cloud's default (l3_ha)
    tcp_port: int | None = None  # the guests' TCP echo port; None: ICMP only
    ingress: tuple[tuple[str, int | None], ...] = ()  # (protocol, port) let in
    ready_within: float = 300.0  # guest_ready_timeout
    guests: GuestPlacement | None = None  # None: guests are no namespaces on this machine
    paths: tuple[DataPlaneRoute, ...] = ()
    router: str | None = None  # with paths: the router behind them

    @property
    def boots(self) -> bool:
        return self.image is not None


def declare_data_plane_not_applicable(data: dict[str, Any]) -> None:
    """A target without a ``data_plane`` section declares the data-plane cases not
    applicable (the report shows them NOT APPLICABLE with the reason), unless it declares
    them itself. Its ``not_applicable`` is checked first (:func:`check_verdict_sections`)."""
    declare_not_applicable(data, DATA_PLANE_CASES, NO_DATA_PLANE)


def declare_not_applicable(data: dict[str, Any], cases: str, reason: str) -> None:
    """``{test: cases, reason: reason}`` added to the target's ``not_applicable``, unless
    it declares those cases itself (or its list is malformed: checked elsewhere)."""
    entries = data.get("not_applicable")
    entries = [] if entries in (None, "") else entries
    if not isinstance(entries, list) or any(
            isinstance(e, dict) and e.get("test") == cases for e in entries):
        return
    data["not_applicable"] = [*entries, {"test": cases, "reason": reason}]


def _dp_problem(where: str, key: str, problem: str, fix: str) -> TargetError:
    return TargetError(f"{where}: data_plane.{key} {problem}; {fix} (see {EXAMPLE}).")


def _dp_name(section: dict[str, Any], key: str, where: str, fix: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise _dp_problem(where, key, f"must be a name or an id, got {_kind(value)}", fix)
    return str(value).strip()


def _dp_port(value: Any, where: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise _dp_problem(where, key, "must be a TCP port (1-65535)",
                          "write e.g. 7 (the guests' TCP echo service), or leave it out for "
                          "ICMP only")
    return value


def _dp_namespace(value: Any, where: str, key: str) -> str:
    import re

    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not re.match(r"^(/[^\s]+|[A-Za-z0-9][A-Za-z0-9_.-]*)$",
                                                  value):
        raise _dp_problem(where, key, f"must be a network namespace's name or the path of "
                          f"its file, got {_kind(value)}",
                          "write e.g. xt-client (ip netns), /proc/<pid>/ns/net, or '' for "
                          "this machine's own")
    return value


def _dp_paths(section: dict[str, Any], where: str, namespace: str) -> tuple[DataPlaneRoute, ...]:
    import ipaddress
    import re

    paths = section.get("paths")
    if paths in (None, {}):
        return ()
    shape = "write paths: {north-south: {from: <namespace>, to: <floating IP>, tcp_port: 7}}"
    if not isinstance(paths, dict):
        raise _dp_problem(where, "paths", "must be a mapping of path names to {from, to, "
                          "tcp_port}", shape)
    found = []
    for name, spec in paths.items():
        key = f"paths.{name}"
        if not re.match(DATA_PLANE_PATH_NAME, str(name)):
            raise _dp_problem(where, key, "is not a path name", "use letters, digits, '-', "
                              "'_' or '.' (e.g. north-south, east-west)")
        if not isinstance(spec, dict) or set(spec) - DATA_PLANE_PATH_KEYS:
            raise _dp_problem(where, key, "must be a mapping of from, to, tcp_port and icmp",
                              shape)
        try:
            address = str(ipaddress.IPv4Address(str(spec.get("to", ""))))
        except ValueError:
            raise _dp_problem(where, f"{key}.to", "must be an IPv4 address",
                              "write the floating IP the users reach the guest on") from None
        port = _dp_port(spec.get("tcp_port"), where, f"{key}.tcp_port")
        icmp = spec.get("icmp", True)
        if not isinstance(icmp, bool):
            raise _dp_problem(where, f"{key}.icmp", "must be true or false",
                              "write icmp: false to probe TCP only")
        if not icmp and port is None:
            raise _dp_problem(where, f"{key}.icmp", "is false without a tcp_port",
                              "give tcp_port to probe instead, or probe ICMP")
        source = _dp_namespace(spec.get("from", namespace), where, f"{key}.from")
        found.append(DataPlaneRoute(str(name), source, address, port, icmp))
    return tuple(found)


def _dp_subnets(section: dict[str, Any], where: str) -> tuple[str, str]:
    import ipaddress

    value = section.get("subnets")
    if value is None:
        return DATA_PLANE_SUBNETS
    fix = "write two IPv4 ranges that the cloud does not use, e.g. [10.251.1.0/24, " \
          "10.251.2.0/24]"
    if not isinstance(value, list) or len(value) != 2:
        raise _dp_problem(where, "subnets", "must list two ranges (one per tenant network)",
                          fix)
    try:
        first, second = (ipaddress.IPv4Network(str(v), strict=True) for v in value)
    except ValueError:
        raise _dp_problem(where, "subnets", "holds a range that is not an IPv4 network",
                          fix) from None
    if first.overlaps(second):
        raise _dp_problem(where, "subnets", "holds two ranges that overlap", fix)
    if first.num_addresses < 8 or second.num_addresses < 8:
        raise _dp_problem(where, "subnets", "holds a range too small for a router, a DHCP "
                          "port and a guest", "give at least a /29 each")
    return str(first), str(second)


def _dp_ingress(section: dict[str, Any], where: str, tcp_port: int | None
                ) -> tuple[tuple[str, int | None], ...]:
    value = section.get("security_group_ingress")
    if value is None:
        return (("icmp", None),) + ((("tcp", tcp_port),) if tcp_port else ())
    fix = "write a list such as [{protocol: icmp}, {protocol: tcp, port: 7}]"
    if not isinstance(value, list) or not value:
        raise _dp_problem(where, "security_group_ingress", "must list the rules the guests' "
                          "security group lets in", fix)
    found = []
    for index, rule in enumerate(value, 1):
        key = f"security_group_ingress #{index}"
        if not isinstance(rule, dict) or set(rule) - {"protocol", "port"} \
                or rule.get("protocol") not in DATA_PLANE_PROTOCOLS:
            raise _dp_problem(where, key, "must be {protocol: icmp|tcp|udp, port: N}", fix)
        port = rule.get("port")
        if rule["protocol"] == "icmp" and port is not None:
            raise _dp_problem(where, key, "gives a port to ICMP", "leave the port out")
        found.append((rule["protocol"], _dp_port(port, where, f"{key}.port")))
    return tuple(found)


def _dp_guests(section: dict[str, Any], where: str) -> GuestPlacement | None:
    import string

    value = section.get("guests")
    if value is None:
        return None
    fix = ("write {compute_nodes: [cmp1], init_pid_file: /path/{node}/init.pid, "
           "namespace_prefix: guest-, netns_dir: /run/netns} (only where guests are network "
           "namespaces, as the lab's)")
    if not isinstance(value, dict) or set(value) - DATA_PLANE_GUEST_KEYS:
        raise _dp_problem(where, "guests", "must be a mapping of compute_nodes, "
                          "init_pid_file, namespace_prefix, netns_dir and driver", fix)
    nodes = value.get("compute_nodes")
    if not isinstance(nodes, list) or not nodes or not all(
            isinstance(n, str) and n.strip() for n in nodes):
        raise _dp_problem(where, "guests.compute_nodes", "must list node names", fix)
    pid_file = value.get("init_pid_file")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(str(pid_file))
                  if name is not None}
    except ValueError:
        fields = set()
    if not isinstance(pid_file, str) or not pid_file.startswith("/") or fields != {"node"}:
        raise _dp_problem(where, "guests.init_pid_file", "must be an absolute path naming "
                          "the node by {node}", fix)
    prefix = value.get("namespace_prefix", "guest-")
    netns_dir = value.get("netns_dir", "/run/netns")
    if not isinstance(prefix, str) or not isinstance(netns_dir, str) \
            or not netns_dir.startswith("/"):
        raise _dp_problem(where, "guests", "has a namespace_prefix or netns_dir that is not "
                          "a name / an absolute path", fix)
    return GuestPlacement(tuple(nodes), pid_file, prefix, netns_dir)


def _dp_informational(section: dict[str, Any], where: str) -> None:
    """``external_subnet`` and ``floating_ip_range`` describe the external network (the
    lab writes them for its readers); checked for their shape only."""
    import ipaddress

    subnet = section.get("external_subnet")
    if subnet is not None:
        try:
            ipaddress.IPv4Network(str(subnet), strict=False)
        except ValueError:
            raise _dp_problem(where, "external_subnet", "is not an IPv4 network",
                              "write e.g. 203.0.113.0/24") from None
    pool = section.get("floating_ip_range")
    if pool is not None:
        try:
            ok = isinstance(pool, list) and len(pool) == 2 and \
                ipaddress.IPv4Address(str(pool[0])) <= ipaddress.IPv4Address(str(pool[1]))
        except ValueError:
            ok = False
        if not ok:
            raise _dp_problem(where, "floating_ip_range", "must be [first, last] addresses",
                              "write e.g. [203.0.113.10, 203.0.113.250]")


def parse_data_plane(data: dict[str, Any], where: str) -> DataPlaneSettings:
    """The ``data_plane:`` section of a target's data, checked; every problem is a
    :class:`TargetError` naming the key and the fix. Raises when there is no section (a
    caller that can do without one checks ``data.get("data_plane")`` first)."""
    section = data.get("data_plane")
    if not isinstance(section, dict):
        raise TargetError(f"{where} has no 'data_plane' section: the data-plane cases do not "
                          f"apply to it (see {EXAMPLE} to add one).")
    unknown = sorted(str(k) for k in set(section) - DATA_PLANE_KEYS)
    if unknown:
        raise TargetError(f"{where}: data_plane has unknown keys {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(DATA_PLANE_KEYS))} (see {EXAMPLE}).")
    host = section.get("probe_host", "local")
    if host not in LOCAL_PROBE_HOSTS:
        raise _dp_problem(
            where, "probe_host", "names a probe host reached over SSH, which is not "
            "supported yet: the probes run on the machine that runs the suites",
            "write probe_host: local and run the suites on a machine on the users' side of "
            "the cloud (probe_namespace: a network namespace on it), or leave data_plane "
            "out")
    namespace = _dp_namespace(section.get("probe_namespace"), where, "probe_namespace")
    _dp_informational(section, where)
    ready = _dp_seconds(section.get("guest_ready_timeout", "5 min"), where,
                        "guest_ready_timeout")
    paths = _dp_paths(section, where, namespace)
    booting = [k for k in DATA_PLANE_BOOT if section.get(k) is not None]
    if not booting:
        if not paths:
            raise _dp_problem(where, "image", "is missing", "the suites boot two guests from "
                              "image and flavor behind a router on external_network (give "
                              "all three), or list existing floating IPs under paths")
        router = _dp_name(section, "router", where, "write the name or id of the router "
                          "behind the paths, or leave it out")
        return DataPlaneSettings(probe_namespace=namespace, ready_within=ready, paths=paths,
                                 router=router)
    missing = [k for k in DATA_PLANE_BOOT if k not in booting]
    if missing:
        raise _dp_problem(where, missing[0], "is missing",
                          "the suites boot two guests from image and flavor behind a router "
                          "on external_network: give all three (or none, with existing "
                          "floating IPs under paths)")
    if section.get("router") is not None:
        raise _dp_problem(where, "router", "is given with image, flavor and "
                          "external_network", "the suites use the router of their guests: "
                          "leave router out (it names the router behind listed paths only)")
    fix = "write its name or id"
    ha_router = section.get("ha_router")
    if ha_router is not None and not isinstance(ha_router, bool):
        raise _dp_problem(where, "ha_router", "must be true or false",
                          "true asks for an HA router (admin only), false for a legacy one; "
                          "leave it out for the cloud's default")
    tenant = _dp_name(section, "tenant_network", where, "write the name or id of a network "
                      "routed to external_network, or null for the suite's own")
    if tenant is not None and (section.get("subnets") is not None or ha_router is not None):
        raise _dp_problem(where, "tenant_network", "is given with subnets or ha_router",
                          "those describe the networks and router the suite makes: leave "
                          "them out with an existing tenant_network")
    tcp_port = _dp_port(section.get("tcp_port"), where, "tcp_port")
    return DataPlaneSettings(
        probe_namespace=namespace,
        image=_dp_name(section, "image", where, fix),
        flavor=_dp_name(section, "flavor", where, fix),
        external_network=_dp_name(section, "external_network", where, fix),
        tenant_network=tenant, subnets=_dp_subnets(section, where), ha_router=ha_router,
        tcp_port=tcp_port, ingress=_dp_ingress(section, where, tcp_port),
        ready_within=ready, guests=_dp_guests(section, where), paths=paths)


def _dp_seconds(value: Any, where: str, key: str) -> float:
    from robot.utils import timestr_to_secs

    try:
        found = float(timestr_to_secs(str(value)))
    except (ValueError, TypeError):
        found = -1.0
    if found <= 0:
        raise _dp_problem(where, key, f"is not a time above 0 s (got {_kind(value)})",
                          "write e.g. 5 min, or a number of seconds")
    return found

"""Everything that talks to os-faults: its configuration, its cloud object, its errors.

The os-faults configuration is built in memory (never written with credentials): the
target's ``os_faults`` file or mapping, node names as FQDNs so power drivers and humans
agree, the target's SSH account where a node has none, passwords from Secrets or the
environment, service ports from the target (so ``unplug`` works), and the power
managements built lazily from ``bmcs`` through :mod:`ExtremeTesting.power.osf_drivers`.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..target import Target, secret_from_env
from .errors import (
    ActionTimeoutError,
    FaultError,
    OsFaultsConfigError,
    RemoteActionError,
    UnsupportedActionError,
)
from .topology import Topology

LOG = logging.getLogger(__name__)
OWN_KEYS = {"name", "destructive", "description"}  # allowed in a bare os-faults file
POWER_TIMEOUT_MARGIN = 5.0


def read_os_faults(target: Target) -> dict[str, Any]:
    value = target.data.get("os_faults")
    if isinstance(value, dict):
        return copy.deepcopy(value)
    if not value:
        raise OsFaultsConfigError(
            f"Target file {target.path} has no 'os_faults' entry: expected a path to the "
            f"os-faults configuration (or the mapping itself). Add it.")
    path = target.resolve(str(value))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise OsFaultsConfigError(f"Cannot read the os-faults configuration {path} named by "
                                  f"{target.path}: {error.strerror}.") from None
    except yaml.YAMLError as error:
        raise OsFaultsConfigError(f"os-faults configuration {path} is not YAML: {error}") \
            from None
    if not isinstance(data, dict):
        raise OsFaultsConfigError(f"os-faults configuration {path} must be a mapping.")
    return data


def load_target_or_config(path: str | Path | None) -> Target:
    """A target file, or a bare os-faults configuration seen as a minimal target."""
    from ..target import load

    if path:
        candidate = Path(path)
        try:
            data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        if isinstance(data, dict) and "cloud_management" in data:
            return Target(candidate, {
                "name": data.get("name", candidate.stem),
                "destructive": data.get("destructive") is True,
                "os_faults": {k: v for k, v in data.items() if k not in OWN_KEYS}})
    return load(path)


@dataclass
class Credentials:
    """SSH and become passwords, held in memory only."""

    ssh_password: str | None = None
    become_password: str | None = None

    def values(self) -> list[str]:
        return [v for v in (self.ssh_password, self.become_password) if v]

    @classmethod
    def resolve(cls, target: Target, ssh_password: Any = None,
                become_password: Any = None) -> Credentials:
        ssh = target.section("ssh")

        def pick(given: Any, env_key: str, what: str) -> str | None:
            if given is not None:
                return str(getattr(given, "value", given))
            if ssh.get(env_key):
                return secret_from_env(str(ssh[env_key]), what)
            return None

        return cls(pick(ssh_password, "password_env", "SSH password"),
                   pick(become_password, "become_password_env", "Become password"))


def build_config(target: Target, topology_data: dict[str, Any] | None = None,
                 credentials: Credentials | None = None) -> dict[str, Any]:
    """The os-faults configuration for ``target``, in memory."""
    config = {k: v for k, v in read_os_faults(target).items() if k not in OWN_KEYS}
    credentials = credentials or Credentials()
    nodes = (topology_data or target.data).get("nodes") or {}
    by_address = {str((spec or {}).get("address")): name for name, spec in nodes.items()}
    ssh = target.section("ssh")
    discover = config.get("node_discover") or {}
    if discover.get("driver") == "node_list":
        for host in discover.get("args") or []:
            name = by_address.get(str(host.get("ip")))
            if name and not host.get("fqdn"):
                host["fqdn"] = name
            auth = host.setdefault("auth", {})
            if ssh.get("username"):
                auth.setdefault("username", ssh["username"])
            if ssh.get("private_key_file"):
                auth.setdefault("private_key_file", str(target.resolve(ssh["private_key_file"])))
            if credentials.ssh_password:
                auth["password"] = credentials.ssh_password
            if credentials.become_password:
                auth["become_password"] = credentials.become_password
            if not auth:
                del host["auth"]
    services = target.section("services")
    for name, spec in (config.get("services") or {}).items():
        args = spec.setdefault("args", {})
        port = (services.get(name) or {}).get("port")
        if port and "port" not in args and spec.get("driver") in ("process", "system_service"):
            args["port"] = ["tcp", int(port), "ingress"]
    return config


def connect(config: dict[str, Any]):
    """``os_faults.connect`` with its errors made readable."""
    import jsonschema
    import os_faults
    from os_faults.api import error as osf_error

    from .runner import ensure_ansible_found

    ensure_ansible_found()
    try:
        return os_faults.connect(cloud_config=config)
    except jsonschema.ValidationError as error:
        raise OsFaultsConfigError(f"os-faults configuration is invalid: {schema_problem(error)}. "
                                  f"Fix the os-faults file.") from None
    except osf_error.OSFError as error:
        raise OsFaultsConfigError(f"os-faults could not load the configuration: {error}") \
            from None


def schema_problem(error: Any) -> str:
    """A jsonschema error by key path and rule only: its message can echo the value (a
    numeric password appeared in one)."""
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    rule = error.validator_value
    if error.validator in ("additionalProperties", "anyOf", "oneOf"):
        return f"{where} does not match its schema ({error.validator})"
    return f"{where} fails the rule {error.validator}: {rule!r}"


def translate(error: BaseException, what: str) -> FaultError:
    """Any exception os-faults or Ansible raises, as one of the library's errors."""
    import jsonschema
    from os_faults.ansible import executor
    from os_faults.api import error as osf_error

    if isinstance(error, FaultError):
        return error
    if isinstance(error, NotImplementedError):
        return UnsupportedActionError(
            f"Cannot {what}: the os-faults driver does not implement it "
            f"({error or 'no detail'}). Configure it (e.g. a port for unplug, start_cmd "
            f"for start) or use another action.")
    if isinstance(error, json.JSONDecodeError):
        return RemoteActionError(
            f"Cannot {what}: ansible-playbook's output was not JSON ({error}). Expected the "
            f"extreme_json stdout callback (ExtremeTesting/ansible_callbacks).")
    if isinstance(error, jsonschema.ValidationError):
        return OsFaultsConfigError(f"Cannot {what}: invalid os-faults configuration: "
                                   f"{schema_problem(error)}.")
    if isinstance(error, executor.AnsibleExecutionException):
        return RemoteActionError(f"Cannot {what}: {error}")
    if isinstance(error, osf_error.OSFError):
        return FaultError(f"Cannot {what}: os-faults says: {error}")
    if isinstance(error, osf_error.OSFException):  # e.g. the human API's parse errors
        return FaultError(f"Cannot {what}: {error}")
    return FaultError(f"Cannot {what}: {type(error).__name__}: {error}")


class Backend:
    """Actions on concrete nodes (by target name) through an os-faults cloud object."""

    def __init__(self, cloud, topology: Topology, *, timeout: float = 120.0,
                 power_config: Callable[[], list[dict[str, Any]]] | None = None):
        self.cloud = cloud
        self.topology = topology
        self.timeout = timeout
        self._power_config = power_config
        self._power_ready = False

    # -- plumbing
    def _runners(self) -> list:
        found = []
        for attr in ("cloud_executor", "master_node_executor"):
            runner = getattr(self.cloud, attr, None)
            if runner is not None and hasattr(runner, "deadline"):
                found.append(runner)
        return found

    def _start_clock(self) -> None:
        import time

        for runner in self._runners():
            runner.deadline = time.monotonic() + self.timeout

    def _collection(self, names: list[str]):
        everything = self.cloud.get_nodes()
        hosts, missing = [], []
        for info in (self.topology.check_node(n) for n in names):
            match = [h for h in everything.hosts
                     if h.ip == info.address or (h.fqdn and h.fqdn in (info.name, info.fqdn))]
            hosts += [h for h in match if h not in hosts]
            if not match:
                missing.append(info.name)
        if missing:
            raise FaultError(
                f"Node(s) {', '.join(missing)} are in the target but not in the os-faults "
                f"node list (it knows {', '.join(h.ip for h in everything.hosts) or 'none'}). "
                f"Make both describe the same nodes.")
        return type(everything)(cloud_management=self.cloud, hosts=hosts)

    # -- actions
    def service_action(self, action: str, service: str, nodes: list[str],
                       **kwargs: Any) -> None:
        self._start_clock()
        driver = self.cloud.get_service(service)
        getattr(driver, action)(nodes=self._collection(nodes), **kwargs)

    def running(self, service: str, nodes: list[str]) -> dict[str, bool]:
        """Whether ``service``'s processes run on each node (``ps | grep`` of its driver)."""
        from os_faults.ansible import executor

        self._start_clock()
        driver = self.cloud.get_service(service)
        grep = getattr(driver, "grep", None) or (driver.config or {}).get("grep")
        if not grep:
            return {n: False for n in nodes}
        collection = self._collection(nodes)
        cmd = f"bash -c \"ps ax | grep -v grep | grep '{grep}'\""
        results = collection.run_task({"command": cmd}, raise_on_error=False)
        ok = {r.host for r in results if r.status == executor.STATUS_OK}
        unreachable = [self.topology.node_by_address(r.host) for r in results
                       if r.status == executor.STATUS_UNREACHABLE]
        if unreachable:
            raise RemoteActionError(f"Cannot tell whether {service} runs: "
                                    f"{', '.join(unreachable)} unreachable over SSH.")
        return {n: self.topology.check_node(n).address in ok for n in nodes}

    def node_action(self, action: str, nodes: list[str], **kwargs: Any) -> None:
        if action in ("poweroff", "poweron", "reset", "shutdown"):
            self._power(action, nodes)
            return
        self._start_clock()
        getattr(self._collection(nodes), action)(**kwargs)

    def _power(self, action: str, nodes: list[str]) -> None:
        """Each node's power driver called directly (os-faults' PowerManager hides the
        reason of a failure behind 'check logs' and waits without limit)."""
        import os_faults

        if not self._power_ready:
            if self._power_config is not None:
                for conf in self._power_config():
                    self.cloud.add_power_management(os_faults._init_driver(conf))
            self._power_ready = True
        hosts = self._collection(nodes).hosts
        drivers = self.cloud.power_manager.power_drivers
        pairs = []
        for host in hosts:
            driver = next((d for d in drivers if d.supports(host)), None)
            if driver is None:
                raise UnsupportedActionError(
                    f"No power driver for node {self.topology.node_by_address(host.ip)}: "
                    f"expected a BMC for it in the target's bmcs section.")
            pairs.append((driver, host))
        errors: dict[str, str] = {}

        def call(driver, host) -> None:
            try:
                getattr(driver, action)(host=host)
            except Exception as error:  # noqa: BLE001 - reported below with its type
                errors[host.ip] = f"{type(error).__name__}: {error}"

        threads = [threading.Thread(target=call, args=pair, daemon=True,
                                    name=f"power-{action}-{pair[1].ip}") for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.timeout + POWER_TIMEOUT_MARGIN)
        late = [self.topology.node_by_address(h.ip)
                for (_, h), t in zip(pairs, threads) if t.is_alive()]
        if late:
            raise ActionTimeoutError(f"Power {action} of {', '.join(late)} did not finish "
                                     f"within {self.timeout:g} s. Check the BMC answers.")
        if errors:
            raise RemoteActionError(f"Power {action} failed: " + "; ".join(
                f"{self.topology.node_by_address(ip)}: {msg}" for ip, msg in errors.items()))

    def verify(self) -> None:
        self._start_clock()
        self.cloud.verify()

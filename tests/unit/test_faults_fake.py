"""A fake os-faults cloud for the Faults unit tests (no Ansible, no SSH).

Real os-faults ``Host``/``NodeCollection`` objects over a fake ``CloudManagement`` whose
services and power driver change a JSON state file, so a cloud survives the process that
broke it (the recover tests kill a runner with SIGKILL and inspect the state afterwards).
Imported by the other ``test_faults_*`` modules through :func:`load`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import yaml
from os_faults import registry
from os_faults.ansible import executor
from os_faults.api import error as osf_error
from os_faults.api import power_management
from os_faults.api.node_collection import Host, NodeCollection

NODES = {"ctl1": "198.18.0.11", "ctl2": "198.18.0.12", "db": "198.18.0.20"}
SERVICES = {"keystone": ("keystone-uwsgi", ["ctl1", "ctl2"]),
            "mariadb": ("mariadbd", ["db"])}
MODULE_NAME = "extreme_faults_fake"


def load():
    """This module, importable under one name from tests, Robot runs and subprocesses."""
    if MODULE_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, Path(__file__))
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[MODULE_NAME]


class State:
    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.exists():
            procs = {f"{s}@{n}": "running" for s, (_, nodes) in SERVICES.items()
                     for n in nodes}
            self.save({"procs": procs, "unplugged": [], "power": dict.fromkeys(NODES, "on"),
                       "calls": [], "fail": {}})

    def load(self) -> dict:
        return json.loads(self.path.read_text())

    def save(self, data: dict) -> None:
        self.path.write_text(json.dumps(data, sort_keys=True))

    def calls(self) -> list[list]:
        return self.load()["calls"]

    def proc(self, service: str, node: str) -> str:
        return self.load()["procs"][f"{service}@{node}"]

    def fail_next(self, action: str, kind: str) -> None:
        data = self.load()
        data["fail"][action] = kind
        self.save(data)


def _name(ip: str) -> str:
    return next(n for n, a in NODES.items() if a == ip)


FAILURES = {
    "ansible": lambda: executor.AnsibleExecutionException(
        "Execution failed: (host: 198.18.0.11, status: FAILED)"),
    "unreachable": lambda: executor.AnsibleExecutionUnreachable(
        "Execution failed: (host: 198.18.0.11, status: UNREACHABLE)"),
    "json": lambda: json.JSONDecodeError("Expecting value", "", 0),
    "notimpl": lambda: NotImplementedError("port required for ServiceAsProcess.plug"),
    "osf": lambda: osf_error.ServiceError("Service keystone is not found on any nodes"),
    "boom": lambda: RuntimeError("something odd"),
}


class FakeService:
    def __init__(self, cloud: FakeCloud, name: str):
        self.cloud, self.service_name = cloud, name
        self.grep = SERVICES[name][0]
        self.config = {"grep": self.grep}

    def _do(self, action: str, nodes: NodeCollection | None, **kwargs) -> None:
        state = self.cloud.state
        data = state.load()
        ips = nodes.get_ips() if nodes is not None else [NODES[n] for n in SERVICES[
            self.service_name][1]]
        data["calls"].append([action, self.service_name, [_name(i) for i in ips], kwargs])
        failure = data["fail"].pop(action, None)
        if failure:
            state.save(data)
            raise FAILURES[failure]()
        new = {"kill": "stopped", "terminate": "stopped", "start": "running",
               "restart": "running", "freeze": "frozen", "unfreeze": "running"}.get(action)
        for ip in ips:
            key = f"{self.service_name}@{_name(ip)}"
            if new and not (action == "unfreeze" and data["procs"][key] != "frozen"):
                data["procs"][key] = new
            if action == "freeze" and kwargs.get("sec"):
                data["procs"][key] = "frozen"  # the node would resume it later by itself
            if action == "unplug" and key not in data["unplugged"]:
                data["unplugged"].append(key)
            if action == "plug" and key in data["unplugged"]:
                data["unplugged"].remove(key)
        state.save(data)

    def __getattr__(self, action):
        if action in {"restart", "kill", "terminate", "start", "freeze", "unfreeze", "plug",
                      "unplug"}:
            return lambda nodes=None, **kw: self._do(action, nodes, **kw)
        raise AttributeError(action)


class FakePower(power_management.PowerDriver):
    NAME = "fake-power"
    DESCRIPTION = "test power driver"
    CONFIG_SCHEMA: ClassVar[dict] = {"type": "object"}

    def __init__(self, params):
        self.state = State(params["state"])
        self.bmcs = params["bmcs"]  # fqdn -> {address, port, username, password}

    def supports(self, host):
        return host.fqdn in self.bmcs

    def _set(self, host, action, power):
        data = self.state.load()
        data["calls"].append([action, None, [_name(host.ip)],
                              {"bmc_port": self.bmcs[host.fqdn]["port"]}])
        failure = data["fail"].pop(action, None)
        if power:
            data["power"][_name(host.ip)] = power
        self.state.save(data)
        if failure:
            raise FAILURES[failure]()

    def poweroff(self, host):
        self._set(host, "poweroff", "off")

    def poweron(self, host):
        self._set(host, "poweron", "on")

    def reset(self, host):
        self._set(host, "reset", "on")

    def shutdown(self, host):
        self._set(host, "shutdown", "off")


def fake_power_factory(state_path):
    def factory(bmcs):
        registry.get_drivers()["fake-power"] = FakePower
        return [{"driver": "fake-power", "args": {"state": str(state_path), "bmcs": {
            b.host_fqdn: {"address": b.address, "port": b.port, "username": b.username,
                          "password": b.password} for b in bmcs}}}]
    return factory


class FakeCloud:
    NAME = "fake"

    def __init__(self, state_path: Path, config: dict | None = None):
        self.state = State(state_path)
        self.config = config or {}
        hosts = (self.config.get("node_discover") or {}).get("args") or [
            {"ip": ip, "fqdn": n} for n, ip in NODES.items()]
        self.hosts = [Host(ip=h["ip"], fqdn=h.get("fqdn"), auth=h.get("auth")) for h in hosts]
        self.power_manager = power_management.PowerManager()

    def get_nodes(self):
        return NodeCollection(cloud_management=self, hosts=self.hosts)

    def get_service(self, name):
        if name not in SERVICES:
            raise osf_error.ServiceError(f"Universal driver does not support {name!r} service")
        return FakeService(self, name)

    def add_power_management(self, driver):
        self.power_manager.add_driver(driver)

    def verify(self):
        data = self.state.load()
        data["calls"].append(["verify", None, sorted(NODES), {}])
        failure = data["fail"].pop("verify", None)
        self.state.save(data)
        if failure:
            raise FAILURES[failure]()

    def execute_on_cloud(self, hosts, task, raise_on_error=True):
        data = self.state.load()
        records = []
        command = str(task.get("command", ""))
        grep = re.search(r"grep '([^']+)'", command)
        for host in hosts:
            node = _name(host.ip)
            if grep:
                service = next(s for s, (g, _) in SERVICES.items() if g == grep.group(1))
                alive = data["procs"].get(f"{service}@{node}") in ("running", "frozen")
                status = executor.STATUS_OK if alive else executor.STATUS_FAILED
            else:
                data["calls"].append([next(iter(task)), None, [node], task])
                status = executor.STATUS_OK
            records.append(executor.AnsibleExecutionRecord(host.ip, status, "", {}))
        self.state.save(data)
        return records


def write_target(directory: Path, *, destructive: bool = True, bmc_protocol: str = "fake",
                 extra: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    osf = {"cloud_management": {"driver": "universal"},
           "node_discover": {"driver": "node_list",
                             "args": [{"ip": ip} for ip in NODES.values()]},
           "services": {s: {"driver": "process",
                            "args": {"grep": g, "start_cmd": f"service {s} start",
                                     "terminate_cmd": f"service {s} stop",
                                     "restart_cmd": f"service {s} restart"},
                            "hosts": [NODES[n] for n in nodes]}
                        for s, (g, nodes) in SERVICES.items()}}
    (directory / "os-faults.yaml").write_text(yaml.safe_dump(osf))
    target = {
        "name": "fakecloud", "destructive": destructive, "os_faults": "os-faults.yaml",
        "ssh": {"username": "root", "private_key_file": "/nonexistent/id_ed25519", "port": 2222},
        "nodes": {n: {"address": ip, "roles": ["x"]} for n, ip in NODES.items()},
        "services": {s: {"nodes": nodes, "grep": g, "port": 5000 if s == "keystone" else None}
                     for s, (g, nodes) in SERVICES.items()},
        "bmcs": {n: {"protocol": bmc_protocol, "address": f"127.0.10.{ip.rsplit('.', 1)[1]}",
                     "port": 6230, "username": "admin", "password_env": "FAKE_BMC_PASSWORD"}
                 for n, ip in NODES.items()},
    }
    target.update(extra or {})
    path = directory / "target.yaml"
    path.write_text(yaml.safe_dump(target))
    return path


def robot_wrapper(directory: Path, state_path: Path) -> Path:
    """A Robot library file: the real Faults library over the fake cloud."""
    path = directory / "FakeFaults.py"
    path.write_text(textwrap.dedent(f'''
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location({MODULE_NAME!r}, {str(Path(__file__))!r})
        fake = sys.modules.get({MODULE_NAME!r})
        if fake is None:
            fake = importlib.util.module_from_spec(spec)
            sys.modules[{MODULE_NAME!r}] = fake
            spec.loader.exec_module(fake)
        from ExtremeTesting.faults import Faults

        class FakeFaults(Faults):
            def __init__(self, target, **kwargs):
                super().__init__(target, **kwargs)
                self.cloud_factory = lambda config: fake.FakeCloud({str(state_path)!r}, config)
        '''))
    return path

"""The lab nodes' BMCs: IPMI (pyghmi's BMC server) and Redfish (sushy-tools) in one process.

One process serves one node or several, each on its own address with its own machine,
state dir, log and power worker. Run it as::

    EXTREME_LAB_BMC_PASSWORD=... python -m ExtremeTesting.lab.bmc --node ctl1 \\
        --address 127.0.10.11 --ipmi-port 623 --redfish-port 8000 --username admin \\
        --state-dir /var/lib/extreme-lab/bmc/ctl1

and for several nodes give ``--node``, ``--address`` and ``--state-dir`` once per node, in
the same order (the ports are the same on every node's address, as on real BMCs). With
several nodes each node's log lines go to ``bmc.log`` in its state dir, the rest to stderr.

Both protocols drive the same *machine*: an object with ``is_on() -> bool``,
``power_off()``, ``power_on()`` (returns at once; the node boots in the background) and
``reset()``. The power state each protocol reports is asked from the machine every time,
so it is true even when the node was powered off some other way.

Why it is built this way (see shared/FINDINGS.md):
- pyghmi's server answers every RMCP+ open-session request with SHA-1 algorithms, even
  when the client proposed SHA-256 (cipher suite 17); pyghmi's own client then fails.
  :class:`_Sha1OnlySession` refuses anything but SHA-1 so clients fall back to suite 3.
- Power callbacks run inside pyghmi's UDP loop and sushy-tools' request handler, and
  clients resend requests they think were lost: :class:`PowerActions` queues each action
  for one worker thread, returns at once, and drops a repeat of a pending action.
- sushy-tools' fake system driver applies power changes after a random 1-11 s delay;
  :class:`MachineSystemsDriver` applies them at once through the machine.
- One process for several nodes (the lab's memory): sushy-tools keeps its Flask app in a
  module global, so each further node gets its own copy of that module
  (:func:`emulator_module`); pyghmi files server sessions under (client address, port),
  so each node's IPMI socket reports a port that also names its address
  (:class:`_NodePort`), and a client talking to two nodes from one socket keeps its
  sessions apart; a client's new session to one node drops only that node's old session
  (``_handle_ipmi_packet``), not its sessions with the others; and pyghmi's IO thread is
  woken once every node's socket exists (``wake``).
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

LOG = logging.getLogger("extreme.lab.bmc")
PASSWORD_ENV = "EXTREME_LAB_BMC_PASSWORD"
# bcrypt's cost for the Redfish htpasswd file: the lab checks every request, and the
# default cost (12) would add about 0.25 s of CPU to each one.
_HTPASSWD_ROUNDS = 4
ACTIONS = ("off", "on", "reset", "cycle", "soft off")
# The node the current thread works for (its power worker, its Redfish threads): a
# process serving several nodes writes each node's log lines to that node's own log.
_serving = threading.local()


def _node_of(record: logging.LogRecord) -> str | None:
    return getattr(record, "node", None) or getattr(_serving, "node", None)


class Machine(Protocol):
    """What a BMC drives (ExtremeTesting.lab.machine.Machine in the lab). A machine may
    also have ``soft_power_off()`` (or ``shutdown()``) for an orderly shutdown."""

    def is_on(self) -> bool: ...

    def power_off(self) -> None: ...

    def power_on(self) -> None: ...

    def reset(self) -> None: ...


def system_uuid(node: str) -> str:
    """The node's Redfish system UUID: stable across restarts of its BMC."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"extreme-lab/bmc/{node}"))


class PowerActions:
    """Runs power actions on the machine in one worker thread, in the order asked."""

    def __init__(self, machine: Machine, node: str):
        self.machine = machine
        self.node = node
        self.boot_device = "default"
        self._queue: queue.Queue[str] = queue.Queue()
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._work, name=f"power-{node}", daemon=True)
        self._worker.start()

    def is_on(self) -> bool:
        return bool(self.machine.is_on())

    def request(self, action: str) -> None:
        """Queue ``action`` (one of ACTIONS) and return at once."""
        if action not in ACTIONS:
            raise ValueError(f"Unknown power action {action!r}; expected one of {ACTIONS}.")
        with self._lock:
            if self._pending and self._pending[-1] == action:
                LOG.info("%s: %s already pending, repeat ignored", self.node, action,
                         extra={"node": self.node})
                return
            self._pending.append(action)
        self._queue.put(action)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every queued action has run (for tests and clean shutdowns)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending:
                    return True
            time.sleep(0.01)
        return False

    def _work(self) -> None:
        _serving.node = self.node
        while True:
            action = self._queue.get()
            try:
                self._run(action)
            except Exception:  # a failed action must not stop the BMC
                LOG.exception("%s: power %s failed", self.node, action)
            finally:
                with self._lock:
                    self._pending.remove(action)

    def _run(self, action: str) -> None:
        on = self.is_on()
        LOG.info("%s: power %s (machine is %s)", self.node, action, "on" if on else "off")
        if action in ("off", "soft off"):
            if on:
                soft = None
                if action == "soft off":  # an orderly shutdown when the machine has one
                    soft = (getattr(self.machine, "soft_power_off", None)
                            or getattr(self.machine, "shutdown", None))
                (soft or self.machine.power_off)()
        elif action == "on":
            if not on:
                self.machine.power_on()
        elif action == "reset":
            # A reset of a node that is off turns it on, as 'ipmitool power reset' does
            # on most servers.
            (self.machine.reset if on else self.machine.power_on)()
        elif action == "cycle":
            if on:
                self.machine.power_off()
            self.machine.power_on()


# --- IPMI -------------------------------------------------------------------------------

class _NodePort(int):
    """An IPMI server's port that also names the address it is bound to.

    pyghmi files each server session under ``bmc_handlers[client address][bmc.port]`` and
    finds it again with the receiving socket's ``getsockname()[1]``. Nodes served on the
    same port of different addresses would share those entries: a client that talks to
    two of them from one socket (pyghmi's clients share sockets) would have one node's
    session answered by the other's. Two of these are equal only on the same address;
    against a plain int it is the plain port.
    """

    address: str

    def __new__(cls, port: int, address: str):
        value = super().__new__(cls, port)
        value.address = address
        return value

    def __eq__(self, other):
        if isinstance(other, _NodePort):
            return int(self) == int(other) and self.address == other.address
        return int(self) == other

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return int.__hash__(self)


class _NodeSocket(socket.socket):
    """A UDP socket whose ``getsockname()`` port is a :class:`_NodePort`."""

    def getsockname(self):
        host, port, *rest = super().getsockname()
        return (host, _NodePort(port, host), *rest)


@functools.cache
def _ipmi_classes():
    """pyghmi's BMC classes, imported late so the module loads without pyghmi."""
    import pyghmi.ipmi.bmc as pyghmi_bmc
    from pyghmi.ipmi.private import constants, serversession
    from pyghmi.ipmi.private import session as ipmisession

    class _Sha1OnlySession(serversession.ServerSession):
        # Open-session request: tag, role, 2 reserved, session id (4), then three 8-byte
        # proposals (auth, integrity, confidentiality) whose 5th byte is the algorithm.
        def create_open_session_response(self, request):
            request = bytearray(request)
            auth = request[12] if len(request) > 12 else 1
            integrity = request[20] if len(request) > 20 else 1
            if auth == 1 and integrity == 1:
                return super().create_open_session_response(request)
            self.clientsessionid = request[4:8]
            self.managedsessionid = bytes(4)
            # Status 0x11: no cipher suite matches; the client retries with SHA-1.
            return bytearray([request[0], 0x11, 0, 0]) + self.clientsessionid

        def _handle_ipmi_packet(self, data, sockaddr=None, qent=None):
            # An IPMI 1.5 packet with sequence and session 0 (a client's first packet)
            # from an address that has a session here: pyghmi drops every session of
            # that client address, on every node this process serves, and hands the
            # packet to the BMC. Drop only this node's session, then do the same.
            handlers = ipmisession.Session.bmc_handlers
            if (len(data) > 12 and data[4] in (0, 2) and qent is not None
                    and qent[2] in handlers and not any(data[5:13])):
                sessions = handlers.get(sockaddr, {})
                if sessions.get(self.bmc.port) is self:
                    del sessions[self.bmc.port]
                if not sessions:
                    handlers.pop(sockaddr, None)
                server = handlers[qent[2]][0]
                server.pktqueue.append(qent)
                server.process_pktqueue()
                return None
            return super()._handle_ipmi_packet(data, sockaddr, qent)

    class LabBmc(pyghmi_bmc.Bmc):
        def __init__(self, actions: PowerActions, authdata, port, address):
            super().__init__(authdata, port=port, address=address)
            self.actions = actions
            self._key_sessions_by_address()

        def _key_sessions_by_address(self) -> None:
            """Serve from a :class:`_NodeSocket` (a duplicate of the bound socket, in its
            place everywhere pyghmi keeps it) and file sessions under a
            :class:`_NodePort`. The original stays open: pyghmi's IO thread may be
            waiting on it; both are the same socket."""
            old = self.serversocket
            new = _NodeSocket(old.family, old.type, old.proto, fileno=os.dup(old.fileno()))
            handlers = ipmisession.Session.bmc_handlers
            handlers[new] = handlers[old]  # in this order: no packet finds neither
            ipmisession.iosockets[ipmisession.iosockets.index(old)] = new
            del handlers[old]
            self._bound = old
            self.serversocket = new
            self.port = new.getsockname()[1]

        def wake(self) -> None:
            """pyghmi's IO thread selects on the sockets it had when it last looked: one
            datagram too short to be IPMI makes it look again (after a further node's
            socket was added)."""
            with socket.socket(self.serversocket.family, socket.SOCK_DGRAM) as poke:
                host, port = self.serversocket.getsockname()[:2]
                poke.sendto(b"\0", (host, int(port)))

        def sessionless_data(self, data, sockaddr):
            data = bytearray(data)
            # An RMCP+ open-session request (IPMI 2.0, payload type 0x10) starts a session:
            # give it the session class that refuses non-SHA1 suites.
            if (len(data) >= 22 and data[0] == 6 and data[2:4] == b"\xff\x07"
                    and data[4] == 6 and data[5] == constants.payload_types["rmcpplusopenreq"]):
                _Sha1OnlySession(self.authdata, self.kg, sockaddr, self.serversocket,
                                 data[16:], self.uuid, bmc=self)
                return
            super().sessionless_data(data, sockaddr)

        def get_power_state(self):
            return "on" if self.actions.is_on() else "off"

        def power_off(self):
            self.actions.request("off")

        def power_on(self):
            self.actions.request("on")

        def power_reset(self):
            self.actions.request("reset")

        def power_cycle(self):
            self.actions.request("cycle")

        def power_shutdown(self):
            self.actions.request("soft off")

        def get_boot_device(self):
            return self.actions.boot_device

        def set_boot_device(self, bootdevice):
            self.actions.boot_device = bootdevice

        def cold_reset(self):
            return 0xC1  # BMC reset: not supported

        def is_active(self):
            return self.actions.is_on()

    return LabBmc


# --- Redfish ----------------------------------------------------------------------------

_REDFISH_ACTIONS = {
    "On": "on", "ForceOn": "on", "ForceOff": "off", "GracefulShutdown": "soft off",
    "ForceRestart": "reset", "GracefulRestart": "reset", "PowerCycle": "cycle",
}


_REDFISH_TO_IPMI_BOOT = {"Pxe": "network", "Hdd": "hd", "Cd": "optical",
                         "BiosSetup": "setup", "Floppy": "floppy", "Usb": "usb",
                         "None": "default"}
_IPMI_TO_REDFISH_BOOT = {v: k for k, v in _REDFISH_TO_IPMI_BOOT.items()}
_IPMI_TO_REDFISH_BOOT.update({"pxe": "Pxe", "net": "Pxe", "http": "Pxe", "cd": "Cd",
                              "cdrom": "Cd", "dvd": "Cd", "safe": "Hdd"})


def _redfish_driver(actions: PowerActions):
    from sushy_tools import error
    from sushy_tools.emulator.resources.systems import fakedriver

    class MachineSystemsDriver(fakedriver.FakeDriver):
        """sushy-tools' fake system whose power is the machine's, applied at once."""

        def __init__(self):
            super().__init__()
            # The stock driver keeps systems in SQLite, opened on every read (about 0.1 s
            # per GET of a system); the power state lives in the machine, so the rest
            # (boot device) can live in memory.
            self._systems = dict(self._systems.items())

        def get_power_state(self, identity):
            self._get(identity)  # NotFound / alias redirect as usual
            return "On" if actions.is_on() else "Off"

        def set_power_state(self, identity, state):
            self._get(identity)
            if state not in _REDFISH_ACTIONS:
                raise error.NotSupportedError(
                    f"Power state {state} is not supported; use one of "
                    f"{', '.join(_REDFISH_ACTIONS)}.")
            actions.request(_REDFISH_ACTIONS[state])

        # One boot device for both protocols, kept in IPMI's words.
        def get_boot_device(self, identity):
            self._get(identity)
            return _IPMI_TO_REDFISH_BOOT.get(actions.boot_device, "Hdd")

        def set_boot_device(self, identity, boot_source):
            self._get(identity)
            actions.boot_device = _REDFISH_TO_IPMI_BOOT.get(boot_source, "default")

    return MachineSystemsDriver


def write_htpasswd(path: Path, username: str, password: str) -> Path:
    import bcrypt

    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=_HTPASSWD_ROUNDS))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{username}:{digest.decode()}\n")
    return path


def emulator_module(node: str):
    """sushy-tools' emulator module, with a Flask app of its own for ``node``.

    sushy-tools keeps its app, the app's configuration and drivers in module globals (one
    app per process, its views reach it through the global). The first node of a process
    gets sushy-tools' own module; each further node a fresh copy of it, so every node
    keeps its own app, state dir and credentials with sushy-tools' code unchanged.
    """
    import importlib.util

    from sushy_tools.emulator import main as emulator

    if getattr(emulator, "extreme_lab_node", None) in (None, node):
        emulator.extreme_lab_node = node
        return emulator
    name = f"{emulator.__name__}_{node}"
    if getattr(sys.modules.get(name), "extreme_lab_node", None) == node:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, emulator.__file__)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Flask finds the app's templates through it
    spec.loader.exec_module(module)
    module.extreme_lab_node = node
    return module


def redfish_app(actions: PowerActions, node: str, state_dir: Path, username: str,
                password: str):
    """sushy-tools' Flask app configured for this node, its systems backed by the machine."""
    app = emulator_module(node).app
    system = {"uuid": system_uuid(node), "name": node, "power_state": "Off",
              "external_notifier": False, "nics": []}
    app.configure(extra_config={
        "SUSHY_EMULATOR_FAKE_DRIVER": True,
        "SUSHY_EMULATOR_FAKE_SYSTEMS": [system],
        "SUSHY_EMULATOR_STATE_DIR": str(state_dir),
        "SUSHY_EMULATOR_AUTH_FILE": str(write_htpasswd(state_dir / "htpasswd", username,
                                                         password)),
    })
    driver = _redfish_driver(actions).initialize(app.config, app.logger)()
    # The app builds its systems driver once and memoizes it in app._cache under the
    # undecorated property function: seed that cache so the app uses this driver.
    systems_fn = type(app).systems.fget.__wrapped__
    app.__dict__.setdefault("_cache", {}).setdefault(systems_fn, {})[
        (frozenset(), frozenset())] = driver
    return app


# --- The process ------------------------------------------------------------------------

class FakeMachine:
    """A machine kept in a JSON file, for tests and benchmarks: {"on": bool, "calls": []},
    and optionally "off_seconds": how long a power-off takes (a node shutting down)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        if not self.path.exists():
            self._write({"on": True, "calls": []})

    def _read(self) -> dict:
        import json

        return json.loads(self.path.read_text())

    def _write(self, data: dict) -> None:
        import json

        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.path)

    def _call(self, name: str, on: bool | None) -> None:
        with self._lock:
            data = self._read()
            data["calls"].append(name)
            if on is not None:
                data["on"] = on
            self._write(data)

    def is_on(self) -> bool:
        return bool(self._read()["on"])

    def power_off(self) -> None:
        time.sleep(float(self._read().get("off_seconds", 0)))
        self._call("power_off", False)

    def power_on(self) -> None:
        self._call("power_on", True)

    def reset(self) -> None:
        self._call("reset", True)


@dataclass(frozen=True)
class NodeSpec:
    """One node a BMC process serves."""

    node: str
    address: str
    state_dir: Path | None = None
    fake_machine: Path | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ExtremeTesting.lab.bmc",
        description=f"Serve lab nodes' BMCs over IPMI and Redfish, each node on its own "
                    f"address. The password is read from ${PASSWORD_ENV}.")
    parser.add_argument("--node", action="append", required=True,
                        help="a node's name; once per node, each followed by its --address")
    parser.add_argument("--address", action="append", required=True,
                        help="the node's BMC address; one per --node, in the same order")
    parser.add_argument("--ipmi-port", type=int, default=623,
                        help="on every node's address")
    parser.add_argument("--redfish-port", type=int, default=8000,
                        help="on every node's address; 0 disables Redfish")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--state-dir", type=Path, action="append",
                        help="Redfish state and htpasswd (and with several nodes the "
                             "node's bmc.log); none, or one per --node in the same order "
                             "(default: a new temporary folder)")
    parser.add_argument("--plain-http", action="store_true",
                        help="serve Redfish over HTTP (default: HTTPS, self-signed)")
    parser.add_argument("--fake-machine", type=Path, action="append", metavar="STATE_FILE",
                        help="drive a FakeMachine kept in STATE_FILE (tests, benchmarks); "
                             "none, or one per --node in the same order")
    parser.add_argument("--exit-after", type=float, default=0,
                        help="stop after this many seconds (0: run until signalled)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    problem = _pairing_problem(args)
    if problem:
        parser.error(problem)
    return args


def _pairing_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the per-node options, or None."""
    nodes = args.node
    example = "e.g. --node ctl1 --address 127.0.10.11 --node ctl2 --address 127.0.10.12"
    if len(args.address) != len(nodes):
        return (f"{len(nodes)} --node but {len(args.address)} --address: give one "
                f"--address per --node, in the same order ({example}).")
    for option, given in (("--state-dir", args.state_dir),
                          ("--fake-machine", args.fake_machine)):
        if given and len(given) != len(nodes):
            return (f"{len(nodes)} --node but {len(given)} {option}: give one {option} "
                    f"per --node, in the same order, or none.")
    for option, given in (("--node", nodes), ("--address", args.address)):
        twice = sorted({value for value in given if given.count(value) > 1})
        if twice:
            return (f"{option} {', '.join(map(str, twice))} given more than once: each "
                    f"node once, each on its own address.")
    return None


def node_specs(args: argparse.Namespace) -> list[NodeSpec]:
    count = len(args.node)
    return [NodeSpec(node, address, state_dir, fake)
            for node, address, state_dir, fake in zip(
                args.node, args.address, args.state_dir or [None] * count,
                args.fake_machine or [None] * count, strict=True)]


def make_machine(spec: NodeSpec) -> Machine:
    if spec.fake_machine:
        return FakeMachine(spec.fake_machine)
    from ExtremeTesting.lab.machine import Machine as LabMachine

    return LabMachine(spec.node)


def self_signed_context(state_dir: Path, address: str):
    """A TLS context with a self-signed certificate for ``address``, kept in the state dir.

    Real BMCs serve Redfish over HTTPS with certificates nobody signed; the lab does too,
    so clients are exercised with ``verify`` off as they are against real hardware.
    """
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_file, key_file = state_dir / "redfish.crt", state_dir / "redfish.key"
    if not (cert_file.exists() and key_file.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
                .sign(key, hashes.SHA256()))
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def serve_redfish(app, address: str, port: int, ssl_context=None, node: str | None = None):
    """Serve ``app`` with werkzeug in a daemon thread; returns the server. Its threads
    (the accepting one, which makes the TLS handshakes, and one per request) log as
    ``node``'s. Raises OSError when the address and port cannot be bound."""
    import contextlib
    import io

    from werkzeug.serving import make_server

    said = io.StringIO()
    try:
        # werkzeug prints why it could not bind and exits: keep its reason for ours.
        with contextlib.redirect_stderr(said):
            # werkzeug closes the connection after every response: each request is a new
            # TLS handshake (about 20 ms here), unlike most real BMCs.
            server = make_server(address, port, app, threaded=True, ssl_context=ssl_context)
    except SystemExit:
        raise OSError(said.getvalue().strip().splitlines()[0] if said.getvalue().strip()
                      else "cannot bind") from None
    handle = server.process_request_thread

    def process_request_thread(request, client_address):
        _serving.node = node
        handle(request, client_address)

    def serve() -> None:
        _serving.node = node
        server.serve_forever()

    server.process_request_thread = process_request_thread
    threading.Thread(target=serve, name=f"redfish-{node}" if node else "redfish",
                     daemon=True).start()
    return server


def free_port(kind: int = 2) -> int:
    """A free port on 127.0.0.1 (kind 1: TCP, 2: UDP), for tests and benchmarks."""
    import socket

    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(node: str, password: str, state_dir: Path, *, address: str = "127.0.0.1",
          ipmi_port: int | None = None, redfish_port: int | None = None,
          fake_machine: Path | None = None, plain_http: bool = False,
          exit_after: float = 300, ready_timeout: float = 20):
    """Start a BMC process (for tests and benchmarks) and return (process, ipmi, redfish).

    The process stops by itself after ``exit_after`` seconds; callers terminate it sooner.
    """
    return spawn_nodes({node: address}, password, {node: state_dir}, ipmi_port=ipmi_port,
                       redfish_port=redfish_port,
                       fake_machines={node: fake_machine} if fake_machine else None,
                       plain_http=plain_http, exit_after=exit_after,
                       ready_timeout=ready_timeout, log=state_dir / "bmc.log")


def spawn_nodes(nodes: dict[str, str], password: str, state_dirs: dict[str, Path], *,
                ipmi_port: int | None = None, redfish_port: int | None = None,
                fake_machines: dict[str, Path] | None = None, plain_http: bool = False,
                exit_after: float = 300, ready_timeout: float = 20,
                log: Path | None = None):
    """Start one BMC process serving ``nodes`` (name -> address), each on the same ports
    of its own address, once every node is served; returns (process, ipmi, redfish).
    Its stderr goes to ``log`` (default: bmc.log beside the first node's state dir)."""
    import selectors
    import subprocess

    ipmi_port = ipmi_port or free_port(2)
    redfish_port = redfish_port or free_port(1)
    argv = [sys.executable, "-m", "ExtremeTesting.lab.bmc", "--ipmi-port", str(ipmi_port),
            "--redfish-port", str(redfish_port), "--exit-after", str(exit_after)]
    for node, address in nodes.items():
        argv += ["--node", node, "--address", address, "--state-dir", str(state_dirs[node])]
        if fake_machines:
            argv += ["--fake-machine", str(fake_machines[node])]
        state_dirs[node].mkdir(parents=True, exist_ok=True)
    if plain_http:
        argv.append("--plain-http")
    log = log or next(iter(state_dirs.values())).parent / "bmc.log"
    with open(log, "ab") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr,
                                   env={**os.environ, PASSWORD_ENV: password})
    names = ", ".join(nodes)
    said = b""
    deadline = time.monotonic() + ready_timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        # Read the pipe itself: a buffered readline could keep a later line from select().
        while said.count(b"\n") < len(nodes):
            if not selector.select(max(0.0, deadline - time.monotonic())):
                process.kill()
                raise RuntimeError(f"BMC {names} did not start within {ready_timeout} s; "
                                   f"see {log}.")
            chunk = os.read(process.stdout.fileno(), 4096)
            said += chunk
            bad = [line for line in said.decode().split("\n")[:-1]
                   if not line.startswith("ready")]
            if not chunk or bad:
                process.kill()
                raise RuntimeError(f"BMC {names} failed to start: "
                                   f"{(bad or [said.decode()])[0]!r}; see {log}.")
    return process, ipmi_port, redfish_port


def skip_unused_drivers() -> None:
    """Keep openstacksdk out of this process: sushy-tools imports it only for its nova and
    ironic system drivers, and treats it as optional (``openstack = None`` when missing);
    a BMC uses the fake driver. Saves about 16 MB of each BMC's RSS (70 -> 54 MB). Only
    for the BMC's own process: a process that already loaded openstacksdk keeps it."""
    sys.modules.setdefault("openstack", None)  # None: `import openstack` raises ImportError


def configure_logging(specs: list[NodeSpec], level: str) -> None:
    """Each node's lines (its power worker, its Redfish threads, its power requests) to its
    own log: with several nodes ``bmc.log`` in its state dir, else stderr; the rest to
    stderr."""
    names = [spec.node for spec in specs]
    root = logging.getLogger()
    root.setLevel(level)
    rest = logging.StreamHandler(sys.stderr)
    rest.setFormatter(logging.Formatter(
        f"%(asctime)s bmc[{','.join(names)}] %(levelname)s %(message)s"))
    rest.addFilter(lambda record: _node_of(record) not in names)
    root.addHandler(rest)
    for spec in specs:
        if len(specs) > 1 and spec.state_dir:
            spec.state_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(spec.state_dir / "bmc.log")
        else:
            handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s bmc[{spec.node}] %(levelname)s %(message)s"))
        handler.addFilter(lambda record, node=spec.node: _node_of(record) == node)
        root.addHandler(handler)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


class BindError(Exception):
    """A node's BMC could not listen on its address."""


def serve_node(spec: NodeSpec, args: argparse.Namespace, password: str):
    """Start ``spec``'s power worker, IPMI server and Redfish server; returns its IPMI
    server (pyghmi's loop serves every node's). Raises BindError naming the node."""
    actions = PowerActions(make_machine(spec), spec.node)
    try:
        ipmi = _ipmi_classes()(actions, {args.username: password}, args.ipmi_port,
                               spec.address)
    except OSError as error:
        raise BindError(f"{spec.node}: cannot serve IPMI on {spec.address}:{args.ipmi_port}"
                        f"/udp ({error}); stop what holds it or give {spec.node} another "
                        f"address") from None
    if args.redfish_port:
        import tempfile

        state_dir = spec.state_dir or Path(tempfile.mkdtemp(prefix=f"bmc-{spec.node}-"))
        state_dir.mkdir(parents=True, exist_ok=True)
        app = redfish_app(actions, spec.node, state_dir, args.username, password)
        tls = None if args.plain_http else self_signed_context(state_dir, spec.address)
        try:
            serve_redfish(app, spec.address, args.redfish_port, tls, node=spec.node)
        except OSError as error:
            raise BindError(f"{spec.node}: cannot serve Redfish on {spec.address}:"
                            f"{args.redfish_port}/tcp ({error}); stop what holds it or "
                            f"give {spec.node} another address") from None
    scheme = "http" if args.plain_http else "https"
    LOG.info("serving IPMI on %s:%s/udp and Redfish on %s://%s:%s", spec.address,
             args.ipmi_port, scheme, spec.address, args.redfish_port or "-",
             extra={"node": spec.node})
    return ipmi


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = node_specs(args)
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        print(f"bmc: set ${PASSWORD_ENV} to the BMC password (never on the command line).",
              file=sys.stderr)
        return 2
    skip_unused_drivers()
    configure_logging(specs, args.log_level)
    if args.exit_after:
        signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
        signal.setitimer(signal.ITIMER_REAL, args.exit_after)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    try:
        servers = [serve_node(spec, args, password) for spec in specs]
    except BindError as error:
        print(f"bmc: {error}", file=sys.stderr)
        return 1
    for ipmi in servers:
        ipmi.wake()
    scheme = "http" if args.plain_http else "https"
    for spec in specs:
        print(f"ready node={spec.node} ipmi={spec.address}:{args.ipmi_port} "
              f"redfish={scheme}://{spec.address}:{args.redfish_port}", flush=True)
    _ipmi_classes().listen(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

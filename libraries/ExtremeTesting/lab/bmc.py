"""One lab node's BMC: IPMI (pyghmi's BMC server) and Redfish (sushy-tools) in one process.

Run it as::

    EXTREME_LAB_BMC_PASSWORD=... python -m ExtremeTesting.lab.bmc --node ctl1 \\
        --address 127.0.10.11 --ipmi-port 623 --redfish-port 8000 --username admin \\
        --state-dir /var/lib/extreme-lab/bmc/ctl1

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
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Protocol

LOG = logging.getLogger("extreme.lab.bmc")
PASSWORD_ENV = "EXTREME_LAB_BMC_PASSWORD"
# bcrypt's cost for the Redfish htpasswd file: the lab checks every request, and the
# default cost (12) would add about 0.25 s of CPU to each one.
_HTPASSWD_ROUNDS = 4
ACTIONS = ("off", "on", "reset", "cycle", "soft off")


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
                LOG.info("%s: %s already pending, repeat ignored", self.node, action)
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

def _ipmi_classes():
    """pyghmi's BMC classes, imported late so the module loads without pyghmi."""
    import pyghmi.ipmi.bmc as pyghmi_bmc
    from pyghmi.ipmi.private import constants, serversession

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

    class LabBmc(pyghmi_bmc.Bmc):
        def __init__(self, actions: PowerActions, authdata, port, address):
            super().__init__(authdata, port=port, address=address)
            self.actions = actions

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


def redfish_app(actions: PowerActions, node: str, state_dir: Path, username: str,
                password: str):
    """sushy-tools' Flask app configured for this node, its systems backed by the machine."""
    from sushy_tools.emulator import main as emulator

    app = emulator.app
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
    """A machine kept in a JSON file, for tests and benchmarks: {"on": bool, "calls": []}."""

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
        self._call("power_off", False)

    def power_on(self) -> None:
        self._call("power_on", True)

    def reset(self) -> None:
        self._call("reset", True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ExtremeTesting.lab.bmc",
        description=f"Serve one lab node's BMC over IPMI and Redfish. The password is read "
                    f"from ${PASSWORD_ENV}.")
    parser.add_argument("--node", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--ipmi-port", type=int, default=623)
    parser.add_argument("--redfish-port", type=int, default=8000,
                        help="0 disables Redfish")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--state-dir", type=Path,
                        help="Redfish state and htpasswd (default: a new temporary folder)")
    parser.add_argument("--plain-http", action="store_true",
                        help="serve Redfish over HTTP (default: HTTPS, self-signed)")
    parser.add_argument("--fake-machine", type=Path, metavar="STATE_FILE",
                        help="drive a FakeMachine kept in STATE_FILE (tests, benchmarks)")
    parser.add_argument("--exit-after", type=float, default=0,
                        help="stop after this many seconds (0: run until signalled)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def make_machine(args: argparse.Namespace) -> Machine:
    if args.fake_machine:
        return FakeMachine(args.fake_machine)
    from ExtremeTesting.lab.machine import Machine as LabMachine

    return LabMachine(args.node)


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


def serve_redfish(app, address: str, port: int, ssl_context=None):
    """Serve ``app`` with werkzeug in a daemon thread; returns the server."""
    from werkzeug.serving import make_server

    # werkzeug closes the connection after every response: each request is a new TLS
    # handshake (about 20 ms here), unlike most real BMCs.
    server = make_server(address, port, app, threaded=True, ssl_context=ssl_context)
    threading.Thread(target=server.serve_forever, name="redfish", daemon=True).start()
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
    import subprocess

    ipmi_port = ipmi_port or free_port(2)
    redfish_port = redfish_port or free_port(1)
    argv = [sys.executable, "-m", "ExtremeTesting.lab.bmc", "--node", node,
            "--address", address, "--ipmi-port", str(ipmi_port),
            "--redfish-port", str(redfish_port), "--state-dir", str(state_dir),
            "--exit-after", str(exit_after)]
    if fake_machine:
        argv += ["--fake-machine", str(fake_machine)]
    if plain_http:
        argv.append("--plain-http")
    state_dir.mkdir(parents=True, exist_ok=True)
    log = open(state_dir / "bmc.log", "ab")  # noqa: SIM115 - the child owns it
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log,
                               env={**os.environ, PASSWORD_ENV: password})
    log.close()
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(ready_timeout):
            process.kill()
            raise RuntimeError(f"BMC {node} did not start within {ready_timeout} s; see "
                               f"{state_dir / 'bmc.log'}.")
    line = process.stdout.readline().decode()
    if not line.startswith("ready"):
        process.kill()
        raise RuntimeError(f"BMC {node} failed to start: {line!r}; see "
                           f"{state_dir / 'bmc.log'}.")
    return process, ipmi_port, redfish_port


def skip_unused_drivers() -> None:
    """Keep openstacksdk out of this process: sushy-tools imports it only for its nova and
    ironic system drivers, and treats it as optional (``openstack = None`` when missing);
    a BMC uses the fake driver. Saves about 16 MB of each BMC's RSS (70 -> 54 MB). Only
    for the BMC's own process: a process that already loaded openstacksdk keeps it."""
    sys.modules.setdefault("openstack", None)  # None: `import openstack` raises ImportError


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip_unused_drivers()
    logging.basicConfig(level=args.log_level,
                        format=f"%(asctime)s bmc[{args.node}] %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        print(f"bmc: set ${PASSWORD_ENV} to the BMC password (never on the command line).",
              file=sys.stderr)
        return 2
    if args.exit_after:
        signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
        signal.setitimer(signal.ITIMER_REAL, args.exit_after)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    actions = PowerActions(make_machine(args), args.node)
    ipmi = _ipmi_classes()(actions, {args.username: password}, args.ipmi_port, args.address)
    if args.redfish_port:
        import tempfile

        state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix=f"bmc-{args.node}-"))
        state_dir.mkdir(parents=True, exist_ok=True)
        app = redfish_app(actions, args.node, state_dir, args.username, password)
        tls = None if args.plain_http else self_signed_context(state_dir, args.address)
        serve_redfish(app, args.address, args.redfish_port, tls)
    scheme = "http" if args.plain_http else "https"
    LOG.info("serving IPMI on %s:%s/udp and Redfish on %s://%s:%s", args.address,
             args.ipmi_port, scheme, args.address, args.redfish_port or "-")
    print(f"ready node={args.node} ipmi={args.address}:{args.ipmi_port} "
          f"redfish={scheme}://{args.address}:{args.redfish_port}", flush=True)
    ipmi.listen(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

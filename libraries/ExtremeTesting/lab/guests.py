"""Guests without a hypervisor: a network namespace that stands for an instance.

A guest is a network namespace with one interface, ``eth0``, the end of a veth pair whose
other end (the "tap", named as Nova would name it) is plugged into a given bridge; it gets
its address from a real DHCP server with BusyBox's ``udhcpc`` (Debian package ``udhcpc``),
which stays running and renews its lease; the kernel answers ICMP echo; a small TCP echo
service (standard library, this file run as a script) answers on ``echo_port``.

Its processes are bounded: two per guest (the DHCP client and the echo service), each in
its own session with resource limits (open files, address space), recorded in
the guest's state file. They are daemons (forked away, their parent is init), as a
hypervisor's guests are not its management service's children: restarting the process
that made them (nova-compute on a lab node, whose service manager stops a service with
all its descendants) leaves them running. :func:`remove` kills every process inside the
guest's namespace, deletes the namespace (which deletes the veth pair) and the state;
:func:`remove_all` does it for every guest recorded under a state folder (what ``lab
down`` runs inside cmp1).

:class:`Segment` builds what the tests and the bench need around guests: a namespace
holding a bridge, and a DHCP server (``dnsmasq``, Debian package ``dnsmasq-base``) in its
own namespace on that bridge. Names are short (interface names hold 15 characters).

The lab's Nova virt driver (``nova_guest_driver.py``, installed with this file in cmp1's
/usr overlay) calls :func:`create` on spawn and power-on and :func:`remove` on destroy;
``python3 guests.py remove-all`` inside cmp1 is what ``extreme lab down`` runs.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_ROOT = Path("/run/extreme-testing/guests")
NETNS_DIR = Path("/run/netns")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
COMMAND_TIMEOUT = 10.0
ECHO_PORT = 7
# Each guest process: at most this many open files and this much memory.
LIMITS = {resource.RLIMIT_NOFILE: 256, resource.RLIMIT_AS: 512 * 2**20}
UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc's event script for one guest: configure eth0 from the lease, note the address.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    rm -f "$GUEST_LEASE"
    ;;
  bound|renew)
    if [ -n "$GUEST_OLD" ] && [ "$GUEST_OLD" != "$ip" ]; then
      ip -4 addr flush dev "$interface"
    fi
    # Neutron's VXLAN networks are 1450 bytes: the lease says so (option 26).
    if [ -n "$mtu" ]; then ip link set dev "$interface" mtu "$mtu"; fi
    ip addr replace "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    echo "$ip/${mask:-24} $router" > "$GUEST_LEASE.new" && mv "$GUEST_LEASE.new" "$GUEST_LEASE"
    ;;
esac
exit 0
"""


class GuestError(RuntimeError):
    """A guest could not be made or removed."""


@dataclass
class Guest:
    """One guest as recorded in its state file."""

    name: str  # the network namespace's name
    bridge: str
    tap: str  # the host side of the veth pair, in the bridge's namespace
    mac: str
    bridge_namespace: str = ""  # "" = this machine's own namespace
    echo_port: int = ECHO_PORT
    address: str = ""  # from DHCP: "10.0.0.5/24"
    router: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    state: str = ""  # the state folder of this guest
    instance: str = ""  # what it stands for (the Nova instance's uuid on the lab)
    powered: bool = True  # False after power(name, False): its interface is down

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]


# ------------------------------------------------------------------ commands
def run(argv: list[str], timeout: float = COMMAND_TIMEOUT, check: bool = True) -> str:
    """Runs a command with a timeout; its stdout. Raises :class:`GuestError` on failure."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as error:
        raise GuestError(f"{argv[0]} is not installed: {error}") from None
    except subprocess.TimeoutExpired:
        raise GuestError(f"{' '.join(argv)} did not finish within {timeout:g} s") from None
    if check and done.returncode != 0:
        raise GuestError(f"{' '.join(argv)} failed ({done.returncode}): "
                         f"{(done.stderr or done.stdout).strip()[:400]}")
    return done.stdout


def ip(namespace: str, *args: str, check: bool = True) -> str:
    return run(["ip", *(["-n", namespace] if namespace else []), *args], check=check)


def namespace_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def missing_tools() -> list[str]:
    """The Debian packages a guest (and :class:`Segment`) needs that are not installed."""
    wanted = {"ip": "iproute2", "udhcpc": "udhcpc", "dnsmasq": "dnsmasq-base",
              "setsid": "util-linux"}
    return sorted(package for tool, package in wanted.items() if shutil.which(tool) is None)


def _limited() -> None:  # runs in the child before exec
    os.setsid()
    for limit, value in LIMITS.items():
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def spawn(namespace: str, argv: list[str], log: Path, env: dict | None = None,
          timeout: float = COMMAND_TIMEOUT) -> int:
    """Starts a bounded daemon inside ``namespace`` (output to ``log``); its PID.

    ``setsid --fork`` forks it away from this process (its parent becomes init), so
    whoever made it can stop or restart without taking it along."""
    with open(log, "ab") as out:
        launcher = subprocess.Popen(
            ["setsid", "--fork", "ip", "netns", "exec", namespace, *argv],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_limited, env={**os.environ, **(env or {})}, close_fds=True)
    try:
        launcher.wait(timeout)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait(2)
        raise GuestError(f"Could not start {argv[0]} in {namespace} within {timeout:g} s.") \
            from None
    if launcher.returncode != 0:
        raise GuestError(f"Could not start {argv[0]} in {namespace} "
                         f"({launcher.returncode}); see {log}.")
    return _find_daemon(namespace, argv, log, time.monotonic() + timeout)


def _find_daemon(namespace: str, argv: list[str], log: Path, deadline: float) -> int:
    """The PID of the process running ``argv`` inside ``namespace`` (it may still be
    ``ip netns exec`` for a moment, then it is the command itself: same PID)."""
    wanted = " ".join(argv)
    while True:
        for pid in processes(namespace):
            if wanted in _cmdline(pid):
                return pid
        if time.monotonic() > deadline:
            raise GuestError(f"{argv[0]} did not stay running in {namespace}; see {log}.")
        time.sleep(0.02)  # polling: the daemon is not our child


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


# ------------------------------------------------------------------ guests
def _check(name: str, bridge: str, tap: str, mac: str, bridge_namespace: str,
           state_root: Path) -> None:
    problems = []
    if not NAME.match(name):
        problems.append(f"guest name {name!r}: use 1-31 lower-case letters, digits, '-'")
    for label, value in (("bridge", bridge), ("tap", tap)):
        if not IFNAME.match(value):
            problems.append(f"{label} {value!r}: an interface name of 1-15 letters/digits")
    if mac and not MAC.match(mac):
        problems.append(f"mac {mac!r}: write it as aa:bb:cc:dd:ee:ff (lower case)")
    if bridge_namespace and not namespace_exists(bridge_namespace):
        problems.append(f"bridge namespace {bridge_namespace!r} does not exist")
    if problems:
        raise GuestError("Cannot make the guest: " + "; ".join(problems) + ".")
    if namespace_exists(name) or (state_root / name).exists():
        raise GuestError(f"A guest or namespace named {name!r} exists already: remove it "
                         f"first (remove({name!r})) or pick another name.")
    if not bridge_namespace and not Path(f"/sys/class/net/{bridge}/bridge").exists():
        raise GuestError(f"No bridge {bridge!r} on this machine.")
    if bridge_namespace and ip(bridge_namespace, "link", "show", bridge, check=False) == "":
        raise GuestError(f"No bridge {bridge!r} in namespace {bridge_namespace!r}.")
    if missing_tools():
        raise GuestError(f"Install the Debian packages {', '.join(missing_tools())} first "
                         f"(apt-get install --no-install-recommends ...).")


def create(name: str, bridge: str, tap: str = "", mac: str = "", bridge_namespace: str = "",
           echo_port: int = ECHO_PORT, dhcp_timeout: float = 20.0,
           state_root: Path | str = STATE_ROOT, wait_lease: bool = True,
           instance: str = "") -> Guest:
    """Makes guest ``name`` plugged into ``bridge``; returns it once DHCP gave it an address.

    ``tap`` names the host side (default ``tap`` + the name's end); ``mac`` the guest's
    address (default: a locally administered one from the name; give Neutron's port MAC so
    Neutron's DHCP serves it). Fails, touching nothing, on bad names, an existing guest or a
    missing bridge; fails, removing what it made, when no lease came within
    ``dhcp_timeout`` seconds. With ``wait_lease=False`` it returns as soon as the guest is
    plugged and its processes run, as a booted machine whose DHCP client keeps asking
    (its lease then shows in :func:`load` once it came); ``instance`` is recorded with it.
    """
    state_root = Path(state_root)
    tap = tap or ("tap" + name.replace("-", "")[-11:])
    mac = (mac or _mac_of(name)).lower()
    _check(name, bridge, tap, mac, bridge_namespace, state_root)
    folder = state_root / name
    folder.mkdir(parents=True)
    guest = Guest(name, bridge, tap, mac, bridge_namespace, echo_port, state=str(folder),
                  instance=instance)
    _save(guest)
    try:
        run(["ip", "netns", "add", name])
        ip(bridge_namespace, "link", "add", tap, "type", "veth", "peer", "name", "eth0",
           "netns", name)
        ip(bridge_namespace, "link", "set", tap, "master", bridge, "up")
        ip(name, "link", "set", "lo", "up")
        ip(name, "link", "set", "eth0", "address", mac, "up")
        script = folder / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        lease = folder / "lease"
        guest.pids["dhcp"] = spawn(
            name, ["udhcpc", "-f", "-i", "eth0", "-s", str(script), "-t", "20", "-T", "1",
                   "-A", "1", "-R"], folder / "udhcpc.log", {"GUEST_LEASE": str(lease)})
        guest.pids["echo"] = spawn(
            name, [sys.executable, "-I", "-S", os.path.abspath(__file__), "echo",
                   str(echo_port)], folder / "echo.log")
        _save(guest)
        deadline = time.monotonic() + dhcp_timeout
        if not wait_lease:
            _wait_listening(guest, deadline)
            return guest
        while not lease.exists():
            for label, pid in (("udhcpc", guest.pids["dhcp"]),
                               ("echo service", guest.pids["echo"])):
                if not alive(pid):
                    raise GuestError(f"The {label} of guest {name} exited; see {folder}.")
            if time.monotonic() > deadline:
                raise GuestError(f"Guest {name} got no DHCP lease within {dhcp_timeout:g} s "
                                 f"on bridge {bridge} (udhcpc log: {folder / 'udhcpc.log'}).")
            time.sleep(0.05)  # polling the lease file udhcpc's script writes
        _read_lease(guest)
        _save(guest)
        _wait_listening(guest, deadline)
        return guest
    except BaseException:
        remove(name, state_root)
        raise


def _wait_listening(guest: Guest, deadline: float) -> None:
    while f":{guest.echo_port} " not in _listening(guest.name):
        if time.monotonic() > deadline:
            raise GuestError(f"The echo service of guest {guest.name} is not listening on "
                             f"port {guest.echo_port}; see {guest.state}/echo.log.")
        time.sleep(0.05)  # polling the listening sockets


def _listening(namespace: str) -> str:
    return run(["ip", "netns", "exec", namespace, "ss", "-Hltn"], check=False)


def _read_lease(guest: Guest) -> bool:
    """The guest's address and router from the lease its DHCP client wrote; False when
    there is none (yet)."""
    try:
        text = (Path(guest.state) / "lease").read_text().strip()
    except OSError:
        return False
    address, _, router = text.partition(" ")
    guest.address, guest.router = address, router.split(" ")[0] if router else ""
    return bool(address)


def healthy(name: str, state_root: Path | str = STATE_ROOT) -> bool:
    """Guest ``name`` exists with its namespace and both its processes running."""
    try:
        guest = load(name, state_root)
    except GuestError:
        return False
    return namespace_exists(name) and all(
        alive(pid) and pid in processes(name) for pid in guest.pids.values()) and \
        len(guest.pids) == 2


def _mac_of(name: str) -> str:
    import hashlib

    digest = hashlib.sha256(name.encode()).digest()
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])  # Nova/Neutron's prefix


def _save(guest: Guest) -> None:
    path = Path(guest.state) / "guest.json"
    path.write_text(json.dumps(asdict(guest), indent=1))


def load(name: str, state_root: Path | str = STATE_ROOT) -> Guest:
    path = Path(state_root) / name / "guest.json"
    try:
        guest = Guest(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise GuestError(f"No guest {name!r} recorded under {state_root}.") from None
    if not guest.address:
        _read_lease(guest)  # came after create returned (wait_lease=False)
    return guest


def guests(state_root: Path | str = STATE_ROOT) -> list[str]:
    root = Path(state_root)
    return sorted(p.name for p in root.iterdir() if (p / "guest.json").exists()) \
        if root.is_dir() else []


def processes(namespace: str) -> list[int]:
    """Every process inside a network namespace (``ip netns pids``)."""
    if not namespace_exists(namespace):
        return []
    found = [int(p) for p in run(["ip", "netns", "pids", namespace], check=False).split()]
    return [p for p in found if p != os.getpid()]  # never this process (setns threads)


def stop_processes(namespace: str, grace: float = 2.0) -> list[int]:
    """SIGTERM every process in the namespace, SIGKILL those left after ``grace``; the
    pids still alive afterwards (should be none)."""
    for pid in processes(namespace):
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while processes(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling: daemons are not our children, they cannot be waited for
    for pid in processes(namespace):
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while processes(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes(namespace)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def remove(name: str, state_root: Path | str = STATE_ROOT) -> None:
    """Removes guest ``name`` completely: its processes, namespace, veth pair and state.
    Removing a guest that is (partly) gone already is fine."""
    state_root = Path(state_root)
    try:
        guest = load(name, state_root)
    except GuestError:
        guest = None
    left = stop_processes(name)
    if left:
        raise GuestError(f"Processes {left} of guest {name} survived SIGKILL.")
    if namespace_exists(name):
        run(["ip", "netns", "del", name])
    if guest is not None and guest.tap:
        # Deleting the namespace deletes eth0 and so its peer; a half-made pair may remain.
        ip(guest.bridge_namespace, "link", "del", guest.tap, check=False) \
            if not guest.bridge_namespace or namespace_exists(guest.bridge_namespace) else None
    shutil.rmtree(state_root / name, ignore_errors=True)


def power(name: str, on: bool, state_root: Path | str = STATE_ROOT) -> None:
    """Powers guest ``name`` off (its interface down: nothing answers, its processes and
    lease stay, as a stopped instance keeps its port) or on again."""
    guest = load(name, state_root)
    if not namespace_exists(name):
        raise GuestError(f"Guest {name} has no namespace any more: remove it and make it again.")
    ip(name, "link", "set", "eth0", "up" if on else "down")
    guest.powered = on
    _save(guest)
    if on and guest.address:
        # The kernel drops the address's routes with the link; put the default back.
        ip(name, "addr", "replace", guest.address, "dev", "eth0")
        if guest.router:
            ip(name, "route", "replace", "default", "via", guest.router, "dev", "eth0")


def remove_all(state_root: Path | str = STATE_ROOT) -> list[str]:
    """Removes every guest recorded under ``state_root``; returns their names."""
    found = guests(state_root)
    problems = []
    for name in found:
        try:
            remove(name, state_root)
        except GuestError as error:  # the others are still removed
            problems.append(str(error))
    if problems:
        raise GuestError(" ".join(problems))
    return found


# ------------------------------------------------------------------ a segment for tests
class Segment:
    """A bridge inside its own namespace and a DHCP server (dnsmasq) on it.

    ``prefix`` names everything (``<prefix>sw`` the switch namespace, ``<prefix>dh`` the
    DHCP server's); ``network`` is an IPv4 /24 or larger: the server takes its first
    address, leases come from the upper half. Use as a context manager; :meth:`remove`
    undoes everything, guests on it included (give them ``state_root``).
    """

    def __init__(self, prefix: str, network: str = "10.213.0.0/24",
                 state_root: Path | str = STATE_ROOT, bridge: str = "br0") -> None:
        if not NAME.match(prefix + "sw") or len(prefix) > 12:
            raise GuestError(f"Segment prefix {prefix!r}: up to 12 lower-case letters, "
                             f"digits or '-'.")
        self.prefix = prefix
        self.network = ipaddress.ip_network(network)
        self.switch = prefix + "sw"
        self.dhcp_namespace = prefix + "dh"
        self.bridge = bridge
        self.state_root = Path(state_root)
        self.server = str(self.network.network_address + 1)
        self._dnsmasq: int | None = None

    def __enter__(self) -> Segment:
        self.create()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def create(self) -> None:
        if missing_tools():
            raise GuestError(f"Install the Debian packages {', '.join(missing_tools())}.")
        for namespace in (self.switch, self.dhcp_namespace):
            if namespace_exists(namespace):
                raise GuestError(f"Namespace {namespace} exists already: remove it first.")
        folder = self.state_root / (self.prefix + "segment")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            run(["ip", "netns", "add", self.switch])
            ip(self.switch, "link", "add", self.bridge, "type", "bridge", "forward_delay", "0")
            ip(self.switch, "link", "set", self.bridge, "up")
            run(["ip", "netns", "add", self.dhcp_namespace])
            ip(self.switch, "link", "add", "dhcp0", "type", "veth", "peer", "name", "eth0",
               "netns", self.dhcp_namespace)
            ip(self.switch, "link", "set", "dhcp0", "master", self.bridge, "up")
            ip(self.dhcp_namespace, "link", "set", "lo", "up")
            ip(self.dhcp_namespace, "addr", "add",
               f"{self.server}/{self.network.prefixlen}", "dev", "eth0")
            ip(self.dhcp_namespace, "link", "set", "eth0", "up")
            hosts = list(self.network.hosts())
            low, high = hosts[len(hosts) // 2], hosts[-1]
            self._dnsmasq = spawn(self.dhcp_namespace, [
                "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                "--user=root", "--interface=eth0", "--bind-interfaces", "--no-resolv",
                "--no-hosts", "--dhcp-authoritative", "--no-ping", "--pid-file=",
                f"--dhcp-leasefile={folder / 'leases'}",
                f"--dhcp-range={low},{high},{self.network.netmask},2m",
                f"--dhcp-option=option:router,{self.server}"], folder / "dnsmasq.log")
        except BaseException:
            self.remove()
            raise

    def guest(self, name: str, **options) -> Guest:
        return create(name, self.bridge, bridge_namespace=self.switch,
                      state_root=self.state_root, **options)

    def remove(self) -> None:
        for name in guests(self.state_root):
            guest = load(name, self.state_root)
            if guest.bridge_namespace == self.switch:
                remove(name, self.state_root)
        for namespace in (self.dhcp_namespace, self.switch):
            stop_processes(namespace)
            if namespace_exists(namespace):
                run(["ip", "netns", "del", namespace], check=False)
        shutil.rmtree(self.state_root / (self.prefix + "segment"), ignore_errors=True)


# ------------------------------------------------------------------ the echo service
# The echo service's priority. The lab's guests share this machine's two cores with the
# whole cloud: at nice 0, one echo was answered later than the probe's 0.15 s while a
# Neutron agent started (main job of 2026-12-07: one TCP sample of one path, ICMP on the
# same path lost nothing), a wait for the CPU that a VM's own vCPU would not have.
ECHO_NICE = -10


def echo_service(port: int, max_clients: int = 64, idle: float = 10.0,
                 address: str = "0.0.0.0") -> None:
    """Echoes what each TCP client sends, on ``port`` of ``address`` (default every address
    of the namespace).
    Bounded: at most ``max_clients`` connections (more are closed at once), each closed
    after ``idle`` seconds of silence. Runs until SIGTERM."""
    import selectors
    import socket

    try:  # a guest stands for a VM with a vCPU of its own, not a share of the cloud's two
        os.nice(ECHO_NICE)
    except OSError:
        pass
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(128)
    server.setblocking(False)
    chosen = selectors.DefaultSelector()
    chosen.register(server, selectors.EVENT_READ)
    clients: dict[socket.socket, float] = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def close(client: socket.socket) -> None:
        chosen.unregister(client)
        clients.pop(client, None)
        client.close()

    while True:
        for key, _ in chosen.select(timeout=1.0):
            sock = key.fileobj
            if sock is server:
                try:
                    client, _ = server.accept()
                except OSError:
                    continue
                if len(clients) >= max_clients:
                    client.close()
                    continue
                client.setblocking(False)
                clients[client] = time.monotonic()
                chosen.register(client, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                close(sock)
                continue
            try:
                sock.sendall(data)
            except OSError:
                close(sock)
                continue
            clients[sock] = time.monotonic()
        now = time.monotonic()
        for client, seen in list(clients.items()):
            if now - seen > idle:
                close(client)


def main(argv: list[str]) -> int:
    """``guests.py echo PORT [ADDRESS]`` (a guest's echo service, on every address of its
    namespace unless ADDRESS is given) | ``guests.py remove-all [ROOT]``
    (every guest recorded under ROOT, default STATE_ROOT: what ``lab down`` runs in cmp1)
    | ``guests.py list [ROOT]``."""
    if len(argv) in (2, 3) and argv[0] == "echo":
        echo_service(int(argv[1]), address=argv[2] if len(argv) == 3 else "0.0.0.0")
        return 0
    if len(argv) in (1, 2) and argv[0] in ("remove-all", "list"):
        root = Path(argv[1]) if len(argv) == 2 else STATE_ROOT
        if argv[0] == "list":
            for name in guests(root):
                guest = load(name, root)
                print(f"{name} {guest.instance or '-'} {guest.address or 'no lease'} "
                      f"{'up' if healthy(name, root) else 'broken'}")
            return 0
        try:
            removed = remove_all(root)
        except GuestError as error:
            print(f"guests: {error}", file=sys.stderr)
            return 1
        print(f"removed {len(removed)} guest(s)" + (f": {' '.join(removed)}" if removed else ""))
        return 0
    print("usage: guests.py echo PORT [ADDRESS] | remove-all [STATE_ROOT] | list [STATE_ROOT]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

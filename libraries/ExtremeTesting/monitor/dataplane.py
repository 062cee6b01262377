"""Data-plane probes: ICMP echo and TCP connect/echo along a tenant's path, on the
monitor's timeline and judged by the monitor's analysis.

A *path* is a name the operator uses (``north-south``, ``east-west``), the network
namespace the packets leave from (``""``: this machine's own) and the address they go to;
it gets an ICMP echo probe and, with a port, a TCP probe (connect, send 16 bytes, expect
them back). Each probe is an ordinary :class:`~.probes.Probe`: the monitor's engine runs it
on its slot grid (default 20 samples per second), every sample is one echo request or one
connection, and the outage windows, phases and recovery come from :mod:`.analysis`.

Sockets are opened inside the namespace: a short-lived thread enters it with ``setns(2)``
(through ctypes: Python 3.11 has no ``os.setns``), creates the socket and ends; a socket
keeps the namespace it was created in, so the probe's worker thread uses it from here.

Uncertainty of an outage edge (stated in each result as ``uncertainty_rule``): half the
gap between the samples around it, as for the API probes, plus the *timing slack*: how
long after a sample was sent its packets may still cross the path and decide its fate.
For ICMP that is the longest round trip seen (one packet each way, never resent). For TCP
it is the same while the timeout is shorter than the kernel's smallest retransmission
timeout (200 ms), so that no lost segment can be resent inside one sample; with a longer
timeout a retransmission can rescue a sample sent inside the outage, and the slack is the
whole timeout. Packets lost = failed samples (each sample is one request that got no
answer in time); slots the engine could not serve are counted apart (``missed_slots``).
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import random
import re
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from .analysis import FaultWindow, Outage, fault_window, outages, partial, summarize, union
from .probes import Outcome, Probe
from .session import MonitorSession

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
MIN_RTO = 0.2  # Linux's smallest TCP retransmission timeout (TCP_RTO_MIN), seconds
DEFAULT_RATE = 20.0
DEFAULT_ICMP_TIMEOUT = 0.5
DEFAULT_TCP_TIMEOUT = 0.15  # below MIN_RTO: no retransmission inside one sample
PATH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$")
UNCERTAINTY_RULE = ("each edge: half the gap between the samples around it plus the timing "
                    "slack (ICMP, and TCP with a timeout under 0.2 s: the longest round trip "
                    "of the probe's OK samples; TCP with a longer timeout: the timeout, as a "
                    "retransmission may rescue a sample sent inside the outage)")

_libc = ctypes.CDLL(None, use_errno=True)


class DataPlaneError(ValueError):
    """A data-plane path or probe was described wrongly."""


# ------------------------------------------------------------------ namespaces
def namespace_file(namespace: str) -> str:
    """The file of a named (``ip netns``) namespace, or ``namespace`` itself when a path."""
    return namespace if namespace.startswith("/") else str(NETNS_DIR / namespace)


def check_namespace(namespace: str) -> None:
    if namespace and not os.path.exists(namespace_file(namespace)):
        raise DataPlaneError(f"No network namespace {namespace!r} "
                             f"({namespace_file(namespace)} does not exist): create it "
                             f"first, or name the path's source correctly.")


def open_socket(namespace: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket created inside network namespace ``namespace`` ("" = this one's)."""
    if not namespace:
        return socket.socket(family, kind, proto)
    with _MAKERS_LOCK:
        maker = _MAKERS.get(namespace)
        if maker is None:
            maker = _MAKERS[namespace] = _SocketMaker(namespace)
        request = maker.ask(family, kind, proto)
    return request.result()


# A thread per namespace makes its sockets: a thread that entered a namespace stays in it,
# so it lives there only. A thread per socket (started, setns(2), joined) cost 0.24 ms of
# CPU a socket on an AMD EPYC 2-core machine, this 0.05-0.09 ms (bench/monitor_overhead.py):
# about 1.5 % of a core less at the 80 sockets a second of two data-plane paths.
# The thread ends by itself once no socket was asked of it for MAKER_IDLE seconds.
MAKER_IDLE = 2.0
MAKER_WAIT = 5.0  # s a caller waits for its socket: the thread is stuck past that
_MAKERS: dict[str, _SocketMaker] = {}
_MAKERS_LOCK = threading.Lock()


class _Request:
    def __init__(self, family: int, kind: int, proto: int) -> None:
        self.args = (family, kind, proto)
        self.done = threading.Event()
        self.found: socket.socket | BaseException | None = None

    def result(self) -> socket.socket:
        if not self.done.wait(MAKER_WAIT):
            raise OSError(f"no socket within {MAKER_WAIT:g} s")
        if isinstance(self.found, BaseException):
            raise self.found
        assert self.found is not None
        return self.found


class _SocketMaker:
    """The thread that entered ``namespace`` and makes every socket asked of it there."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._asked: deque[_Request] = deque()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"netns-{namespace}",
                                        daemon=True)
        self._thread.start()

    def ask(self, family: int, kind: int, proto: int) -> _Request:
        """Called under _MAKERS_LOCK, so the thread cannot end between the two lines."""
        request = _Request(family, kind, proto)
        self._asked.append(request)
        self._wake.set()
        return request

    def _run(self) -> None:
        entered = self._enter()
        while True:
            self._wake.wait(MAKER_IDLE)
            with _MAKERS_LOCK:
                self._wake.clear()
                asked, self._asked = list(self._asked), deque()
                ending = not asked or entered is not None
                if ending and _MAKERS.get(self.namespace) is self:
                    del _MAKERS[self.namespace]  # the next socket starts a new thread
            for request in asked:
                try:
                    if entered is not None:
                        raise entered
                    request.found = socket.socket(*request.args)
                except BaseException as error:  # noqa: BLE001 - handed to the caller
                    request.found = error
                request.done.set()
            if ending:
                return

    def _enter(self) -> OSError | None:
        """Moves this thread into the namespace; the error when it could not."""
        try:
            fd = os.open(namespace_file(self.namespace), os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            return error
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                error = ctypes.get_errno()
                return OSError(error, f"setns into {self.namespace}: {os.strerror(error)}")
        finally:
            os.close(fd)
        return None


# ------------------------------------------------------------------ probes
def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


@dataclass
class IcmpProbe(Probe):
    """One ICMP echo request per sample from ``namespace`` to ``address``; OK when the
    matching echo reply (identifier, sequence, source) comes back within the timeout."""

    # Its deadline runs from the packet's send (after the socket is made in the
    # namespace): the time this process took to get there is not the network's.
    times_itself: ClassVar[bool] = True

    kind: str = "icmp"
    rate: float = DEFAULT_RATE
    timeout: float = DEFAULT_ICMP_TIMEOUT
    address: str = ""
    namespace: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        self._ident = random.randrange(1, 0xFFFF)
        self._seq = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self._seq = (self._seq + 1) & 0xFFFF
            return self._seq

    def check(self) -> Outcome:
        seq = self._next()
        header = struct.pack("!BBHHH", 8, 0, 0, self._ident, seq)
        payload = struct.pack("!d", time.monotonic()) + b"xt-dataplane"
        packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), self._ident,
                             seq) + payload
        try:
            sock = open_socket(self.namespace, socket.AF_INET, socket.SOCK_RAW,
                               socket.IPPROTO_ICMP)
        except OSError as error:
            return Outcome(False, None, f"socket: {error}")
        with sock:
            deadline = time.monotonic() + self.timeout
            try:
                sock.sendto(packet, (self.address, 0))
            except OSError as error:
                return Outcome(False, None, f"send: {error.strerror or error}")
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return Outcome(False, None, f"no echo reply within {self.timeout:g} s")
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    continue
                data, source = sock.recvfrom(2048)
                offset = (data[0] & 0x0F) * 4
                if len(data) < offset + 8:
                    continue
                kind, _, _, ident, got = struct.unpack("!BBHHH", data[offset:offset + 8])
                if kind == 0 and (ident, got, source[0]) == (self._ident, seq, self.address):
                    return Outcome(True)
                # Unreachable or TTL exceeded, from a router on the way, quoting our request.
                if kind in (3, 11) and len(data) >= offset + 36:
                    inner = data[offset + 8:]
                    inner_offset = (inner[0] & 0x0F) * 4
                    quoted = inner[inner_offset:inner_offset + 8]
                    if len(quoted) == 8 and struct.unpack("!HH", quoted[4:8]) == (
                            self._ident, seq):
                        return Outcome(False, None, f"ICMP type {kind} code {data[offset + 1]}")

    def describe(self) -> dict:
        return {**super().describe(), "path": self.path, "namespace": self.namespace,
                "address": self.address, "url": f"icmp://{self.address}"}


@dataclass
class TcpProbe(Probe):
    """One TCP connection per sample from ``namespace`` to ``address``:``port``; with
    ``echo``, 16 bytes sent must come back. OK when it all happened within the timeout."""

    # Its deadline runs from the packet's send (after the socket is made in the
    # namespace): the time this process took to get there is not the network's.
    times_itself: ClassVar[bool] = True

    kind: str = "tcp"
    rate: float = DEFAULT_RATE
    timeout: float = DEFAULT_TCP_TIMEOUT
    address: str = ""
    port: int = 7
    namespace: str = ""
    path: str = ""
    echo: bool = True

    def check(self) -> Outcome:
        try:
            sock = open_socket(self.namespace, socket.AF_INET, socket.SOCK_STREAM)
        except OSError as error:
            return Outcome(False, None, f"socket: {error}")
        deadline = time.monotonic() + self.timeout
        with sock:
            try:
                sock.settimeout(self.timeout)
                sock.connect((self.address, self.port))
                if not self.echo:
                    return Outcome(True)
                payload = os.urandom(16)
                sock.sendall(payload)
                got = b""
                while len(got) < len(payload):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    sock.settimeout(left)
                    chunk = sock.recv(len(payload) - len(got))
                    if not chunk:
                        return Outcome(False, None, "connection closed before the echo")
                    got += chunk
            except (TimeoutError, socket.timeout):
                return Outcome(False, None, f"timeout after {self.timeout:g} s")
            except OSError as error:
                return Outcome(False, None, error.strerror or str(error))
        if got != payload:
            return Outcome(False, None, "echo answered other bytes")
        return Outcome(True)

    def describe(self) -> dict:
        return {**super().describe(), "path": self.path, "namespace": self.namespace,
                "address": self.address, "port": self.port,
                "url": f"tcp://{self.address}:{self.port}"}


# ------------------------------------------------------------------ paths
@dataclass
class DataPlanePath:
    """A data-plane path: where packets leave from and where they go."""

    name: str
    address: str
    namespace: str = ""  # "" = this machine's own network namespace
    port: int | None = None  # a TCP echo port; None = ICMP only
    icmp: bool = True
    echo: bool = True  # TCP: send bytes and expect them back (else connect only)

    def probes(self, rate: float = DEFAULT_RATE, icmp_timeout: float = DEFAULT_ICMP_TIMEOUT,
               tcp_timeout: float = DEFAULT_TCP_TIMEOUT) -> list[Probe]:
        found: list[Probe] = []
        if self.icmp:
            found.append(IcmpProbe(f"{self.name} icmp", rate=rate, timeout=icmp_timeout,
                                   address=self.address, namespace=self.namespace,
                                   path=self.name, service="data plane"))
        if self.port is not None:
            found.append(TcpProbe(f"{self.name} tcp", rate=rate, timeout=tcp_timeout,
                                  address=self.address, port=self.port,
                                  namespace=self.namespace, path=self.name, echo=self.echo,
                                  service="data plane"))
        return found


SPEC = re.compile(r"^\s*(?:(?P<ns>[^\s>]+)\s*->\s*)?(?P<addr>[0-9.]+)(?::(?P<port>\d+))?"
                  r"(?P<flags>(?:\s+(?:no-icmp|connect-only))*)\s*$")


def parse_path(name: str, spec: str) -> DataPlanePath:
    """``NAMESPACE -> ADDRESS[:PORT] [no-icmp] [connect-only]`` (the namespace part may be
    left out: this machine's own). Raises :class:`DataPlaneError` naming the problem."""
    if not PATH_NAME.match(name):
        raise DataPlaneError(f"Path name {name!r}: use letters, digits, '-', '_' or '.' "
                             f"(e.g. north-south, east-west).")
    match = SPEC.match(spec or "")
    if not match:
        raise DataPlaneError(f"Path {name}: {spec!r} is not 'NAMESPACE -> ADDRESS[:PORT]' "
                             f"(e.g. 'xt-client -> 203.0.113.10:7').")
    try:
        address = str(ipaddress.IPv4Address(match["addr"]))
    except ValueError:
        raise DataPlaneError(f"Path {name}: {match['addr']!r} is not an IPv4 address.") \
            from None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise DataPlaneError(f"Path {name}: port {port} is out of range (1-65535).")
    flags = (match["flags"] or "").split()
    path = DataPlanePath(name, address, match["ns"] or "", port, "no-icmp" not in flags,
                         "connect-only" not in flags)
    if not path.icmp and path.port is None:
        raise DataPlaneError(f"Path {name}: no-icmp needs a TCP port to probe instead.")
    check_namespace(path.namespace)
    return path


def path_from_target(name: str, spec: dict) -> DataPlanePath:
    """A path from the target's ``data_plane: paths:`` entry
    (``{from: NAMESPACE, to: ADDRESS, tcp_port: 7, icmp: true}``)."""
    if not isinstance(spec, dict) or "to" not in spec:
        raise DataPlaneError(f"Target data_plane.paths.{name}: give at least 'to: ADDRESS' "
                             f"(and 'from: NAMESPACE', 'tcp_port: PORT').")
    text = f"{spec.get('from') + ' -> ' if spec.get('from') else ''}{spec['to']}"
    if spec.get("tcp_port"):
        text += f":{spec['tcp_port']}"
    if spec.get("icmp") is False:
        text += " no-icmp"
    return parse_path(name, text)


# ------------------------------------------------------------------ analysis
def slack(probe_config: dict, samples: Sequence) -> float:
    """The timing slack of a probe (see the module's docstring)."""
    if probe_config.get("kind") == "tcp" and probe_config.get("timeout", 0) >= MIN_RTO:
        return float(probe_config["timeout"])
    return max((s.latency for s in samples if s.ok), default=float(probe_config.get(
        "timeout", 0.0)))


def widened(windows: list[Outage], extra: float) -> list[Outage]:
    """``windows`` with ``extra`` added to the uncertainty of every closed edge."""
    for window in windows:
        if not window.open_start:
            window.start_uncertainty += extra
        if not window.open_end:
            window.end_uncertainty += extra
    return windows


def analyze_paths(timelines: dict[str, Sequence], configs: dict[str, dict],
                  fault: FaultWindow, origin: float) -> dict:
    """Per data-plane probe and per path: the monitor's figures with the data plane's
    uncertainty. ``configs`` maps probe name to its ``describe()`` (``path``, ``kind``,
    ``timeout``); a path is out when any of its probes is. Times are seconds since
    ``origin``."""
    probes: dict[str, dict] = {}
    by_path: dict[str, list[str]] = {}
    windows_of: dict[str, list[Outage]] = {}
    for name, samples in timelines.items():
        config = configs[name]
        extra = slack(config, samples)
        windows = widened(outages(samples, name), extra)
        windows_of[name] = windows
        figures = summarize(samples, windows, fault, origin)
        figures["slack"] = round(extra, 6)
        figures["lost"] = figures["failed"]
        probes[name] = figures
        by_path.setdefault(config.get("path") or name, []).append(name)
    paths = {}
    for path, names in sorted(by_path.items()):
        samples = [s for n in names for s in timelines[n]]
        merged = union([w for n in names for w in windows_of[n]])
        figures = summarize(samples, merged, fault, origin)
        duration = (max(s.start for s in samples) - min(s.start for s in samples)
                    if len(samples) > 1 else 0.0)
        figures.update({
            "probes": names,
            "lost": sum(probes[n]["failed"] for n in names),
            "sent": len(samples),
            "samples_per_second": round((len(samples) - 1) / duration, 3) if duration else None,
            "uncertainty_rule": UNCERTAINTY_RULE,
            "lost_by_phase": {phase: partial(samples, merged, fault, phase)["failed"]
                              for phase in ("before", "during", "after", "all")},
        })
        paths[path] = figures
    every = [s for items in timelines.values() for s in items]
    overall = summarize(every, union([w for ws in windows_of.values() for w in ws]), fault,
                        origin)
    return {"probes": probes, "paths": paths, "overall": overall}


# ------------------------------------------------------------------ the session
def make_session(name: str, paths: list[DataPlanePath], rate: float = DEFAULT_RATE,
                 icmp_timeout: float = DEFAULT_ICMP_TIMEOUT,
                 tcp_timeout: float = DEFAULT_TCP_TIMEOUT, sample_cap: int = 50_000,
                 target_name: str = ""):
    """A monitor session probing ``paths`` (see :class:`DataPlaneSession`)."""
    if not paths:
        raise DataPlaneError("Name at least one data-plane path to probe.")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise DataPlaneError(f"Path names must be unique: {names}.")
    if rate <= 0 or icmp_timeout <= 0 or tcp_timeout <= 0:
        raise DataPlaneError("Rate and timeouts must be above 0.")
    probes = [p for path in paths for p in path.probes(rate, icmp_timeout, tcp_timeout)]
    return DataPlaneSession(name, probes, sample_cap, target_name=target_name,
                            prefix="")


class DataPlaneSession(MonitorSession):
    """A monitor session whose result also holds ``paths`` (figures per path, with the
    data plane's uncertainty) and whose probes' outages carry it too."""

    kind = "data plane"

    def snapshot(self, writes: dict | None = None) -> dict:
        result = super().snapshot(writes)
        raw_events = [{"phase": e["phase"], "monotonic": e["monotonic"]}
                      for e in result["events"]]
        fault = fault_window(raw_events)
        configs = {p.name: p.describe() for p in self.run.probes}
        found = analyze_paths(self.run.samples(), configs, fault, self.run.origin)
        for name, figures in found["probes"].items():
            keep = {k: result["probes"][name][k] for k in ("config", "counts", "lag_p99")}
            result["probes"][name] = {**figures, **keep}
        result["overall"] = found["overall"]
        result["paths"] = found["paths"]
        result["origin_monotonic"] = self.run.origin
        result["kind"] = self.kind
        return result


def measure(paths: list[DataPlanePath], seconds: float, rate: float = DEFAULT_RATE,
            during: Callable[[], None] | None = None, **options) -> dict:
    """Probes ``paths`` for ``seconds`` (calling ``during`` right after the start, in this
    thread) and returns the session's result: for benches and tests outside Robot."""
    session = make_session("data plane", paths, rate, **options)
    session.start()
    try:
        if during is not None:
            during()
        remaining = seconds - (time.monotonic() - session.run.origin)
        if remaining > 0:
            threading.Event().wait(remaining)
    finally:
        result = session.stop(draw=False)
    return result

"""Cluster faults and their undo, as an operator's runbook does them, without Robot.

Every member action is a shell line run as root on the member over SSH
(:class:`~ExtremeTesting.clusters.reader.Shell`): SIGKILL, SIGSTOP and SIGCONT of the
service's processes (``pkill`` with the service's pattern), its stop and start commands,
iptables rules in the member's node, the Galera bootstrap. The undo actions are
registered in ``lifecycle.registry`` at import, so the library at scope end and
``extreme recover`` after a crash undo the same way:

- ``cluster start members``: start the members where they do not run; a Galera
  cluster whose running members are all non-Primary is first given a Primary
  component again (``pc.bootstrap`` on the most advanced one), and one with no member
  running is bootstrapped (see ``cluster start whole``);
- ``cluster unfreeze member``: SIGCONT;
- ``cluster heal partition``: remove exactly the iptables rules whose comment names the
  fault, and check that none is left;
- ``cluster start whole``: Galera: read every member's grastate.dat, recover the
  position of those with seqno -1 (``--wsrep-recover``), bootstrap the member with
  ``safe_to_bootstrap: 1`` or else the highest seqno (marking it safe to bootstrap),
  wait until it is Primary, then start the others one by one; RabbitMQ: start every
  member at once (each waits for its peers), the last one stopped first.

Each is idempotent: a member already running, a rule already gone are fine.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..clusters import galera
from ..clusters.reader import Shell, short
from ..clusters.spec import (DEFAULT_BOOTSTRAP, DEFAULT_DATADIR, ClusterSpec, cluster_of)
from ..lifecycle import Step, register_undo
from ..target import Target
from .errors import FaultError

START_MEMBERS = "cluster start members"
UNFREEZE_MEMBER = "cluster unfreeze member"
HEAL_PARTITION = "cluster heal partition"
START_WHOLE = "cluster start whole"
COMMENT_PREFIX = "extreme-fault-"  # iptables comment: only [A-Za-z0-9_-], never quoted
PRIMARY_WAIT = 120.0  # s a bootstrapped member may take to become Primary
START_TIMEOUT = 300.0  # s one start command may take (a joiner's state transfer)
RECOVER_TIMEOUT = 180.0  # s of mariadbd --wsrep-recover
POLL = 1.0
_ERE_SPECIAL = re.compile(r"([.\[\]()*+?{}|^$\\])")


def comment_of(entry_id: str) -> str:
    """The comment every iptables rule of one partition fault carries."""
    return f"{COMMENT_PREFIX}{entry_id}"


def pattern(grep: str) -> str:
    """An extended regular expression that finds the service's processes but not the
    shell running ``pkill``/``pgrep`` (whose command line holds the pattern itself)."""
    escaped = _ERE_SPECIAL.sub(r"\\\1", grep[1:])
    first = grep[0]
    return f"[{first}]{escaped}" if first not in "]^\\-" else f"\\{first}{escaped}"


def partition_rules(spec: ClusterSpec, member: str, peers: list[str], comment: str
                    ) -> list[str]:
    """The iptables commands that cut ``member`` from ``peers`` on the cluster's ports,
    both ways, in the member's node; nothing else (SSH, APIs, other hosts) is touched."""
    rules = []
    for peer in peers:
        address = spec.addresses[peer]
        for port in spec.ports:
            for chain, way in (("INPUT", "-s"), ("OUTPUT", "-d")):
                rules.append(f"iptables -w -I {chain} {way} {address} -p tcp --dport {port} "
                             f"-m comment --comment {comment} -j DROP")
    return rules


def rules_with_comment(listing: str, comment: str) -> list[str]:
    """The ``iptables -S`` lines (``-A ...``) whose comment is exactly ``comment``."""
    found = []
    for line in listing.splitlines():
        words = shlex.split(line) if line.startswith("-A ") else []
        if any(a == "--comment" and b == comment for a, b in zip(words, words[1:])):
            found.append(line)
    return found


def delete_commands(lines: list[str]) -> list[str]:
    """``iptables -D`` for each ``-A`` line of ``iptables -S``: removes exactly that rule."""
    return ["iptables -w " + shlex.join(["-D", *shlex.split(line)[1:]]) for line in lines]


class Operator:
    """Acts on the target's clusters over SSH, as their runbook says."""

    def __init__(self, target: Target, shell: Shell | None = None,
                 log: Callable[[str], None] = print, poll: float = POLL,
                 primary_wait: float = PRIMARY_WAIT):
        self.target = target
        self.shell = shell or connect(target)
        self.log = log
        self.poll = poll
        self.primary_wait = primary_wait

    def spec(self, cluster: str) -> ClusterSpec:
        return cluster_of(self.target, cluster)

    # -- the service's commands
    def _service_args(self, spec: ClusterSpec) -> dict:
        from .osf import read_os_faults

        try:
            config = read_os_faults(self.target)
        except FaultError:
            return {}
        return dict(((config.get("services") or {}).get(spec.service) or {}).get("args")
                    or {})

    def command(self, spec: ClusterSpec, verb: str) -> str:
        """``start`` or ``stop`` of the cluster's service on a member: the cluster's own
        key, else os-faults' start_cmd / terminate_cmd, else systemctl."""
        if spec.options.get(verb):
            return str(spec.options[verb])
        args = self._service_args(spec)
        found = args.get("start_cmd" if verb == "start" else "terminate_cmd")
        if found:
            return str(found)
        unit = args.get("service_name") or spec.service
        return f"systemctl {verb} {shlex.quote(str(unit))}"

    def bootstrap_command(self, spec: ClusterSpec) -> str:
        """The command that starts a member as a new Galera cluster: the cluster's
        ``bootstrap`` key; else, when members start with ``service <name> start`` (a SysV
        script, as Debian's /etc/init.d/mariadb), ``service <name> bootstrap``, the verb
        that script has for it; else MariaDB's ``galera_new_cluster`` (systemd)."""
        if spec.options.get("bootstrap"):
            return str(spec.options["bootstrap"])
        words = self.command(spec, "start").split()
        if len(words) == 3 and words[0] == "service" and words[2] == "start":
            return f"service {words[1]} bootstrap"
        return DEFAULT_BOOTSTRAP

    def grep(self, spec: ClusterSpec) -> str:
        found = (spec.options.get("grep")
                 or (self.target.section("services").get(spec.service) or {}).get("grep")
                 or self._service_args(spec).get("grep"))
        if not found:
            raise FaultError(f"Cluster '{spec.name}': no pattern finds {spec.service}'s "
                             f"processes: give services.{spec.service}.grep or "
                             f"clusters.{spec.name}.grep in the target.")
        return str(found)

    def run(self, spec: ClusterSpec, member: str, line: str, timeout: float | None = None
            ) -> str:
        try:
            return self.shell(spec, member, line, timeout)
        except Exception as error:  # noqa: BLE001 - SSH or the command: say where
            raise FaultError(f"On {spec.name} member {member}: {short(error)}") from None

    # -- reading
    def running(self, spec: ClusterSpec, member: str) -> bool:
        """Whether the service has processes on the member (frozen ones count)."""
        found = self.run(spec, member, f"pgrep -f {shlex.quote(pattern(self.grep(spec)))} "
                                       f">/dev/null && echo RUNNING || echo STOPPED")
        return "RUNNING" in found

    def galera_status(self, spec: ClusterSpec, member: str) -> dict[str, str]:
        sql = shlex.quote(galera.STATUS_SQL)
        try:
            return galera.parse_status(self.shell(spec, member, self.shell.client(
                spec, f"mysql -N -B -e {sql}")))
        except Exception:  # noqa: BLE001 - a member that does not answer has no status
            return {}

    # -- faults
    def signal(self, spec: ClusterSpec, member: str, name: str) -> None:
        """SIGKILL, SIGSTOP or SIGCONT every process of the service on the member."""
        expression = shlex.quote(pattern(self.grep(spec)))
        self.run(spec, member, f"pkill -{name} -f {expression}; true")

    def stop(self, spec: ClusterSpec, member: str) -> None:
        self.run(spec, member, self.command(spec, "stop"), START_TIMEOUT)

    def partition(self, spec: ClusterSpec, member: str, peers: list[str], comment: str) -> None:
        self.run(spec, member, " && ".join(partition_rules(spec, member, peers, comment)))

    def stop_whole(self, spec: ClusterSpec, order: list[str]) -> None:
        """Stop every member gracefully, one after the other, in ``order`` (Galera: the
        last one stopped is the one safe to bootstrap)."""
        for member in order:
            self.log(f"Stopping {spec.service} on {member} ({spec.name}).")
            self.stop(spec, member)

    # -- undo
    def unfreeze(self, spec: ClusterSpec, member: str) -> None:
        self.signal(spec, member, "CONT")

    def heal(self, spec: ClusterSpec, member: str, comment: str) -> int:
        """Remove the rules carrying ``comment``; returns how many were removed."""
        listing = self.run(spec, member, "iptables -w -S")
        found = rules_with_comment(listing, comment)
        if found:
            self.run(spec, member, " && ".join(delete_commands(found)))
        left = rules_with_comment(self.run(spec, member, "iptables -w -S"), comment)
        if left:
            raise FaultError(f"On {spec.name} member {member}: {len(left)} iptables rule(s) "
                             f"with comment {comment} are still there after their removal: "
                             + "; ".join(left))
        return len(found)

    def start(self, spec: ClusterSpec, member: str) -> None:
        self.log(f"Starting {spec.service} on {member} ({spec.name}).")
        self.run(spec, member, self.command(spec, "start"), START_TIMEOUT)

    def start_members(self, spec: ClusterSpec, members: list[str]) -> list[str]:
        """Start ``members`` where they do not run; returns those started. A Galera
        cluster first gets a Primary component back when it has none."""
        running = {m: self.running(spec, m) for m in spec.members}
        todo = [m for m in members if not running[m]]
        if not todo:
            return []
        if not spec.galera:
            self._start_at_once(spec, todo)
            return todo
        alive = [m for m in spec.members if running[m]]
        if not alive:
            first = self.bootstrap(spec)
            todo = [m for m in todo if m != first]
        else:
            self._primary_again(spec, alive)
        for member in todo:
            self.start(spec, member)
        return todo

    def _start_at_once(self, spec: ClusterSpec, members: list[str]) -> None:
        with ThreadPoolExecutor(max_workers=len(members)) as pool:
            errors = [e for e in pool.map(lambda m: self._try_start(spec, m), members) if e]
        if errors:
            raise FaultError("; ".join(errors))

    def _try_start(self, spec: ClusterSpec, member: str) -> str:
        try:
            self.start(spec, member)
        except FaultError as error:
            return str(error)
        return ""

    def _primary_again(self, spec: ClusterSpec, alive: list[str]) -> None:
        """Running members, none of them Primary (quorum lost): the runbook's
        ``pc.bootstrap=YES`` on the most advanced one (highest wsrep_last_committed)."""
        statuses = {m: self.galera_status(spec, m) for m in alive}
        if any(s.get("wsrep_cluster_status") == "Primary" for s in statuses.values()):
            return
        answered = {m: s for m, s in statuses.items() if s}
        if not answered:
            return  # they may still be starting: the starts below join them
        best = max(answered, key=lambda m: int(answered[m].get("wsrep_last_committed")
                                               or -1))
        self.log(f"No running {spec.name} member is Primary: pc.bootstrap on {best} "
                 f"(wsrep_last_committed {answered[best].get('wsrep_last_committed')}).")
        sql = shlex.quote("SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'")
        self.run(spec, best, self.shell.client(spec, f"mysql -e {sql}"))
        self.wait_primary(spec, best)

    def saved_state(self, spec: ClusterSpec, member: str) -> galera.SavedState:
        """grastate.dat of a stopped member; its position from --wsrep-recover when
        grastate.dat says seqno -1 (a member that did not stop cleanly)."""
        datadir = str(spec.options.get("datadir") or DEFAULT_DATADIR)
        path = shlex.quote(f"{datadir.rstrip('/')}/{galera.GRASTATE}")
        state = galera.parse_grastate(self.run(spec, member, f"cat {path} 2>/dev/null; true"))
        if state.seqno >= 0 or state.safe_to_bootstrap:
            return state
        found = galera.parse_recovered(self.run(spec, member, recover_command(spec),
                                                RECOVER_TIMEOUT))
        if found is None:
            return state
        return galera.SavedState(found[0], found[1], False, recovered=True)

    def bootstrap(self, spec: ClusterSpec) -> str:
        """Bootstrap a stopped Galera cluster from the right member; returns it."""
        states = {m: self.saved_state(spec, m) for m in spec.members}
        try:
            chosen, why = galera.bootstrap_member(states, list(spec.members))
        except ValueError as error:
            raise FaultError(f"Cannot bootstrap {spec.name}: {error}. Seen: "
                             + "; ".join(f"{m} {s}" for m, s in states.items())) from None
        self.log(f"Bootstrapping {spec.name} from {chosen}: {why}.")
        if not states[chosen].safe_to_bootstrap:
            datadir = str(spec.options.get("datadir") or DEFAULT_DATADIR)
            path = shlex.quote(f"{datadir.rstrip('/')}/{galera.GRASTATE}")
            self.run(spec, chosen, f"sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "
                                   f"{path}")
        self.run(spec, chosen, self.bootstrap_command(spec), START_TIMEOUT)
        self.wait_primary(spec, chosen)
        return chosen

    def wait_primary(self, spec: ClusterSpec, member: str) -> None:
        deadline = time.monotonic() + self.primary_wait
        status: dict[str, str] = {}
        while time.monotonic() < deadline:
            status = self.galera_status(spec, member)
            if status.get("wsrep_cluster_status") == "Primary" and \
                    status.get("wsrep_ready") == "ON":
                return
            time.sleep(self.poll)
        raise FaultError(f"{spec.name} member {member} did not become Primary within "
                         f"{self.primary_wait:g} s: wsrep_cluster_status="
                         f"{status.get('wsrep_cluster_status', 'no answer')}.")

    def start_whole(self, spec: ClusterSpec, order: list[str]) -> None:
        """Start a whole stopped cluster again (see the module's documentation)."""
        if spec.galera:
            self.start_members(spec, list(spec.members))
            return
        last_first = [m for m in reversed(order) if m in spec.members] + \
            [m for m in spec.members if m not in order]
        todo = [m for m in last_first if not self.running(spec, m)]
        if todo:
            self._start_at_once(spec, todo)


def recover_command(spec: ClusterSpec) -> str:
    """``mariadbd --wsrep-recover`` with its log caught in a temporary file, printed."""
    return ('f=$(mktemp) && chown mysql "$f" 2>/dev/null; '
            'd=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd); '
            '"$d" --user=mysql --wsrep-recover --log-error="$f" >/dev/null 2>&1; '
            'cat "$f"; rm -f "$f"')


def connect(target: Target) -> Shell:
    """SSH to the target's cluster members (tests replace this with a fake)."""
    return Shell(target)


# -- the undo handlers (``extreme recover`` replays them after a crash)
def _operator(target: Target) -> Operator:
    return Operator(target, connect(target))


def undo_start_members(step: Step, target: Target, operator: Operator | None = None) -> None:
    operator = operator or _operator(target)
    operator.start_members(operator.spec(step.args["cluster"]), list(step.nodes))


def undo_unfreeze(step: Step, target: Target, operator: Operator | None = None) -> None:
    operator = operator or _operator(target)
    spec = operator.spec(step.args["cluster"])
    for member in step.nodes:
        operator.unfreeze(spec, member)


def undo_partition(step: Step, target: Target, operator: Operator | None = None) -> None:
    operator = operator or _operator(target)
    spec = operator.spec(step.args["cluster"])
    for member in step.nodes:
        operator.heal(spec, member, step.args["comment"])


def undo_stop_whole(step: Step, target: Target, operator: Operator | None = None) -> None:
    operator = operator or _operator(target)
    operator.start_whole(operator.spec(step.args["cluster"]), list(step.args.get("order") or []))


HANDLERS = {START_MEMBERS: undo_start_members, UNFREEZE_MEMBER: undo_unfreeze,
            HEAL_PARTITION: undo_partition, START_WHOLE: undo_stop_whole}

for _action, _handler in HANDLERS.items():
    register_undo(_action, _handler)

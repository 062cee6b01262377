"""The roll-out's order of steps, without Robot, SSH or HAProxy: the canary rule in one place.

For each node of the service, one at a time::

    drain -> wait drained -> apply -> restart (unless the change did) -> serve
          -> settle -> return (the gate: real requests to the node) -> up

and the next node only after the previous one is up again. A step that fails stops the
roll-out at that node: no later node is touched, and the error names the node, the step
and the nodes left untouched. What is undone right then depends on where it stopped:

- drain or wait drained: nothing was changed on the node; its drain stays until the test
  or suite ends (the lifecycle undoes it, as every change);
- apply, restart, serve or settle: the node is still out of rotation; the changes made on
  it are undone at once (its files, packages), and it stays drained until the scope ends;
- return: the gate already took the node out of rotation again and undid its change;
- up: the node served real requests through the gate; nothing is undone, the load
  balancer's checks did not see it rise in time.

The steps themselves are :class:`Operations` (the Changes library's components give them;
unit tests give fakes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from .errors import ChangeError
from .gate import GateError

STEPS = ("drain", "wait drained", "apply", "restart", "serve", "settle", "return", "up")
UNDONE_AT_ONCE = ("apply", "restart", "serve", "settle")


class RollOutError(ChangeError):
    """A step of a roll-out failed: the roll-out stopped at that node."""


class Operations(Protocol):
    def drain(self, node: str) -> None: ...
    def wait_drained(self, node: str) -> None: ...
    def cpu_use(self, node: str) -> float | None: ...
    def apply(self, node: str) -> None: ...
    def restarted_since(self, node: str, since: float) -> bool: ...
    def restart(self, node: str) -> None: ...
    def wait_serving(self, node: str) -> None: ...
    def settle(self, node: str, before: float | None) -> None: ...
    def return_node(self, node: str) -> None: ...
    def wait_up(self, node: str) -> None: ...
    def undo_changes_of(self, node: str) -> str: ...


def roll_out(service: str, nodes: list[str], ops: Operations,
             mark: Callable[[str, str], None] = lambda what, node: None,
             clock: Callable[[], float] = time.monotonic) -> None:
    """Roll the change out on ``nodes`` in order (see the module); raises
    :class:`RollOutError` (or the gate's :class:`GateError`) at the first failed step."""
    for index, node in enumerate(nodes):
        step = "drain"
        try:
            ops.drain(node)
            step = "wait drained"
            ops.wait_drained(node)
            before = ops.cpu_use(node)
            step = "apply"
            started = clock()
            mark("apply", node)
            ops.apply(node)
            step = "restart"
            if not ops.restarted_since(node, started):
                ops.restart(node)
            step = "serve"
            ops.wait_serving(node)
            mark("serves", node)
            step = "settle"
            ops.settle(node, before)
            step = "return"
            ops.return_node(node)
            step = "up"
            ops.wait_up(node)
            mark("up in load balancer", node)
        except Exception as error:
            raise _stopped(service, node, step, error, nodes[index + 1:], ops) from None


def _stopped(service: str, node: str, step: str, error: Exception, rest: list[str],
             ops: Operations) -> ChangeError:
    untouched = f" {', '.join(rest)} not touched." if rest else ""
    if isinstance(error, GateError):  # the gate drained it again and undid its change
        return GateError(f"Roll-out of {service} stopped at {node}: {error}{untouched}")
    if step in UNDONE_AT_ONCE:
        after = (f"{node} stays out of rotation; its change undone: "
                 f"{ops.undo_changes_of(node)}.")
    elif step == "up":
        after = f"{node} passed the gate; nothing undone."
    else:
        after = f"Nothing was changed on {node}; its drain is undone when the test ends."
    text = str(error).rstrip(".")
    return RollOutError(f"Roll-out of {service} stopped at {node} ({step}): {text}. "
                        f"{after}{untouched}")

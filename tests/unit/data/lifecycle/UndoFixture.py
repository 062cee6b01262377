"""A keyword library over the lifecycle package alone: gadgets broken and mended.

Undo goes through the registry (``unit mend``); the gadget named ``stubborn`` cannot be
mended (its handler raises). The pabot lock is a fake remote whose state, with what was
mended, is written to the JSON file ``$UNDO_FIXTURE_STATE`` after every change.
"""

import json
import os
from pathlib import Path

from robot.api.deco import keyword, library

from ExtremeTesting.lifecycle import PabotLock, ScopeListener, Step, Tracker, register_undo
from ExtremeTesting.target import Target

STATE = Path(os.environ["UNDO_FIXTURE_STATE"])


def _save(**changes):
    state = json.loads(STATE.read_text()) if STATE.exists() else {"mended": [], "locks": {}}
    for key, value in changes.items():
        if key == "mended":
            state["mended"].append(value)
        else:
            state[key] = value
    STATE.write_text(json.dumps(state))


class FakeLockServer:
    """PabotLib's remote lock keywords, reentrant per caller."""

    def __init__(self):
        self.locks = {}

    def run_keyword(self, name, args, kwargs):
        lock, caller = args
        if name == "acquire_lock":
            if lock in self.locks and self.locks[lock][0] != caller:
                return False
            self.locks.setdefault(lock, [caller, 0])[1] += 1
        else:
            self.locks[lock][1] -= 1
            if not self.locks[lock][1]:
                del self.locks[lock]
        _save(locks=self.locks)
        return True


def mend(step, target):
    if step.nodes == ["stubborn"]:
        raise RuntimeError("the gadget's BMC does not answer")
    _save(mended=step.nodes[0])


register_undo("unit mend", mend)


@library(scope="GLOBAL", auto_keywords=False)
class UndoFixture:
    def __init__(self, folder):
        target = Target(Path(folder) / "target.yaml", {"name": "unit", "destructive": True})
        self.changes = Tracker(lambda: target)
        self.changes.lock = PabotLock("destructive:unit", 5, remote=FakeLockServer(),
                                      caller_id="worker-1")
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.changes)

    @keyword
    def break_gadget(self, name):
        if name == "none":
            return
        self.changes.require_destructive(f"break {name}")
        self.changes.lock.acquire()
        self.changes.record(Step("unit break", None, [name]), Step("unit mend", None, [name]))

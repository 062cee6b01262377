"""Keyword libraries for the safeguards' Robot tests: gadgets broken (a file each, in the
ledger, undone through the registry's ``unit mend``), a cloud made sick for good, and a
monitor whose samples fail from a given moment. Nothing leaves ``folder``."""

import time
from dataclasses import dataclass
from pathlib import Path

from robot.api.deco import keyword, library

from ExtremeTesting.lifecycle import ScopeListener, Step, Tracker, register_undo, undo_entries
from ExtremeTesting.target import load


def mend(step, target):
    folder = target.path.parent
    (folder / f"broken-{step.nodes[0]}").unlink(missing_ok=True)
    with open(folder / "mended.log", "a") as log:
        log.write(step.nodes[0] + "\n")


register_undo("unit mend", mend)


@library(scope="GLOBAL", auto_keywords=False)
class SafeguardsFixture:
    def __init__(self, folder):
        self.folder = Path(folder)
        target = load(self.folder / "target.yaml")
        self.changes = Tracker(lambda: target)
        self.ROBOT_LIBRARY_LISTENER = ScopeListener(self.changes)

    @keyword
    def cloud_should_be_healthy(self):
        wrong = sorted(p.name for p in self.folder.glob("broken-*"))
        if (self.folder / "sick").exists():
            wrong.append("neutron-server down on ctl1")
        if wrong:
            raise AssertionError(f"degraded: {', '.join(wrong)}")

    @keyword
    def break_gadget(self, name):
        self.changes.require_destructive(f"break {name}")
        self.changes.record(Step("unit break", None, [name]), Step("unit mend", None, [name]))
        (self.folder / f"broken-{name}").write_text("broken")

    @keyword
    def restore_all_gadgets(self):
        undo_entries(self.changes, list(self.changes.pending))

    @keyword
    def make_the_cloud_sick(self):
        (self.folder / "sick").write_text("for good")


@dataclass
class Sample:
    start: float
    ok: bool


class FakeMonitor:
    """A monitor sampling every 0.1 s, every sample failing from `Start Failing` on."""

    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self):
        self.origin = time.monotonic()
        self.failing_from = None

    def start_failing(self):
        self.failing_from = time.monotonic()

    def live_samples(self, since=None):
        now = time.monotonic()
        starts = [self.origin + i * 0.1 for i in range(int((now - self.origin) / 0.1))
                  if since is None or self.origin + i * 0.1 >= since]
        return {"version-identity": [
            Sample(t, self.failing_from is None or t < self.failing_from) for t in starts]}

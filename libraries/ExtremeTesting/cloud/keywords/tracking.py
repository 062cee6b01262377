from __future__ import annotations

from datetime import timedelta

from robot.api import logger
from robot.api.deco import keyword

from ..apierrors import CloudError, api_call
from ..context import DEFAULT_WAIT
from ..tracking import BASE_PREFIX, CleanupLevel, Tracked, find_leftovers
from .base import Component


def _lines(resources: list[Tracked]) -> str:
    return "\n".join(f"- {t}" for t in resources) or "(none)"


class TrackingKeywords(Component):
    @keyword
    def set_cleanup_level(self, level: CleanupLevel) -> CleanupLevel:
        """Sets when resources created from now on are deleted; returns the old level.

        ``level``:

        | =Level= | =Deleted when= |
        | TEST    | the test that created them ends (suite setup: the suite ends) |
        | SUITE   | the suite that created them ends |
        | MANUAL  | never automatically (`Delete Tracked Resources`, `Purge Leftovers`) |

        Resources already created keep their scope. Fails on any other level.

        | ${old} =    `Set Cleanup Level`    SUITE
        """
        old = self.ctx.tracker.level
        self.ctx.tracker.level = level
        return old

    @keyword
    def get_tracked_resources(self) -> list[Tracked]:
        """Returns what this library created and will delete: kind, id, name and scope of each.

        Never fails: it reads the library's own list.
        """
        return self.ctx.tracker.all()

    @keyword
    def delete_tracked_resources(self, timeout: timedelta = DEFAULT_WAIT) -> None:
        """Deletes everything the library is tracking now, whatever its scope.

        Waits at most ``timeout`` for each deletion. Tries every resource, then fails listing
        those it could not delete (they stay tracked, for the next attempt).

        | `Delete Tracked Resources`    timeout=2 min
        """
        resources = self.ctx.tracker.take_all()
        problems = self.ctx.delete_tracked(resources, timeout)
        if problems:
            self.ctx.tracker.adopt([t for t, _ in problems])
            raise CloudError("Could not delete every tracked resource:\n"
                             + "\n".join(f"- {p}" for _, p in problems))
        logger.info(f"Deleted {len(resources)} tracked resource(s):\n{_lines(resources)}")

    @keyword
    @api_call("Looking for leftovers")
    def get_leftovers(self, prefix: str = BASE_PREFIX, older_than: timedelta = timedelta(0),
                      include_current_run: bool = False) -> list[Tracked]:
        """Returns the resources whose name starts with ``prefix``, except this run's own.

        ``include_current_run`` includes this run's resources too; with ``older_than``, only
        those created that long ago. Each has ``kind``, ``id`` and ``name``. Changes nothing.
        Fails with the API's answer when a listing fails.

        | ${found} =    `Get Leftovers`    prefix=${prefix}web-    include_current_run=${TRUE}
        """
        exclude = None if include_current_run else self.ctx.prefix
        return find_leftovers(self.conn, prefix, exclude, older_than,
                              volumes=self.ctx.has_volume_service())

    @keyword
    @api_call("Purging leftovers")
    def purge_leftovers(self, prefix: str = BASE_PREFIX, older_than: timedelta = timedelta(0),
                        include_current_run: bool = False, dry_run: bool = False,
                        timeout: timedelta = DEFAULT_WAIT) -> list[Tracked]:
        """Deletes resources left by earlier runs (names starting with ``prefix``).

        ``older_than``, ``include_current_run`` as in `Get Leftovers`; ``dry_run`` only lists
        them; ``timeout`` bounds each deletion. Returns what was found. Under pabot, other
        workers' resources carry the same ``xt-`` prefix and a different run id: purge once,
        before the workers start (PabotLib's `Run Setup Only Once`), or give ``older_than``
        longer than a run, or share one ``$EXTREME_RUN_ID`` between the workers.

        Tries every resource, then fails listing those it could not delete.

        | `Purge Leftovers` | older_than=1 hour |
        """
        found = self.get_leftovers(prefix, older_than, include_current_run)
        logger.info(f"Leftovers with prefix '{prefix}': {len(found)}\n{_lines(found)}")
        if dry_run or not found:
            return found
        problems = self.ctx.delete_tracked(found, timeout)
        for tracked in found:
            self.ctx.tracker.forget(tracked.id)
        if problems:
            raise CloudError(f"Purged {len(found) - len(problems)} of {len(found)} "
                             "leftovers; could not delete:\n"
                             + "\n".join(f"- {p}" for _, p in problems))
        return found

    @keyword
    @api_call("Looking for leftovers")
    def no_resources_should_be_left(self, prefix: str | None = None) -> None:
        """Checks that no resource named ``prefix*`` exists outside the scopes still running.

        ``prefix`` defaults to this run's prefix. Fails listing every such resource that is not
        tracked for deletion by a running test or suite (or kept for the run's end: the
        data plane's guests, `Keep Data Plane Guests For The Run`). Put it in a test after
        one that failed half-way: the earlier test's resources must already be gone.

        | `No Resources Should Be Left`
        """
        prefix = prefix or self.ctx.prefix
        tracked = {t.id for t in [*self.ctx.tracker.all(), *self.ctx.kept_for_run]}
        found = [t for t in find_leftovers(self.conn, prefix,
                                           volumes=self.ctx.has_volume_service())
                 if t.id not in tracked]
        if found:
            raise CloudError(f"Expected no resources named '{prefix}*' outside the "
                             f"running scopes; found {len(found)}:\n{_lines(found)}\n"
                             "Delete them with `Purge Leftovers`.")

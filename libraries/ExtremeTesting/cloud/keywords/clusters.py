from __future__ import annotations

from robot.api import SkipExecution, logger
from robot.api.deco import keyword

from ... import clusters
from ...clusters.reader import Shell
from ...errors import TargetError
from ..apierrors import CloudError
from .base import Component


class ClusterKeywords(Component):
    """The database and message-bus clusters of the target's ``clusters:`` section."""

    shell_factory = Shell  # tests replace it with a fake

    def _specs(self, name: str | None = None) -> list[clusters.ClusterSpec]:
        target = self.ctx.target()
        if target is None or not target.section("clusters"):
            raise SkipExecution("The target has no clusters: section: no database or "
                                "message-bus cluster is checked (see "
                                "variables/example-3-controllers.yaml).")
        try:
            found = clusters.clusters_of(target)
        except TargetError as error:
            raise CloudError(str(error)) from None
        if name is None:
            return list(found.values())
        if name not in found:
            raise CloudError(f"Unknown cluster '{name}': the target names "
                             f"{', '.join(sorted(found))}.")
        return [found[name]]

    def _check(self, specs: list[clusters.ClusterSpec]) -> None:
        shell = self.shell_factory(self.ctx.target())
        problems = []
        for spec in specs:
            report = clusters.read_cluster(spec, shell)
            logger.info(report.summary())
            problems += report.problems
        if problems:
            raise CloudError("Expected every cluster member Synced in a whole cluster; "
                             f"{len(problems)} problem(s): " + "; ".join(problems)
                             + ". Start or rejoin the member named (a Galera member that "
                             "stays non-Primary needs the cluster bootstrapped).")

    @keyword
    def every_cluster_should_be_whole(self) -> None:
        """Every cluster of the target's ``clusters:`` section is whole: each member
        answers and reports the whole cluster.

        Galera: on each member ``wsrep_cluster_status`` Primary, ``wsrep_local_state_comment``
        Synced, ``wsrep_ready`` and ``wsrep_connected`` ON, ``wsrep_cluster_size`` the
        number of members. RabbitMQ: on each member every member's node running, no network
        partition, no alarm; no quorum queue without a leader. Asked over SSH as root
        (``mysql``, ``rabbitmqctl``). Fails naming each member and what it reports, e.g.
        ``database member db: wsrep_local_state_comment=Donor/Desynced, expected Synced``.
        Skips when the target has no ``clusters:`` section. It checks once; the Faults
        library's `Cluster Should Be Whole Within` waits for the same state after a fault.

        | `Every Cluster Should Be Whole` |
        """
        self._check(self._specs())

    @keyword
    def cluster_should_be_whole(self, cluster: str) -> None:
        """`Every Cluster Should Be Whole` for the one ``cluster`` named; fails as it
        does, and on a cluster the target does not name.

        | `Cluster Should Be Whole` | database |
        """
        self._check(self._specs(cluster))

    @keyword("Every Cluster Should Be Healthy")
    def every_cluster_should_be_healthy(self) -> None:
        """*DEPRECATED until 1.0.* Use `Every Cluster Should Be Whole`, its new name.

        Checks every cluster of the target is whole, as the new name does.
        """
        self.every_cluster_should_be_whole()

    @keyword("Cluster Should Be Healthy")
    def cluster_should_be_healthy(self, cluster: str) -> None:
        """*DEPRECATED until 1.0.* Use `Cluster Should Be Whole`, its new name.

        Checks that ``cluster`` is whole, as the new name does.
        """
        self.cluster_should_be_whole(cluster)

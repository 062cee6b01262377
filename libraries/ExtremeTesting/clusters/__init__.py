"""ExtremeTesting.clusters: the database and message-bus clusters a cloud runs, as their
operators read them.

The target's ``clusters:`` section names each cluster, its type, its members (nodes of
``nodes:``) and its ports (see variables/example-3-controllers.yaml). Plain modules:

- :mod:`.spec`: the section, checked once, with clear errors;
- :mod:`.galera`: ``SHOW GLOBAL STATUS LIKE 'wsrep_%'``, grastate.dat and
  ``--wsrep-recover`` read, the problems of a member, the member to bootstrap from;
- :mod:`.rabbitmq`: ``rabbitmqctl cluster_status`` and ``list_queues`` (JSON) read,
  partitions, members not running, quorum queues without a leader;
- :mod:`.reader`: every member of a cluster asked over SSH, one report per cluster.

The steady-state check (Cloud) and the cluster faults (Faults) both read clusters here.
It imports no keyword library.
"""

from .reader import ClusterReport, MemberReport, read_cluster
from .spec import ClusterSpec, clusters_of

__all__ = ["ClusterReport", "ClusterSpec", "MemberReport", "clusters_of", "read_cluster"]

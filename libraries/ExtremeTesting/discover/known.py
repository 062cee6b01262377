"""The services discovery recognises: how their processes look, their usual port, the API
(catalog type) they serve and the role they give a node.

Patterns are regular expressions searched in a process's full command line, as
``pgrep -f`` does (os-faults' process driver greps the same way); the first that matches
on the nodes is the one written. ``expected_downtime`` is a starting value only (the
lab's measured one where the lab has the service): measure your own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    name: str
    patterns: tuple[str, ...]
    port: int | None = None
    api: str | None = None
    role: str | None = None
    expected_downtime: float = 10.0


def _daemon(name: str, role: str | None, downtime: float = 10.0) -> Known:
    return Known(name, (f"/usr/bin/{name}", name), role=role, expected_downtime=downtime)


KNOWN: tuple[Known, ...] = (
    Known("mariadb", ("mariadbd", "mysqld"), 3306, role="database", expected_downtime=5),
    Known("clustercheck", ("/usr/local/sbin/clustercheck", "clustercheck"), 9200,
          expected_downtime=2),
    Known("rabbitmq", ("beam.smp",), 5672, role="messaging", expected_downtime=20),
    Known("memcached", ("/usr/bin/memcached", "memcached"), 11211, expected_downtime=2),
    Known("keystone", ("keystone-uwsgi", "keystone-wsgi", "keystone-all"), 5000, "identity",
          "controller", 5),
    Known("placement", ("placement-uwsgi", "placement-api", "placement-wsgi"), 8778,
          "placement", "controller", 5),
    Known("glance-api", ("/usr/bin/glance-api", "glance-wsgi-api", "glance-api"), 9292,
          "image", "controller", 8),
    Known("nova-api", ("nova-api-uwsgi", "nova-api-wsgi", "/usr/bin/nova-api", "nova-api"),
          8774, "compute", "controller", 10),
    Known("neutron-server", ("/usr/bin/neutron-server", "neutron-server"), 9696, "network",
          "controller", 10),
    Known("cinder-api", ("cinder-api", "cinder-wsgi"), 8776, "volumev3", "controller", 10),
    Known("heat-api", ("heat-api-uwsgi", "heat-wsgi-api", "/usr/bin/heat-api"), 8004,
          "orchestration", "controller", 10),
    _daemon("nova-conductor", "controller"),
    _daemon("nova-scheduler", "controller"),
    _daemon("cinder-scheduler", "controller"),
    _daemon("cinder-volume", None, 15),
    _daemon("heat-engine", "controller"),
    _daemon("nova-compute", "compute", 15),
    _daemon("neutron-dhcp-agent", None, 15),
    _daemon("neutron-l3-agent", None, 15),
    _daemon("neutron-metadata-agent", None, 15),
    _daemon("neutron-openvswitch-agent", None, 15),
    _daemon("neutron-linuxbridge-agent", None, 15),
    _daemon("neutron-ovn-metadata-agent", None, 15),
    Known("haproxy", ("/usr/sbin/haproxy", "haproxy"), role="loadbalancer",
          expected_downtime=2),
    # The full path only: neutron's L3 agent starts its HA routers' keepalived as
    # "keepalived -P -f /var/lib/neutron/ha_confs/...", part of that agent, not a service.
    Known("keepalived", ("/usr/sbin/keepalived",), expected_downtime=2),
)
BY_NAME = {k.name: k for k in KNOWN}
BY_PORT = {k.port: k for k in KNOWN if k.port}
# Names HAProxy backends often carry (Kolla: nova_api, keystone_internal...).
BACKEND_SUFFIXES = ("_external", "_internal", "_back", "_backend", "-back", "-backend")


def _oslo(folder: str, *names: str) -> tuple[str, ...]:
    """Where Debian/Ubuntu packages and Kolla-Ansible write an oslo.log file."""
    return tuple(path for name in names for path in (
        f"/var/log/{folder}/{name}.log", f"/var/log/kolla/{folder}/{name}.log"))


# Candidate log files per service, most specific first; the first that exists on a node
# running the service is written into the target's logs section. Globs are kept as globs
# (RabbitMQ names its file after the node).
LOG_FILES: dict[str, tuple[str, ...]] = {
    "keystone": _oslo("keystone", "keystone"),
    "placement": _oslo("placement", "placement-api"),
    "glance-api": _oslo("glance", "glance-api"),
    "nova-api": _oslo("nova", "nova-api-wsgi", "nova-api"),
    "neutron-server": _oslo("neutron", "neutron-server"),
    "cinder-api": _oslo("cinder", "cinder-api"),
    "heat-api": _oslo("heat", "heat-api"),
    "nova-conductor": _oslo("nova", "nova-conductor"),
    "nova-scheduler": _oslo("nova", "nova-scheduler"),
    "nova-compute": _oslo("nova", "nova-compute"),
    "cinder-scheduler": _oslo("cinder", "cinder-scheduler"),
    "cinder-volume": _oslo("cinder", "cinder-volume"),
    "heat-engine": _oslo("heat", "heat-engine"),
    "neutron-dhcp-agent": _oslo("neutron", "dhcp-agent", "neutron-dhcp-agent"),
    "neutron-l3-agent": _oslo("neutron", "l3-agent", "neutron-l3-agent"),
    "neutron-metadata-agent": _oslo("neutron", "metadata-agent", "neutron-metadata-agent"),
    "neutron-openvswitch-agent": _oslo("neutron", "openvswitch-agent",
                                       "neutron-openvswitch-agent"),
    "neutron-linuxbridge-agent": _oslo("neutron", "linuxbridge-agent",
                                       "neutron-linuxbridge-agent"),
    "mariadb": ("/var/log/mysql/error.log", "/var/log/kolla/mariadb/mariadb.log"),
    "rabbitmq": ("/var/log/rabbitmq/rabbit@*.log", "/var/log/kolla/rabbitmq/rabbit@*.log"),
}

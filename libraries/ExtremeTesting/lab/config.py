"""Configuration files of the lab's services, rendered from the topology.

Pure functions from (topology, secrets, paths) to file contents, so they are unit-tested
without a lab. Settings that matter are explained where they are set.
"""

from __future__ import annotations

from . import topology as topo

# Every service reaches MariaDB through HAProxy on the VIP: one Galera member writes at a
# time (the first of topology.MEMBERS), the others are HAProxy backups.
DB_HOST = topo.VIP
REGION = "RegionOne"
# API concurrency. nova-api runs under uwsgi with one thread per process (as Debian and
# Kolla run it: nova is eventlet-patched), so one process serves one request at a time:
# it gets the 2 processes Kolla gives a 2-core controller (openstack_service_workers),
# so that one request waiting on RPC (a stopped nova-compute) does not stop the API.
# Keystone and placement (plain WSGI) serve from 4 threads of one process; glance-api
# and neutron-server serve from eventlet's green threads in their main process. More
# processes do not fit the lab's memory budget (RSS <= 4.5 GiB; each API process is
# 100-160 MB).
NOVA_API_PROCESSES = 2
API_THREADS = 4
SERVICE_USERS = ("nova", "placement", "glance", "neutron")


def ini(sections: dict[str, dict[str, object]]) -> str:
    """An INI file from {section: {key: value}}; None values are left out."""
    lines: list[str] = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = str(value).lower()
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines)


def vip_url(port: int, path: str = "") -> str:
    return f"http://{topo.VIP}:{port}{path}"


def db_url(secrets: dict[str, str], database: str) -> str:
    return f"mysql+pymysql://openstack:{secrets['db']}@{DB_HOST}/{database}"


def transport_url(secrets: dict[str, str]) -> str:
    """Every RabbitMQ member: oslo.messaging fails over from one to the next."""
    hosts = ",".join(f"openstack:{secrets['rabbit']}@{topo.node(n).address}:5672"
                     for n in topo.MEMBERS)
    return f"rabbit://{hosts}/"


def memcached_servers() -> str:
    """Keystone's cache and keystonemiddleware's token cache: memcached on each controller."""
    return ",".join(f"{topo.node(n).address}:11211" for n in topo.CONTROLLERS)


# oslo.messaging: quorum queues (Zed's oslo.messaging 14 has rabbit_quorum_queue): a
# queue survives the loss of a RabbitMQ member while a majority holds it. Replies and
# fanouts stay classic (oslo.messaging declares those itself).
MESSAGING = {"heartbeat_timeout_threshold": 30, "rabbit_quorum_queue": True}


def service_auth(secrets: dict[str, str], user: str) -> dict[str, object]:
    """How a service authenticates as its own user in the service project."""
    return {
        "auth_type": "password",
        "auth_url": vip_url(5000, "/v3"),
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": user,
        "password": secrets["service"],
        "region_name": REGION,
        "timeout": 30,
    }


def authtoken(secrets: dict[str, str], user: str) -> dict[str, object]:
    """keystonemiddleware: validates callers' tokens as the service's user."""
    return {
        **service_auth(secrets, user),
        "www_authenticate_uri": vip_url(5000),
        "memcached_servers": memcached_servers(),
        # Tokens validated once are cached: a token probe must not cost a DB round trip.
        "token_cache_time": 300,
        # A controller that is off leaves its memcached unanswering (no RST): each try
        # costs the socket timeout (3 s by default) of a request, and waiting for a pooled
        # connection 10 s. Short waits; a dead server is then skipped for 300 s (default).
        "memcache_pool_socket_timeout": 1,
        "memcache_pool_conn_get_timeout": 2,
        "http_connect_timeout": 5,
        "http_request_max_retries": 2,
    }


# New defaults (admin, member, reader), so the reader role means something. Scope
# enforcement only on Nova (its Zed rules are project-scoped: the project admin and the
# service users keep working). Not on Neutron: with it, Zed's Neutron no longer treats a
# project-scoped admin as cloud admin (another project's network answers 404 to the lab's
# admin, measured), which would break nova's port binding in users' projects. Not on
# Glance (Zed's Glance has no scope support) nor Keystone (not tried: every library
# connects as a project-scoped admin). Placement keeps the legacy defaults: its Zed rules
# are "role:admin and system_scope:all", which would refuse nova's project-scoped
# service user (no boot, no compute report).
POLICY = {"enforce_new_defaults": True, "enforce_scope": False}
LEGACY_POLICY = {"enforce_new_defaults": False, "enforce_scope": False}
SCOPED_POLICY = {"enforce_new_defaults": True, "enforce_scope": True}


def uwsgi_ini(name: str, address: str, port: int, wsgi_file: str, user: str,
              log: str, processes: int = 1, threads: int = 1) -> str:
    return ini({"uwsgi": {
        "plugins": "python3",
        "http-socket": f"{address}:{port}",
        "wsgi-file": wsgi_file,
        "master": True,
        "processes": processes,
        "threads": threads,
        "enable-threads": True,
        "lazy-apps": True,
        "die-on-term": True,
        "no-orphans": True,
        "buffer-size": 65535,
        "listen": 100,
        "http-keepalive": 1,
        "add-header": "Connection: close",
        "name": name,
        "chdir": f"/var/lib/{user}",
        "logto": log,
    }})


def keystone_conf(secrets: dict[str, str]) -> str:
    return ini({
        "DEFAULT": {"log_file": "/var/log/keystone/keystone.log", "debug": False},
        "database": {"connection": db_url(secrets, "keystone"), "max_retries": -1},
        "token": {"provider": "fernet", "expiration": 7200},
        # Without a cache each token validation costs ~0.2 s of CPU on the 2-core lab (DB
        # lookups, role resolution): a monitor's token probe would saturate Keystone.
        "cache": {"enabled": True, "backend": "oslo_cache.memcache_pool",
                  "memcache_servers": memcached_servers(), "memcache_socket_timeout": 1,
                  "memcache_pool_connection_get_timeout": 1,
                  # With memcached on both controllers, one that is off is retried every
                  # 60 s (each try stalls a request for the socket timeout).
                  "memcache_dead_retry": 60},
        "fernet_tokens": {"key_repository": "/etc/keystone/fernet-keys"},
        "credential": {"key_repository": "/etc/keystone/credential-keys"},
        "oslo_policy": POLICY,
    })


def placement_conf(secrets: dict[str, str]) -> str:
    return ini({
        "DEFAULT": {"log_file": "/var/log/placement/placement-api.log"},
        "placement_database": {"connection": db_url(secrets, "placement"),
                               "max_retries": -1},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": authtoken(secrets, "placement"),
        "oslo_policy": LEGACY_POLICY,
    })


def glance_conf(secrets: dict[str, str], address: str) -> str:
    return ini({
        "DEFAULT": {
            # workers = 0: the API serves from the main process (one process, not two).
            "bind_host": address, "bind_port": 9292, "workers": 0,
            "log_file": "/var/log/glance/glance-api.log",
            "enabled_backends": "fs:file",
            # Glance refuses new defaults without its own switch set the same way.
            "enforce_secure_rbac": True,
        },
        "database": {"connection": db_url(secrets, "glance"), "max_retries": -1},
        "keystone_authtoken": authtoken(secrets, "glance"),
        "paste_deploy": {"flavor": "keystone"},
        "glance_store": {"default_backend": "fs"},
        # Both controllers mount the same image directory, so either serves any image.
        "fs": {"filesystem_store_datadir": "/var/lib/glance/images"},
        "os_glance_staging_store": {"filesystem_store_datadir": "/var/lib/glance/staging"},
        "os_glance_tasks_store": {"filesystem_store_datadir": "/var/lib/glance/tasks"},
        "oslo_policy": POLICY,
    })


# cmp1's virt driver: Nova's fake driver that also makes a guest (a network namespace
# with a DHCP client and an echo service) per server; installed in cmp1 only. Zed's Nova
# loads compute_driver from its own package only ('nova.virt.' + the name): a one-line
# module there (GUEST_SHIM, in cmp1's /usr overlay) imports the driver from GUEST_LIB
# (nova_guest_driver.py and guests.py, on nova-compute's PYTHONPATH in cmp1).
GUEST_DRIVER = "extreme_lab_guests.GuestDriver"
GUEST_SHIM = "/usr/lib/python3/dist-packages/nova/virt/extreme_lab_guests.py"
GUEST_LIB = "/usr/local/lib/extreme-lab"


def nova_conf(secrets: dict[str, str], address: str, compute: bool = False) -> str:
    return ini({
        "DEFAULT": {
            "my_ip": address,
            "transport_url": transport_url(secrets),
            "state_path": "/var/lib/nova",
            "log_dir": "/var/log/nova",
            "enabled_apis": "osapi_compute",
            "osapi_compute_workers": NOVA_API_PROCESSES,
            "compute_driver": GUEST_DRIVER if compute else "fake.FakeDriver",
            # The fake hypervisor reports itself quickly after a reboot of cmp1.
            "report_interval": 5,
            "service_down_time": 20,
            "heal_instance_info_cache_interval": -1,
            # After cmp1 boots (or nova-compute restarts), the guests of servers that were
            # running are made again (lab/nova_guest_driver.py), as operators set it for
            # libvirt; a guest still there is left alone.
            "resume_guests_state_on_host_boot": True if compute else None,
            # Nothing waits for Neutron's network-vif-plugged events: the guest driver
            # plugs without waiting (as Nova's fake driver) and neutron-server does not
            # notify Nova (notify_nova_on_port_* false). A wait would only ever time out.
            "vif_plugging_is_fatal": False,
            "vif_plugging_timeout": 0,
        },
        "compute": {"live_migration_wait_for_vif_plug": False},
        "api": {"auth_strategy": "keystone"},
        "api_database": {"connection": db_url(secrets, "nova_api"), "max_retries": -1},
        "database": {"connection": db_url(secrets, "nova"), "max_retries": -1},
        "keystone_authtoken": authtoken(secrets, "nova"),
        "placement": service_auth(secrets, "placement"),
        # Without a [neutron] password section nova cannot delete servers (FINDINGS).
        "neutron": service_auth(secrets, "neutron"),
        "glance": {"num_retries": 2},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": 10},
        "oslo_concurrency": {"lock_path": "/var/lib/nova/tmp"},
        "oslo_messaging_rabbit": MESSAGING,
        "oslo_policy": SCOPED_POLICY,
        "wsgi": {"api_paste_config": "/etc/nova/api-paste.ini"},
        "vnc": {"enabled": False},
        "cinder": {"os_region_name": REGION},
    })


def neutron_conf(secrets: dict[str, str], address: str) -> str:
    """neutron.conf of every node with a Neutron service (the server, the agents)."""
    return ini({
        "DEFAULT": {
            "bind_host": address, "bind_port": 9696,
            "core_plugin": "ml2", "service_plugins": "router",
            "auth_strategy": "keystone",
            "transport_url": transport_url(secrets),
            # The API in two worker processes: in one (api_workers = 0, the main
            # process's green threads) a create or delete of a network holds the process
            # for up to a second of Python, and every request behind it waits (measured
            # on an AMD EPYC 2-core machine: GET / p99 0.68 s, 3.7 % of network reads
            # over 1 s with no fault at all; with two, none). rpc_workers = 0 is raised
            # to 1 by neutron (service._get_rpc_workers): one RPC worker process consumes
            # the plugin's topic, the agents' state reports (rpc_state_report_workers = 0:
            # no separate reports worker, ML2's start_rpc_listeners takes them) and the L3
            # plugin's topic; one more process runs the periodic workers.
            "api_workers": 2, "rpc_workers": 0, "rpc_state_report_workers": 0,
            "log_dir": "/var/log/neutron",
            # Nothing in the lab waits for Nova's network-vif-plugged events (see nova.conf).
            "notify_nova_on_port_status_changes": False,
            "notify_nova_on_port_data_changes": False,
            # HA routers: keepalived (VRRP) on the L3 agents of both controllers.
            "l3_ha": True, "max_l3_agents_per_router": 2,
            "dhcp_agents_per_network": 2,
            # An agent silent for 30 s is dead (reports every 10 s, AGENT below): the
            # failover cases see it in the API within about half a minute, and one late
            # report under load does not make it flap (neutron wants >= 2x the interval).
            "agent_down_time": 30,
        },
        "database": {"connection": db_url(secrets, "neutron"), "max_retries": -1},
        "keystone_authtoken": authtoken(secrets, "neutron"),
        # The segments plugin's placement client (without it: MissingAuthPlugin
        # tracebacks in neutron-server's log at every start).
        "placement": service_auth(secrets, "neutron"),
        "agent": {
            "report_interval": 10,
            # The agents run as root in their node: commands run as they are, with no
            # sudo or rootwrap in front (an empty root_helper is split into no words).
            # Privsep daemons: each agent's ini sets their helper_command (privsep_ini).
            "root_helper": "",
        },
        # Zed marks the Linux bridge mechanism driver experimental: the server and its
        # agent refuse to start unless it is enabled here.
        "experimental": {"linuxbridge": True},
        "oslo_concurrency": {"lock_path": "/var/lib/neutron/tmp"},
        "oslo_messaging_rabbit": MESSAGING,
        "oslo_policy": POLICY,
    })


def ml2_conf() -> str:
    """ML2: VXLAN tenant networks wired by the Linux bridge agents (l2population: unicast
    forwarding entries, no multicast), a flat external network on the lab's bridge. The
    vlan type stays for the policy catalogue's provider-network operation (physnet1 is
    mapped on no node: such a network exists in the API only)."""
    return ini({
        "ml2": {"type_drivers": "flat,vlan,vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": "linuxbridge,l2population",
                "extension_drivers": "port_security"},
        "ml2_type_flat": {"flat_networks": topo.EXTERNAL_NETWORK},
        "ml2_type_vlan": {"network_vlan_ranges": "physnet1:100:3999"},
        "ml2_type_vxlan": {"vni_ranges": topo.VNI_RANGES},
    })


# Where each agent's own ini lives under /etc/neutron, and so what it is started with.
AGENT_INI = {
    "neutron-linuxbridge-agent": "plugins/ml2/linuxbridge_agent.ini",
    "neutron-dhcp-agent": "dhcp_agent.ini",
    "neutron-l3-agent": "l3_agent.ini",
}
PRIVSEP_SECTIONS = ("privsep", "privsep_dhcp_release", "privsep_ovs_vsctl",
                    "privsep_namespace", "privsep_conntrack", "privsep_link")


def agent_config_files(agent: str) -> list[str]:
    return ["/etc/neutron/neutron.conf", f"/etc/neutron/{AGENT_INI[agent]}"]


def privsep_sections(agent: str) -> dict[str, dict[str, object]]:
    """oslo.privsep starts each of neutron's privileged contexts as a daemon, by default
    with "sudo privsep-helper" (an empty root_helper does not replace the "sudo"): the
    agents are root, so each context's helper_command starts privsep-helper itself, with
    the agent's own config files (helper_command replaces the whole command)."""
    files = " ".join(f"--config-file {f}" for f in agent_config_files(agent))
    return {section: {"helper_command": f"privsep-helper {files}"}
            for section in PRIVSEP_SECTIONS}


def linuxbridge_agent_ini(node: str) -> str:
    """The Linux bridge agent of one node: VXLAN from its management address, l2population,
    iptables security groups (this kernel has br_netfilter), and on a controller the
    external network's bridge on its second interface."""
    mapping = (f"{topo.EXTERNAL_NETWORK}:{topo.EXTERNAL_INTERFACE}"
               if node in topo.EXTERNAL_NODES else None)
    return ini({
        "linux_bridge": {"physical_interface_mappings": mapping},
        "vxlan": {"enable_vxlan": True, "local_ip": topo.node(node).address,
                  "l2_population": True},
        "securitygroup": {"enable_security_group": True, "firewall_driver": "iptables"},
        **privsep_sections("neutron-linuxbridge-agent"),
    })


def dhcp_agent_ini() -> str:
    # No metadata: guests need none (no cloud-init; their address comes from DHCP).
    return ini({
        "DEFAULT": {"interface_driver": "linuxbridge", "enable_isolated_metadata": False,
                    "force_metadata": False, "num_sync_threads": 2},
        **privsep_sections("neutron-dhcp-agent"),
    })


def l3_agent_ini() -> str:
    # No metadata proxy (an haproxy per router and node otherwise); VRRP advertisements
    # every 2 s (neutron's default: a failover takes about 3 of them).
    return ini({
        "DEFAULT": {"interface_driver": "linuxbridge", "agent_mode": "legacy",
                    "enable_metadata_proxy": False, "ha_vrrp_advert_int": 2},
        **privsep_sections("neutron-l3-agent"),
    })


def galera_address() -> str:
    return "gcomm://" + ",".join(topo.node(n).address for n in topo.MEMBERS)


def my_cnf(node: str) -> str:
    """One Galera member: MariaDB 10.11 with galera-4, state transfers (SST) by rsync,
    every cluster port on the member's own lab address."""
    address = topo.node(node).address
    return ini({
        "mysqld": {
            "user": "mysql", "datadir": "/var/lib/mysql",
            "socket": "/run/mysqld/mysqld.sock", "pid-file": "/run/mysqld/mysqld.pid",
            "bind-address": address, "port": 3306,
            "skip-name-resolve": True, "max_connections": 1000,
            # Small caches: three members must fit the lab's memory budget.
            "innodb_buffer_pool_size": "32M", "innodb_log_file_size": "32M",
            "innodb_log_buffer_size": "4M", "key_buffer_size": "8M",
            "aria_pagecache_buffer_size": "8M",
            "innodb_flush_log_at_trx_commit": 2, "performance_schema": "off",
            "character-set-server": "utf8mb3", "collation-server": "utf8mb3_general_ci",
            "log-error": "/var/log/mysql/error.log",
            # Galera: row-based replication of InnoDB tables, interleaved auto-increments.
            "binlog_format": "ROW", "default_storage_engine": "InnoDB",
            "innodb_autoinc_lock_mode": 2,
            "wsrep_on": "ON", "wsrep_provider": "/usr/lib/galera/libgalera_smm.so",
            "wsrep_cluster_name": topo.CLUSTER_NAME,
            "wsrep_cluster_address": galera_address(),
            "wsrep_node_name": node, "wsrep_node_address": address,
            "wsrep_sst_method": "rsync", "wsrep_sst_receive_address": f"{address}:4444",
            # gcache small (the lab replicates about 13 kB/s, so 16 MB hold some 20 min
            # of writes; the ring buffer is mapped, so it counts in RSS once written): a
            # member back within minutes still catches up by IST (port 4568), else it gets
            # a full SST (rsync, 4444).
            "wsrep_provider_options": (
                f'"gmcast.listen_addr=tcp://{address}:4567; ist.recv_addr={address}:4568; '
                'gcache.size=16M; pc.recovery=TRUE"'),
        },
        "client": {"socket": "/run/mysqld/mysqld.sock"},
    }).replace("skip-name-resolve = true", "skip-name-resolve")


def rabbitmq_conf(secrets: dict[str, str], node: str) -> str:
    address = topo.node(node).address
    return "\n".join([
        f"listeners.tcp.1 = {address}:5672",
        "default_user = openstack",
        f"default_pass = {secrets['rabbit']}",
        "loopback_users = none",
        "log.file.level = info",
        f"cluster_name = {topo.CLUSTER_NAME}",
        # The minority side of a partition pauses and resumes once it sees the majority
        # again (Kolla's default): a healed partition never leaves two clusters.
        "cluster_partition_handling = pause_minority",
        "",
    ])


def rabbitmq_env(node: str) -> str:
    # The node name's host part resolves through the lab's /etc/hosts on every member.
    return f"NODENAME=rabbit@{node}\nNODE_IP_ADDRESS=\n"


def haproxy_cfg(admin_socket: str, added: tuple[str, ...] | list[str] = ()) -> str:
    lines = [
        "global",
        "    maxconn 4000",
        f"    stats socket {admin_socket} mode 600 level admin",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 120s",
        "    timeout server 120s",
        "    timeout check 1s",
        # A connection refused by a dead backend is retried on the other one; nothing
        # that reached a backend is ever sent again (FINDINGS: a re-sent POST /servers
        # created two servers), so layer-7 retries are off for all but safe reads.
        "    retries 2",
        "    option redispatch",
        "    retry-on conn-failure empty-response",
        "    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2",
        "",
        "listen stats",
        f"    bind {topo.node('lb').address}:8404",
        "    stats enable",
        "    stats uri /",
        "",
    ]
    checks = {"identity": "GET /v3", "placement": "GET /", "image": "GET /versions",
              "compute": "GET /", "network": "GET /"}
    lines += mariadb_listen()
    for service in topo.api_services(added):
        lines += [
            f"frontend {service.name}",
            f"    bind {topo.VIP}:{service.port}",
            "    http-request disable-l7-retry if !METH_GET !METH_HEAD",
            f"    default_backend {service.name}",
            "",
            f"backend {service.name}",
            f"    option httpchk {checks[service.api]}",
            "    http-check expect rstatus ^[23]",
        ]
        for node in service.nodes:
            lines.append(f"    {haproxy_server(service, node)}")
        lines.append("")
    return "\n".join(lines)


def haproxy_server(service: topo.Service, node: str) -> str:
    """An API backend's server line for ``node`` (the backend's default-server settings
    apply in the configuration file)."""
    return f"server {node} {topo.node(node).address}:{service.port} check"


def mariadb_listen() -> list[str]:
    """MariaDB on the VIP, as Kolla fronts Galera: TCP, one member active and the others
    backups (one writer at a time: no certification conflicts between writers), each
    checked by its clustercheck (HTTP 200 only when Synced and Primary). A member marked
    down has its connections cut, so clients reconnect to the next one at once."""
    lines = [
        "listen mariadb",
        f"    bind {topo.VIP}:3306",
        "    mode tcp",
        "    option tcpka",
        "    option httpchk GET /",
        "    http-check expect status 200",
        # Pooled connections idle for long: no cut after the API's 120 s.
        "    timeout client 3600s",
        "    timeout server 3600s",
        "    timeout check 3s",
        f"    default-server port {topo.CLUSTERCHECK_PORT} inter 1s fastinter 500ms "
        "downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions",
    ]
    # One writer: when the first member is back UP, the sessions opened on a backup during
    # its absence are cut (else two members take writes, and a read right after a commit
    # on the other one misses it: glance's image create answered 500 under load).
    for index, name in enumerate(topo.MEMBERS):
        lines.append(f"    server {name} {topo.node(name).address}:3306 check"
                     + (" backup" if index else " on-marked-up shutdown-backup-sessions"))
    return lines + [""]


def sshd_config(address: str, host_key: str, authorized_keys: str,
                password_login: bool = False) -> str:
    return "\n".join([
        f"ListenAddress {address}",
        "Port 22",
        f"HostKey {host_key}",
        "PidFile /run/sshd.pid",
        "UsePAM no",
        f"PermitRootLogin {'yes' if password_login else 'prohibit-password'}",
        f"PasswordAuthentication {'yes' if password_login else 'no'}",
        "KbdInteractiveAuthentication no",
        f"AuthorizedKeysFile {authorized_keys}",
        "PrintMotd no",
        "UseDNS no",
        "MaxStartups 100:30:200",
        "MaxSessions 50",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "AcceptEnv LANG LC_*",
        "",
    ])


def hosts_file() -> str:
    lines = ["127.0.0.1 localhost"]
    # The nodes `add-node` may add too: a name resolves the same before and after.
    lines += [f"{n.address} {n.name}" for n in topo.NODES + topo.SPARE_NODES]
    lines.append(f"{topo.VIP} vip")
    lines.append(f"{topo.SWITCH_MGMT_ADDRESS} {topo.SWITCH}")
    return "\n".join(lines) + "\n"

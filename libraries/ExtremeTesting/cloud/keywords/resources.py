from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from robot.api import SkipExecution, logger
from robot.api.deco import keyword
from robot.api.types import Secret

from .. import resources as helpers
from ..apierrors import CloudError, api_call, describe
from ..context import DEFAULT_WAIT
from ..resources import id_of
from .base import Component

Resource = Any  # an openstacksdk resource object, its id, or a dict with an id


class ResourceKeywords(Component):
    """Create, await, check and delete resources; everything created is tracked."""

    def _create(self, kind: str, name: str, create: Callable[[], Any],
                find: Callable[[str], Any] | None = None) -> Any:
        """Create and track at once; if creation fails, track what the cloud made anyway.

        A POST that times out may still have created the resource (the API answered
        late, or a proxy re-sent it): look it up by its unique name before failing.
        """
        try:
            created = create()
        except Exception as error:
            if find is not None:
                try:
                    found = find(name)
                except Exception:  # noqa: BLE001 - the original error matters more
                    found = None
                if found is not None:
                    self.ctx.track(kind, kind == "keypair" and name or found.id, name)
            raise describe(error, f"Creating {kind} {name}") from error
        resource_id = name if kind == "keypair" else created.id
        self.ctx.track(kind, resource_id, name)
        logger.info(f"Created {kind} {name} ({resource_id}).")
        return created

    def _forget(self, resource_id: str) -> None:
        self.ctx.tracker.forget(resource_id)

    # --- flavors and images -----------------------------------------------------------

    @keyword
    @api_call("Choosing the smallest flavor")
    def get_smallest_flavor(self) -> Any:
        """Returns the flavor with the least RAM (then vCPUs, then disk).

        Read it while the cloud is healthy, so that requests during an outage need nothing else.
        Fails with the API's answer (HTTP status, message, request id) when the call fails, or
        when the cloud has no flavor.

        | ${flavor} =    `Get Smallest Flavor`
        | `Create Server`    web    flavor=${flavor.id}
        """
        return helpers.smallest_flavor(self.conn.compute.flavors())

    @keyword
    @api_call("Choosing an active image")
    def get_active_image(self) -> Any:
        """Returns an active image of the cloud (the smallest one).

        Fails with the API's answer (HTTP status, message, request id) when the call fails, or
        when the cloud has no active image.

        | ${image} =    `Get Active Image`
        | `Create Server`    web    image=${image.id}
        """
        return helpers.active_image(self.conn.image.images())

    @keyword
    @api_call("Creating a flavor")
    def create_flavor(self, name: str = "flavor", ram: int = 64, vcpus: int = 1,
                      disk: int = 0, public: bool = True) -> Any:
        """Creates a flavor named with the run's prefix and returns it.

        ``name`` is prefixed (see `Get Resource Prefix`); ``ram`` in MiB, ``vcpus``, ``disk`` in
        GiB. ``public`` (default) lets any project boot on it: a private flavor needs flavor
        access granted to each project. The flavor is deleted when its test ends (see
        `Set Cleanup Level`). Fails with the API's answer (HTTP status, message, request id) when
        the call fails.

        | ${flavor} =    `Create Flavor`    tiny    ram=128
        """
        full = self.ctx.name(name)
        return self._create("flavor", full, lambda: self.conn.compute.create_flavor(
            name=full, ram=ram, vcpus=vcpus, disk=disk, is_public=public),
            lambda n: self.conn.compute.find_flavor(n, ignore_missing=True))

    @keyword
    @api_call("Deleting a flavor")
    def delete_flavor(self, flavor: Resource) -> None:
        """Deletes the flavor ``flavor`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when the flavor does not
        exist.

        | `Delete Flavor`    ${flavor}
        """
        self.conn.compute.delete_flavor(id_of(flavor), ignore_missing=False)
        self._forget(id_of(flavor))

    @keyword
    @api_call("Creating an image")
    def create_image(self, name: str = "image", size: int = 1024,
                     timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Uploads ``size`` bytes of zeros as a private raw image and waits until it is active.

        ``name`` is prefixed (see `Get Resource Prefix`); waits at most ``timeout``. Returns the
        image; it is deleted when its test ends. Fails with the API's answer (HTTP status,
        message, request id) when the call fails, or when the image is not active within
        ``timeout``.

        | ${image} =    `Create Image`    cirros-like    size=4096
        """
        full = self.ctx.name(name)
        image = self._create("image", full, lambda: self.conn.image.create_image(
            full, data=bytes(size), disk_format="raw", container_format="bare",
            tags=[self.ctx.tag], allow_duplicates=True, visibility="private"),
            lambda n: self.conn.image.find_image(n, ignore_missing=True))
        return helpers.wait_for_image(self.conn, image.id, timeout)

    @keyword
    @api_call("Deleting an image")
    def delete_image(self, image: Resource) -> None:
        """Deletes the image ``image`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when the image does not
        exist.

        | `Delete Image`    ${image}
        """
        self.conn.image.delete_image(id_of(image), ignore_missing=False)
        self._forget(id_of(image))

    # --- servers ----------------------------------------------------------------------

    def _networks(self, network: str) -> Any:
        if network.lower() in ("none", "auto"):
            # Needs compute microversion 2.37+, which openstacksdk negotiates.
            return network.lower()
        found = self.conn.network.find_network(network, ignore_missing=False)
        return [{"uuid": found.id}]

    @keyword
    @api_call("Creating a server")
    def create_server(self, name: str = "server", flavor: str | None = None,
                      image: str | None = None, network: str = "none", wait: bool = True,
                      timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Creates a server and, with ``wait``, waits until it is ACTIVE; returns it.

        ``name`` is prefixed (see `Get Resource Prefix`). ``flavor`` and ``image`` are names or
        ids; by default the smallest flavor and an active image. ``network`` is ``none`` (no port
        at all: microversion 2.37+, right for the fake driver and for control-plane tests),
        ``auto``, or a network name/id. ``timeout`` bounds the wait.

        Fails with the API's answer (HTTP status, message, request id) when the call fails; a
        server that goes to ERROR fails at once with Nova's fault message, one not ACTIVE within
        ``timeout`` fails with its status.

        | ${server} = | `Create Server` |
        | ${server} = | `Create Server` | web | flavor=m1.tiny | network=private |
        """
        flavor_obj = (self.conn.compute.find_flavor(flavor, ignore_missing=False) if flavor
                      else helpers.smallest_flavor(self.conn.compute.flavors()))
        image_obj = (self.conn.image.find_image(image, ignore_missing=False) if image
                     else helpers.active_image(self.conn.image.images()))
        networks = self._networks(network)
        full = self.ctx.name(name)
        server = self._create("server", full, lambda: self.conn.compute.create_server(
            name=full, flavor_id=flavor_obj.id, image_id=image_obj.id, networks=networks,
            metadata={self.ctx.tag: self.ctx.run_id}),
            lambda n: self.conn.compute.find_server(n, ignore_missing=True))
        if not wait:
            # The create answer carries adminPass; Robot would log it on assignment.
            return self.conn.compute.get_server(server.id)
        return helpers.wait_for_server(self.conn, server.id, "ACTIVE", timeout)

    @keyword
    @api_call("Waiting for a server")
    def wait_until_server_is_active(self, server: Resource,
                                    timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Polls until the ``server`` is ACTIVE, at most ``timeout``; returns it.

        Fails at once when it goes to ERROR (with Nova's fault message), after ``timeout`` with
        its status and task state, and as the API fails.

        | `Wait Until Server Is Active`    ${server.id}    timeout=5 min
        """
        return helpers.wait_for_server(self.conn, id_of(server), "ACTIVE", timeout)

    @keyword
    @api_call("Waiting for a server")
    def wait_until_server_status_is(self, server: Resource, status: str,
                                    timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Polls until the ``server`` has ``status`` (ACTIVE, SHUTOFF, ...), at most ``timeout``.

        Returns the server. Fails at once on ERROR (unless that is the ``status`` awaited), after
        ``timeout`` with the status seen, and as the API fails.

        | `Wait Until Server Status Is`    ${server}    SHUTOFF    timeout=2 min
        """
        return helpers.wait_for_server(self.conn, id_of(server), status, timeout)

    @keyword
    @api_call("Reading a server")
    def get_server(self, server: Resource) -> Any:
        """Returns the ``server`` as Nova shows it now (status, task state, addresses...).

        ``server`` is a server object or id. Fails with the API's answer (HTTP status, message,
        request id) when the call fails, and when it does not exist.

        | ${now} =    `Get Server`    ${server}
        """
        return self.conn.compute.get_server(id_of(server))

    @keyword
    @api_call("Checking a server's status")
    def server_status_should_be(self, server: Resource, status: str) -> None:
        """Checks that the ``server`` has ``status`` now (case does not matter); no waiting.

        Fails naming the status, task state and fault seen when it differs. Fails with the API's
        answer (HTTP status, message, request id) when the call fails.

        | `Server Status Should Be`    ${server}    ACTIVE
        """
        found = self.conn.compute.get_server(id_of(server))
        if str(found.status).upper() != status.upper():
            raise CloudError(f"Expected server {found.name} ({found.id}) to be "
                             f"{status.upper()}; it is {found.status} (task state "
                             f"{getattr(found, 'task_state', None)}, fault "
                             f"{helpers.server_fault(found)}).")

    @keyword
    @api_call("Stopping a server")
    def stop_server(self, server: Resource, timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Stops the ``server`` and waits until it is SHUTOFF, at most ``timeout``; returns it.

        Fails with the API's answer (HTTP status, message, request id) when the call fails, or
        when it is not SHUTOFF within ``timeout``.
        """
        self.conn.compute.stop_server(id_of(server))
        return helpers.wait_for_server(self.conn, id_of(server), "SHUTOFF", timeout)

    @keyword
    @api_call("Starting a server")
    def start_server(self, server: Resource, timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Starts the ``server`` and waits until it is ACTIVE, at most ``timeout``; returns it.

        Fails with the API's answer (HTTP status, message, request id) when the call fails, or
        when it is not ACTIVE within ``timeout``.
        """
        self.conn.compute.start_server(id_of(server))
        return helpers.wait_for_server(self.conn, id_of(server), "ACTIVE", timeout)

    @keyword
    @api_call("Rebooting a server")
    def reboot_server(self, server: Resource, hard: bool = False,
                      timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Reboots the ``server`` (soft, or ``hard``) and waits until it is ACTIVE again.

        Waits at most ``timeout``; returns the server. Fails with the API's answer (HTTP status,
        message, request id) when the call fails, or when it is not ACTIVE within ``timeout``.

        | `Reboot Server`    ${server}    hard=True
        """
        self.conn.compute.reboot_server(id_of(server), "HARD" if hard else "SOFT")
        return helpers.wait_for_server(self.conn, id_of(server), "ACTIVE", timeout)

    @keyword
    @api_call("Deleting a server")
    def delete_server(self, server: Resource, wait: bool = True,
                      timeout: timedelta = DEFAULT_WAIT) -> None:
        """Deletes the ``server`` and, with ``wait``, waits at most ``timeout`` until it is gone.

        Once gone it is no longer tracked. Fails with the API's answer (HTTP status, message,
        request id) when the call fails, when it does not exist, or when it is still there after
        ``timeout``.

        | `Delete Server`    ${server}
        """
        self.conn.compute.delete_server(id_of(server), ignore_missing=False)
        if wait:
            helpers.wait_for_gone(self.conn.compute.find_server, id_of(server), "server",
                                  timeout)
            self._forget(id_of(server))

    @keyword
    @api_call("Waiting for a server to go")
    def wait_until_server_is_deleted(self, server: Resource,
                                     timeout: timedelta = DEFAULT_WAIT) -> None:
        """Polls until the ``server`` is gone, at most ``timeout``; then stops tracking it.

        Use it after `Delete Server` with ``wait=False``. Fails when it still exists after
        ``timeout``, and as the API fails.
        """
        helpers.wait_for_gone(self.conn.compute.find_server, id_of(server), "server", timeout)
        self._forget(id_of(server))

    @keyword
    @api_call("Looking for a server")
    def server_should_not_exist(self, server: Resource) -> None:
        """Checks that the ``server`` (object or id) no longer exists; no waiting.

        Fails naming its status when it still exists. Fails with the API's answer (HTTP status,
        message, request id) when the call fails.
        """
        found = self.conn.compute.find_server(id_of(server), ignore_missing=True)
        if found is not None:
            raise CloudError(f"Expected server {id_of(server)} to be gone; it is "
                             f"{found.status}.")

    # --- networks ---------------------------------------------------------------------

    def _tag(self, resource: Any) -> None:
        try:
            self.conn.network.set_tags(resource, [self.ctx.tag])
        except Exception as error:  # noqa: BLE001 - the name prefix still identifies it
            logger.debug(f"Could not tag {resource.id}: {error}")

    @keyword
    @api_call("Creating a network")
    def create_network(self, name: str = "network") -> Any:
        """Creates a network named with the run's prefix, tagged ``extreme-testing``; returns it.

        ``name`` is prefixed (see `Get Resource Prefix`); the network is deleted when its test
        ends (see `Set Cleanup Level`). Fails with the API's answer (HTTP status, message,
        request id) when the call fails.

        | ${network} =    `Create Network`    private
        | `Create Subnet`    ${network}    10.199.1.0/24
        """
        full = self.ctx.name(name)
        network = self._create("network", full,
                               lambda: self.conn.network.create_network(name=full),
                               lambda n: self.conn.network.find_network(n, ignore_missing=True))
        self._tag(network)
        return network

    @keyword
    @api_call("Creating a subnet")
    def create_subnet(self, network: Resource, cidr: str = "10.199.0.0/24",
                      name: str = "subnet", dhcp: bool = False) -> Any:
        """Creates an IPv4 subnet of ``cidr`` on ``network``; returns it.

        ``network`` is a network object or id; ``name`` is prefixed; ``dhcp`` enables DHCP (off
        by default: no agent is needed). Deleted when its test ends. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, for instance when ``cidr``
        overlaps another subnet of the network.

        | ${subnet} =    `Create Subnet`    ${network}    10.199.1.0/24    dhcp=True
        """
        full = self.ctx.name(name)
        subnet = self._create("subnet", full, lambda: self.conn.network.create_subnet(
            name=full, network_id=id_of(network), cidr=cidr, ip_version=4,
            is_dhcp_enabled=dhcp),
            lambda n: self.conn.network.find_subnet(n, ignore_missing=True))
        self._tag(subnet)
        return subnet

    @keyword
    @api_call("Creating a port")
    def create_port(self, network: Resource, name: str = "port") -> Any:
        """Creates a port on ``network`` (object or id); returns it.

        ``name`` is prefixed; the port is deleted when its test ends. Fails with the API's answer
        (HTTP status, message, request id) when the call fails.

        | ${port} =    `Create Port`    ${network}
        """
        full = self.ctx.name(name)
        port = self._create("port", full, lambda: self.conn.network.create_port(
            name=full, network_id=id_of(network)),
            lambda n: self.conn.network.find_port(n, ignore_missing=True))
        self._tag(port)
        return port

    @keyword
    @api_call("Deleting a port")
    def delete_port(self, port: Resource) -> None:
        """Deletes the port ``port`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when the port does not exist.

        | `Delete Port`    ${port}
        """
        self.conn.network.delete_port(id_of(port), ignore_missing=False)
        self._forget(id_of(port))

    @keyword
    @api_call("Deleting a subnet")
    def delete_subnet(self, subnet: Resource) -> None:
        """Deletes the subnet ``subnet`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when the subnet does not
        exist.

        | `Delete Subnet`    ${subnet}
        """
        self.conn.network.delete_subnet(id_of(subnet), ignore_missing=False)
        self._forget(id_of(subnet))

    @keyword
    @api_call("Deleting a network")
    def delete_network(self, network: Resource) -> None:
        """Deletes the network ``network`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Delete its ports and subnets
        first. Fails with the API's answer (HTTP status, message, request id) when the call
        fails, and when the network does not exist.

        | `Delete Network`    ${network}
        """
        self.conn.network.delete_network(id_of(network), ignore_missing=False)
        self._forget(id_of(network))

    # --- key pairs, projects, users ---------------------------------------------------

    @keyword
    @api_call("Creating a key pair")
    def create_keypair(self, name: str = "keypair") -> Any:
        """Creates a key pair from a fresh public key; the private key is never kept.

        ``name`` is prefixed; returns the key pair; it is deleted when its test ends. Fails with
        the API's answer (HTTP status, message, request id) when the call fails.

        | ${keypair} =    `Create Keypair`
        """
        full = self.ctx.name(name)
        return self._create("keypair", full, lambda: self.conn.compute.create_keypair(
            name=full, public_key=helpers.public_key()),
            lambda n: self.conn.compute.find_keypair(n, ignore_missing=True))

    @keyword
    @api_call("Deleting a key pair")
    def delete_keypair(self, keypair: Resource) -> None:
        """Deletes the key pair ``keypair`` (the object `Create Keypair` returned, or its name).

        The key pair is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when it does not exist.

        | `Delete Keypair`    ${keypair}
        """
        name = keypair if isinstance(keypair, str) else keypair.name
        self.conn.compute.delete_keypair(name, ignore_missing=False)
        self._forget(name)

    @keyword
    @api_call("Creating a project")
    def create_project(self, name: str = "project", domain: str = "default") -> Any:
        """Creates a Keystone project in ``domain`` (default ``default``); returns it.

        ``name`` is prefixed and the project tagged ``extreme-testing``; it is deleted when its
        test ends. Needs an admin (or domain admin) token. Fails with the API's answer (HTTP
        status, message, request id) when the call fails, for instance 403 for a token that may
        not create projects.

        | ${project} =    `Create Project`    tenant-a
        """
        full = self.ctx.name(name)
        return self._create("project", full, lambda: self.conn.identity.create_project(
            name=full, domain_id=domain, tags=[self.ctx.tag],
            description="created by Robot Framework ExtremeTesting.Cloud"),
            lambda n: self.conn.identity.find_project(n, ignore_missing=True))

    @keyword
    @api_call("Creating a user")
    def create_user(self, name: str = "user", project: Resource | None = None,
                    password: Secret | None = None, domain: str = "default") -> Any:
        """Creates a Keystone user in ``domain``; returns it as Keystone shows it.

        ``name`` is prefixed; ``project`` (object or id) becomes its default project.
        ``password`` must be a Secret; without it a random one is used, never logged nor returned
        (the object openstacksdk returns from the create call still holds the password, and Robot
        would log it on assignment). Deleted when its test ends. Fails with the API's answer
        (HTTP status, message, request id) when the call fails.

        | ${user} =    `Create User`    alice    project=${project}
        """
        from .. import logsafety

        secret = password.value if password is not None else secrets.token_urlsafe(24)
        logsafety.register_secret(secret)
        full = self.ctx.name(name)
        attrs: dict[str, Any] = {"name": full, "password": secret, "domain_id": domain}
        if project is not None:
            attrs["default_project_id"] = id_of(project)
        created = self._create("user", full, lambda: self.conn.identity.create_user(**attrs),
                               lambda n: self.conn.identity.find_user(n, ignore_missing=True))
        return self.conn.identity.get_user(created.id)

    @keyword
    @api_call("Deleting a user")
    def delete_user(self, user: Resource) -> None:
        """Deletes the user ``user`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when the user does not exist.

        | `Delete User`    ${user}
        """
        self.conn.identity.delete_user(id_of(user), ignore_missing=False)
        self._forget(id_of(user))

    @keyword
    @api_call("Deleting a project")
    def delete_project(self, project: Resource) -> None:
        """Deletes the project ``project`` (the object a ``Create`` keyword returned, or its id).

        The resource is no longer tracked for automatic deletion. Fails with the API's answer
        (HTTP status, message, request id) when the call fails, and when the project does not
        exist.

        | `Delete Project`    ${project}
        """
        self.conn.identity.delete_project(id_of(project), ignore_missing=False)
        self._forget(id_of(project))

    # --- volumes ----------------------------------------------------------------------

    def _require_volumes(self) -> None:
        if not self.ctx.has_volume_service():
            raise SkipExecution("The cloud has no volume service (no block-storage endpoint "
                                "in the catalog): volumes cannot be created.")

    @keyword
    @api_call("Creating a volume")
    def create_volume(self, size: int = 1, name: str = "volume", wait: bool = True,
                      timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Creates a volume of ``size`` GiB and, with ``wait``, waits until it is available.

        ``name`` is prefixed; waits at most ``timeout``; returns the volume, deleted when its
        test ends. Skips the test when the cloud has no volume service. Fails with the API's
        answer (HTTP status, message, request id) when the call fails, or when the volume goes to
        error or is not available within ``timeout``.

        | ${volume} =    `Create Volume`    2
        """
        self._require_volumes()
        full = self.ctx.name(name)
        volume = self._create("volume", full, lambda: self.conn.block_storage.create_volume(
            name=full, size=size, metadata={self.ctx.tag: self.ctx.run_id}),
            lambda n: self.conn.block_storage.find_volume(n, ignore_missing=True))
        if not wait:
            return volume
        return helpers.wait_for_volume(self.conn, volume.id, "available", timeout)

    @keyword
    @api_call("Waiting for a volume")
    def wait_until_volume_is_available(self, volume: Resource,
                                       timeout: timedelta = DEFAULT_WAIT) -> Any:
        """Polls until the ``volume`` is available, at most ``timeout``; returns it.

        Skips the test when the cloud has no volume service. Fails when the volume goes to error
        or is still not available after ``timeout``, and as the API fails.
        """
        self._require_volumes()
        return helpers.wait_for_volume(self.conn, id_of(volume), "available", timeout)

    @keyword
    @api_call("Deleting a volume")
    def delete_volume(self, volume: Resource, wait: bool = True,
                      timeout: timedelta = DEFAULT_WAIT) -> None:
        """Deletes the ``volume`` and, with ``wait``, waits at most ``timeout`` until it is gone.

        Skips the test when the cloud has no volume service. Fails with the API's answer (HTTP
        status, message, request id) when the call fails, when it does not exist, or when it is
        still there after ``timeout``.
        """
        self._require_volumes()
        self.conn.block_storage.delete_volume(id_of(volume), ignore_missing=False)
        if wait:
            helpers.wait_for_gone(self.conn.block_storage.find_volume, id_of(volume),
                                  "volume", timeout)
            self._forget(id_of(volume))

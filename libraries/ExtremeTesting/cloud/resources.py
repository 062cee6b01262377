"""Helpers for creating and awaiting resources: choosing a flavor or image, waiting for a
server or volume state, making a key pair without ever holding a private key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from .apierrors import CloudError
from .polling import wait_until

SERVER_FAILED = ("ERROR",)
VOLUME_FAILED = ("error", "error_deleting", "error_extending", "error_restoring")


def smallest_flavor(flavors: Iterable[Any]) -> Any:
    """The flavor with the least RAM, then vCPUs, then disk."""
    candidates = [f for f in flavors if not getattr(f, "is_disabled", False)]
    if not candidates:
        raise CloudError("The cloud offers no flavor. Create one (openstack flavor create "
                         "--ram 64 --vcpus 1 --disk 0 tiny) or pass flavor=NAME.")
    return min(candidates, key=lambda f: (f.ram or 0, f.vcpus or 0, f.disk or 0, f.name))


def active_image(images: Iterable[Any]) -> Any:
    """An active image, the smallest one first."""
    active = [i for i in images if str(getattr(i, "status", "")).lower() == "active"]
    if not active:
        raise CloudError("The cloud has no active image. Upload one (openstack image create "
                         "--file cirros.img tiny) or pass image=NAME.")
    return min(active, key=lambda i: (getattr(i, "size", None) or 0, i.name or ""))


def public_key() -> str:
    """An OpenSSH ed25519 public key whose private half is thrown away at once.

    Nova no longer generates key pairs (microversion 2.92); tests that only need a key
    pair to exist need no private key, and a private key never reaches the log.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode("ascii") + " extreme-testing"


def server_fault(server: Any) -> str:
    fault = getattr(server, "fault", None) or {}
    if isinstance(fault, dict) and fault.get("message"):
        return f"{fault.get('code', '?')} {fault['message']}"
    return "no fault recorded"


def wait_for_server(conn: Any, server_id: str, status: str, timeout: timedelta) -> Any:
    """Poll the server until it has *status*; fail at once if it goes to ERROR."""
    wanted = status.upper()

    def check() -> tuple[bool, Any]:
        server = conn.compute.get_server(server_id)
        seen = str(server.status).upper()
        if seen in SERVER_FAILED and wanted not in SERVER_FAILED:
            raise CloudError(
                f"Server {server.name} ({server_id}) went to {seen} while waiting for "
                f"{wanted}: {server_fault(server)}. Look for the server's request id in "
                "nova-conductor's and nova-compute's logs.")
        return seen == wanted, f"status {seen}, task state {getattr(server, 'task_state', None)}"

    wait_until(check, timeout, f"server {server_id} is {wanted}")
    return conn.compute.get_server(server_id)


def wait_for_gone(finder: Any, resource_id: str, what: str, timeout: timedelta) -> None:
    def check() -> tuple[bool, str]:
        found = finder(resource_id, ignore_missing=True)
        return found is None, (f"still there, status {getattr(found, 'status', '?')}"
                               if found is not None else "gone")

    wait_until(check, timeout, f"{what} {resource_id} is deleted")


def wait_for_volume(conn: Any, volume_id: str, status: str, timeout: timedelta) -> Any:
    wanted = status.lower()

    def check() -> tuple[bool, Any]:
        volume = conn.block_storage.get_volume(volume_id)
        seen = str(volume.status).lower()
        if seen in VOLUME_FAILED and wanted not in VOLUME_FAILED:
            raise CloudError(f"Volume {volume.name} ({volume_id}) went to {seen} while "
                             f"waiting for {wanted}. See cinder-volume's log.")
        return seen == wanted, f"status {seen}"

    wait_until(check, timeout, f"volume {volume_id} is {wanted}")
    return conn.block_storage.get_volume(volume_id)


def wait_for_image(conn: Any, image_id: str, timeout: timedelta) -> Any:
    def check() -> tuple[bool, Any]:
        image = conn.image.get_image(image_id)
        seen = str(image.status).lower()
        if seen in ("killed", "deleted", "pending_delete"):
            raise CloudError(f"Image {image.name} ({image_id}) went to {seen} while "
                             "waiting for active. See glance-api's log.")
        return seen == "active", f"status {seen}"

    wait_until(check, timeout, f"image {image_id} is active")
    return conn.image.get_image(image_id)


def id_of(resource: Any) -> str:
    """The id of a resource object, a dict with an id, or the string itself."""
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict):
        return str(resource["id"])
    return str(resource.id)

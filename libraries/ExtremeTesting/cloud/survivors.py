"""Grenade's survivors on a live cloud: resources made before a change, checked after it.

Created with the Cloud library's own keywords (``cloud`` below is the Cloud library),
so they are named, tagged and cleaned up as every resource of a run; checked here: each
still exists, unchanged and usable. With a ``data_plane`` in the target the data plane's
guests (`Boot Data Plane Guests`: the run's, or the suite's, booted once) are survivors too: each of
their paths must still answer after the change.
The survivor user's password is made here, kept in memory only and never logged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from robot.api.types import Secret

from . import dataplane
from .apierrors import CloudError

MEMBER_ROLE = "member"
# A guest's path checked after the change: it must answer again within this (a packet or
# two may be lost by chance; a path cut by the change stays cut).
REACHABLE_WITHIN = 30.0


@dataclass
class Survivors:
    server: str
    network: str
    port: str
    port_mac: str
    image: str
    image_md5: str
    keypair: str
    keypair_fingerprint: str
    project: str
    user: str
    _password: str = field(repr=False, default="")
    data_plane: dict[str, str] = field(default_factory=dict)  # path name -> spec

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def create(cloud, prefix: str = "survivor") -> Survivors:
    """``cloud`` is the Cloud library (its resource keywords make the survivors)."""
    network = cloud.create_network(f"{prefix}-net")
    cloud.create_subnet(network, name=f"{prefix}-subnet")
    port = cloud.create_port(network, name=f"{prefix}-port")
    content = secrets.token_bytes(4096)
    image = cloud.create_image(f"{prefix}-image", size=len(content))
    keypair = cloud.create_keypair(f"{prefix}-key")
    project = cloud.create_project(f"{prefix}-project")
    password = secrets.token_urlsafe(24)
    user = cloud.create_user(f"{prefix}-user", project=project, password=Secret(password))
    conn = cloud.ctx.conn
    # A member of its project: it gets a token scoped to it, and may read it back.
    member = conn.identity.find_role(MEMBER_ROLE, ignore_missing=False)
    conn.identity.assign_project_role_to_user(project, user, member)
    server = cloud.create_server(f"{prefix}-server")
    target = cloud.ctx.target()
    paths = (cloud.boot_data_plane_guests()
             if target is not None and target.data.get("data_plane") is not None else {})
    return Survivors(server=server.id, network=network.id, port=port.id,
                     port_mac=port.mac_address, image=image.id,
                     image_md5=_image_md5(conn, image.id), keypair=keypair.name,
                     keypair_fingerprint=keypair.fingerprint, project=project.id,
                     user=user.id, _password=password, data_plane=paths)


def _image_md5(conn, image_id: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in conn.image.download_image(image_id, stream=True).iter_content(65536):
        digest.update(chunk)
    return digest.hexdigest()


def problems(cloud, found: Survivors) -> list[str]:
    """What is wrong with the survivors; empty when each is intact and usable."""
    conn = cloud.ctx.conn
    wrong: list[str] = []

    def check(what: str, test) -> None:
        try:
            problem = test()
        except Exception as error:  # noqa: BLE001 - every failure is a finding to list
            problem = f"{type(error).__name__}: {error}"
        if problem:
            wrong.append(f"{what}: {problem}")

    def server():
        status = conn.compute.get_server(found.server).status
        return None if status == "ACTIVE" else f"status {status}, expected ACTIVE"

    def network():
        conn.network.get_network(found.network)
        port = conn.network.get_port(found.port)
        if port.network_id != found.network or port.mac_address != found.port_mac:
            return f"port changed (network {port.network_id}, MAC {port.mac_address})"
        return None

    def image():
        status = conn.image.get_image(found.image).status
        if status != "active":
            return f"status {status}, expected active"
        md5 = _image_md5(conn, found.image)
        return None if md5 == found.image_md5 else f"checksum {md5}, expected {found.image_md5}"

    def keypair():
        fingerprint = conn.compute.get_keypair(found.keypair).fingerprint
        return None if fingerprint == found.keypair_fingerprint else "fingerprint changed"

    def user():
        # As the user (a project-scoped admin may not read other projects under the new
        # default policies): a token scoped to its project, then the project itself.
        session = user_session(conn, found)
        response = session.get(f"/projects/{found.project}",
                               endpoint_filter={"service_type": "identity"}, raise_exc=False)
        if response.status_code != 200:
            return f"the user's own project answered HTTP {response.status_code}"
        return None

    check(f"server {found.server}", server)
    check(f"network {found.network} / port {found.port}", network)
    check(f"image {found.image}", image)
    check(f"key pair {found.keypair}", keypair)
    check(f"project {found.project} / user {found.user}", user)
    for name, spec in sorted(found.data_plane.items()):
        check(f"data-plane path {name} ({spec})", lambda n=name, s=spec: dataplane.
              wait_until_answering({n: s}, REACHABLE_WITHIN, cloud.data_plane.answers))
    return wrong


def user_session(conn, found: Survivors):
    """A Keystone session of the survivor user, scoped to its project; fails when
    Keystone gives it no token."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth_url = conn.config.get_auth_args()["auth_url"]
    auth = v3.Password(auth_url=auth_url, user_id=found.user, password=found._password,
                       project_id=found.project)
    session = ks_session.Session(auth=auth, verify=conn.config.config.get("verify", True),
                                 timeout=30)
    if not session.get_token():
        raise CloudError("Keystone gave no token.")
    return session

"""The built-in operations over Keystone, Nova, Glance, Neutron and Placement.

Names follow ``<service>:<policy rule>``; where a service's rule name differs (Nova's
``os_compute_api:...``, Neutron's bare ``create_network``), ``rule=`` gives the deployed
one. Operations on another project's resources that the API hides carry ``deny=404``.
"""

from __future__ import annotations

from .operations import OTHER, OWN, OperationContext, operation

JSON_PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


# --------------------------------------------------------------------- identity (Keystone)
@operation("identity:list_users")
def list_users(ctx: OperationContext):
    """List the users of the cloud."""
    return ctx.as_persona("identity", "GET", "/users")


@operation("identity:get_user")
def get_user(ctx: OperationContext):
    """Show the admin user (another user than the persona)."""
    return ctx.as_persona("identity", "GET", f"/users/{ctx.admin.current_user_id}")


@operation("identity:create_user")
def create_user(ctx: OperationContext):
    """Create a user (deleted again)."""
    return ctx.as_persona("identity", "POST", "/users", {"user": {
        "name": ctx.name("user"), "domain_id": "default", "enabled": False}},
        created=("user", "/users/{id}"))


def _user(ctx: OperationContext) -> dict:
    return ctx.admin_create("identity", "/users", {"user": {
        "name": ctx.name("user"), "domain_id": "default", "enabled": False}},
        "user", "/users/{id}")


@operation("identity:update_user")
def update_user(ctx: OperationContext):
    """Change the description of a user the admin created."""
    user = _user(ctx)
    return ctx.as_persona("identity", "PATCH", f"/users/{user['id']}",
                          {"user": {"description": "changed by a persona"}})


@operation("identity:delete_user")
def delete_user(ctx: OperationContext):
    """Delete a user the admin created."""
    return ctx.as_persona("identity", "DELETE", f"/users/{_user(ctx)['id']}")


@operation("identity:list_projects")
def list_projects(ctx: OperationContext):
    """List every project of the cloud."""
    return ctx.as_persona("identity", "GET", "/projects")


@operation("identity:get_project", target=OWN)
def get_own_project(ctx: OperationContext):
    """Show the persona's own project."""
    return ctx.as_persona("identity", "GET", f"/projects/{ctx.project_id}")


@operation("identity:get_project:other", rule="identity:get_project", target=OTHER)
def get_other_project(ctx: OperationContext):
    """Show a project the persona has no role in."""
    return ctx.as_persona("identity", "GET", f"/projects/{ctx.other_project_id}")


@operation("identity:create_project")
def create_project(ctx: OperationContext):
    """Create a project (deleted again)."""
    return ctx.as_persona("identity", "POST", "/projects", {"project": {
        "name": ctx.name("project"), "domain_id": "default", "enabled": False}},
        created=("project", "/projects/{id}"))


@operation("identity:delete_project")
def delete_project(ctx: OperationContext):
    """Delete a disabled project the admin created."""
    project = ctx.admin_create("identity", "/projects", {"project": {
        "name": ctx.name("project"), "domain_id": "default", "enabled": False}},
        "project", "/projects/{id}")
    return ctx.as_persona("identity", "DELETE", f"/projects/{project['id']}")


@operation("identity:list_roles")
def list_roles(ctx: OperationContext):
    """List the roles."""
    return ctx.as_persona("identity", "GET", "/roles")


@operation("identity:create_role")
def create_role(ctx: OperationContext):
    """Create a role (deleted again)."""
    return ctx.as_persona("identity", "POST", "/roles", {"role": {"name": ctx.name("role")}},
                          created=("role", "/roles/{id}"))


@operation("identity:list_role_assignments")
def list_role_assignments(ctx: OperationContext):
    """List every role assignment of the cloud."""
    return ctx.as_persona("identity", "GET", "/role_assignments")


@operation("identity:list_services")
def list_services(ctx: OperationContext):
    """List the catalogue's services."""
    return ctx.as_persona("identity", "GET", "/services")


@operation("identity:list_endpoints")
def list_endpoints(ctx: OperationContext):
    """List the catalogue's endpoints."""
    return ctx.as_persona("identity", "GET", "/endpoints")


@operation("identity:list_domains")
def list_domains(ctx: OperationContext):
    """List the domains."""
    return ctx.as_persona("identity", "GET", "/domains")


@operation("identity:create_group")
def create_group(ctx: OperationContext):
    """Create a group (deleted again)."""
    return ctx.as_persona("identity", "POST", "/groups", {"group": {
        "name": ctx.name("group"), "domain_id": "default"}}, created=("group", "/groups/{id}"))


# --------------------------------------------------------------------- compute (Nova)
@operation("compute:servers:index", rule="os_compute_api:servers:index", target=OWN)
def list_servers(ctx: OperationContext):
    """List the servers of the persona's project."""
    return ctx.as_persona("compute", "GET", "/servers")


@operation("compute:servers:create", rule="os_compute_api:servers:create", target=OWN)
def create_server(ctx: OperationContext):
    """Boot a server without a network in the persona's project (deleted again). The
    flavor has a disk: booting a zero-disk flavor from an image is a rule of its own
    (``os_compute_api:servers:create:zero_disk_flavor``, admin only)."""
    flavor = ctx.admin_create("compute", "/flavors", {"flavor": {
        "name": ctx.name("flavor"), "ram": 64, "vcpus": 1, "disk": 1}},
        "flavor", "/flavors/{id}")
    return ctx.as_persona("compute", "POST", "/servers", {"server": {
        "name": ctx.name("server"), "flavorRef": flavor["id"],
        "imageRef": ctx.fixture("image"), "networks": "none"}}, microversion="2.37",
        created=("server", "/servers/{id}"))


@operation("compute:os-flavor-manage:create", rule="os_compute_api:os-flavor-manage:create")
def create_flavor(ctx: OperationContext):
    """Create a flavor (deleted again)."""
    return ctx.as_persona("compute", "POST", "/flavors", {"flavor": {
        "name": ctx.name("flavor"), "ram": 64, "vcpus": 1, "disk": 0}},
        created=("flavor", "/flavors/{id}"))


@operation("compute:os-flavor-manage:delete", rule="os_compute_api:os-flavor-manage:delete")
def delete_flavor(ctx: OperationContext):
    """Delete a flavor the admin created."""
    flavor = ctx.admin_create("compute", "/flavors", {"flavor": {
        "name": ctx.name("flavor"), "ram": 64, "vcpus": 1, "disk": 0}},
        "flavor", "/flavors/{id}")
    return ctx.as_persona("compute", "DELETE", f"/flavors/{flavor['id']}")


@operation("compute:os-hypervisors:list", rule="os_compute_api:os-hypervisors:list")
def list_hypervisors(ctx: OperationContext):
    """List the hypervisors."""
    return ctx.as_persona("compute", "GET", "/os-hypervisors")


@operation("compute:os-services:list", rule="os_compute_api:os-services:list")
def list_compute_services(ctx: OperationContext):
    """List the compute services (conductor, scheduler, compute hosts)."""
    return ctx.as_persona("compute", "GET", "/os-services")


@operation("compute:os-aggregates:index", rule="os_compute_api:os-aggregates:index")
def list_aggregates(ctx: OperationContext):
    """List the host aggregates."""
    return ctx.as_persona("compute", "GET", "/os-aggregates")


@operation("compute:os-aggregates:create", rule="os_compute_api:os-aggregates:create")
def create_aggregate(ctx: OperationContext):
    """Create a host aggregate (deleted again)."""
    return ctx.as_persona("compute", "POST", "/os-aggregates",
                          {"aggregate": {"name": ctx.name("aggregate")}},
                          created=("aggregate", "/os-aggregates/{id}"))


@operation("compute:os-availability-zone:detail",
           rule="os_compute_api:os-availability-zone:detail")
def list_availability_zones_in_detail(ctx: OperationContext):
    """List the availability zones with their hosts."""
    return ctx.as_persona("compute", "GET", "/os-availability-zone/detail")


@operation("compute:os-migrations:index", rule="os_compute_api:os-migrations:index")
def list_migrations(ctx: OperationContext):
    """List every migration of the cloud."""
    return ctx.as_persona("compute", "GET", "/os-migrations")


@operation("compute:os-quota-sets:show", rule="os_compute_api:os-quota-sets:show",
           target=OWN)
def show_own_quotas(ctx: OperationContext):
    """Show the compute quotas of the persona's project."""
    return ctx.as_persona("compute", "GET", f"/os-quota-sets/{ctx.project_id}")


@operation("compute:os-quota-sets:show:other", rule="os_compute_api:os-quota-sets:show",
           target=OTHER)
def show_other_quotas(ctx: OperationContext):
    """Show the compute quotas of a project the persona has no role in."""
    return ctx.as_persona("compute", "GET", f"/os-quota-sets/{ctx.other_project_id}")


@operation("compute:os-quota-sets:update", rule="os_compute_api:os-quota-sets:update",
           target=OWN)
def update_own_quotas(ctx: OperationContext):
    """Set the persona's project's instance quota to the value it has (no change)."""
    quotas = ctx.admin_call("compute", "GET", f"/os-quota-sets/{ctx.project_id}")
    return ctx.as_persona("compute", "PUT", f"/os-quota-sets/{ctx.project_id}", {
        "quota_set": {"instances": quotas["quota_set"]["instances"]}})


@operation("compute:os-simple-tenant-usage:show",
           rule="os_compute_api:os-simple-tenant-usage:show", target=OWN)
def show_own_usage(ctx: OperationContext):
    """Show the usage of the persona's project."""
    return ctx.as_persona("compute", "GET", f"/os-simple-tenant-usage/{ctx.project_id}")


@operation("compute:os-simple-tenant-usage:show:other",
           rule="os_compute_api:os-simple-tenant-usage:show", target=OTHER)
def show_other_usage(ctx: OperationContext):
    """Show the usage of a project the persona has no role in."""
    return ctx.as_persona("compute", "GET", f"/os-simple-tenant-usage/{ctx.other_project_id}")


@operation("compute:os-keypairs:index", rule="os_compute_api:os-keypairs:index")
def list_keypairs(ctx: OperationContext):
    """List the persona's own key pairs."""
    return ctx.as_persona("compute", "GET", "/os-keypairs")


@operation("compute:limits", rule="os_compute_api:limits", target=OWN)
def show_limits(ctx: OperationContext):
    """Show the absolute limits of the persona's project."""
    return ctx.as_persona("compute", "GET", "/limits")


# --------------------------------------------------------------------- image (Glance)
def _image(ctx: OperationContext, owner: str) -> dict:
    return ctx.admin_create("image", "/images", {
        "name": ctx.name("image"), "disk_format": "raw", "container_format": "bare",
        "visibility": "private", "owner": owner}, None, "/images/{id}")


@operation("image:get_images")
def list_images(ctx: OperationContext):
    """List the images the persona can see."""
    return ctx.as_persona("image", "GET", "/images")


@operation("image:add_image", target=OWN)
def create_image(ctx: OperationContext):
    """Create a private image record (no data; deleted again)."""
    return ctx.as_persona("image", "POST", "/images", {
        "name": ctx.name("image"), "disk_format": "raw", "container_format": "bare",
        "visibility": "private"}, created=(None, "/images/{id}"))


@operation("image:publicize_image")
def create_public_image(ctx: OperationContext):
    """Create a public image record (deleted again)."""
    return ctx.as_persona("image", "POST", "/images", {
        "name": ctx.name("image"), "disk_format": "raw", "container_format": "bare",
        "visibility": "public"}, created=(None, "/images/{id}"))


@operation("image:get_image", target=OWN, hidden=404)
def show_own_image(ctx: OperationContext):
    """Show a private image of the persona's project."""
    return ctx.as_persona("image", "GET", f"/images/{_image(ctx, ctx.project_id)['id']}")


@operation("image:modify_image", target=OWN, hidden=404)
def rename_own_image(ctx: OperationContext):
    """Rename a private image of the persona's project."""
    image = _image(ctx, ctx.project_id)
    return ctx.as_persona("image", "PATCH", f"/images/{image['id']}",
                          [{"op": "replace", "path": "/name", "value": ctx.name("renamed")}],
                          headers=JSON_PATCH)


@operation("image:delete_image", target=OWN, hidden=404)
def delete_own_image(ctx: OperationContext):
    """Delete a private image of the persona's project."""
    return ctx.as_persona("image", "DELETE", f"/images/{_image(ctx, ctx.project_id)['id']}")


@operation("image:get_image:other", deny=404, rule="get_image", target=OTHER)
def show_other_image(ctx: OperationContext):
    """Show a private image of another project (Glance hides it: 404)."""
    return ctx.as_persona("image", "GET",
                          f"/images/{_image(ctx, ctx.other_project_id)['id']}")


@operation("image:delete_image:other", deny=404, rule="delete_image", target=OTHER)
def delete_other_image(ctx: OperationContext):
    """Delete a private image of another project (Glance hides it: 404)."""
    return ctx.as_persona("image", "DELETE",
                          f"/images/{_image(ctx, ctx.other_project_id)['id']}")


# --------------------------------------------------------------------- network (Neutron)
def _network(ctx: OperationContext, project: str) -> dict:
    return ctx.admin_create("network", "/networks", {"network": {
        "name": ctx.name("net"), "project_id": project}}, "network", "/networks/{id}")


@operation("network:get_network:list", rule="get_network")
def list_networks(ctx: OperationContext):
    """List the networks the persona can see (Neutron filters a list, never denies it)."""
    return ctx.as_persona("network", "GET", "/networks")


@operation("network:create_network", target=OWN)
def create_network(ctx: OperationContext):
    """Create a network in the persona's project (deleted again)."""
    return ctx.as_persona("network", "POST", "/networks", {"network": {
        "name": ctx.name("net"), "project_id": ctx.project_id}},
        created=("network", "/networks/{id}"))


@operation("network:create_network:provider:network_type",
           rule="create_network:provider:network_type")
def create_provider_network(ctx: OperationContext):
    """Create a VLAN provider network (deleted again)."""
    return ctx.as_persona("network", "POST", "/networks", {"network": {
        "name": ctx.name("net"), "project_id": ctx.project_id,
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet1"}}, created=("network", "/networks/{id}"))


@operation("network:get_network", target=OWN, hidden=404)
def show_own_network(ctx: OperationContext):
    """Show a network of the persona's project."""
    return ctx.as_persona("network", "GET",
                          f"/networks/{_network(ctx, ctx.project_id)['id']}")


@operation("network:update_network", target=OWN, hidden=404)
def update_own_network(ctx: OperationContext):
    """Change the description of a network of the persona's project."""
    network = _network(ctx, ctx.project_id)
    return ctx.as_persona("network", "PUT", f"/networks/{network['id']}",
                          {"network": {"description": "changed by a persona"}})


@operation("network:delete_network", target=OWN, hidden=404)
def delete_own_network(ctx: OperationContext):
    """Delete a network of the persona's project."""
    return ctx.as_persona("network", "DELETE",
                          f"/networks/{_network(ctx, ctx.project_id)['id']}")


@operation("network:get_network:other", deny=404, rule="get_network", target=OTHER)
def show_other_network(ctx: OperationContext):
    """Show a network of another project (Neutron hides it: 404)."""
    return ctx.as_persona("network", "GET",
                          f"/networks/{_network(ctx, ctx.other_project_id)['id']}")


@operation("network:update_network:other", deny=404, rule="update_network", target=OTHER)
def update_other_network(ctx: OperationContext):
    """Change a network of another project (Neutron hides it: 404)."""
    network = _network(ctx, ctx.other_project_id)
    return ctx.as_persona("network", "PUT", f"/networks/{network['id']}",
                          {"network": {"description": "changed by a persona"}})


@operation("network:delete_network:other", deny=404, rule="delete_network", target=OTHER)
def delete_other_network(ctx: OperationContext):
    """Delete a network of another project (Neutron hides it: 404)."""
    return ctx.as_persona("network", "DELETE",
                          f"/networks/{_network(ctx, ctx.other_project_id)['id']}")


@operation("network:create_subnet", target=OWN, hidden=404)
def create_subnet(ctx: OperationContext):
    """Add a subnet to a network of the persona's project."""
    network = _network(ctx, ctx.project_id)
    return ctx.as_persona("network", "POST", "/subnets", {"subnet": {
        "network_id": network["id"], "ip_version": 4, "cidr": "10.250.0.0/24",
        "project_id": ctx.project_id}},
        created=("subnet", "/subnets/{id}"))


@operation("network:create_port", target=OWN, hidden=404)
def create_port(ctx: OperationContext):
    """Create a port on a network of the persona's project."""
    network = _network(ctx, ctx.project_id)
    return ctx.as_persona("network", "POST", "/ports", {"port": {
        "network_id": network["id"], "name": ctx.name("port"),
        "project_id": ctx.project_id}},
        created=("port", "/ports/{id}"))


@operation("network:create_security_group", target=OWN)
def create_security_group(ctx: OperationContext):
    """Create a security group in the persona's project (deleted again)."""
    return ctx.as_persona("network", "POST", "/security-groups", {"security_group": {
        "name": ctx.name("sg"), "project_id": ctx.project_id}},
        created=("security_group", "/security-groups/{id}"))


@operation("network:create_network:shared", target=OWN)
def create_shared_network(ctx: OperationContext):
    """Create a network shared with every project (deleted again)."""
    return ctx.as_persona("network", "POST", "/networks", {"network": {
        "name": ctx.name("net"), "project_id": ctx.project_id, "shared": True}},
        created=("network", "/networks/{id}"))


@operation("network:get_quota:other", rule="get_quota", target=OTHER)
def show_other_network_quotas(ctx: OperationContext):
    """Show the network quotas of a project the persona has no role in."""
    return ctx.as_persona("network", "GET", f"/quotas/{ctx.other_project_id}")


# --------------------------------------------------------------------- placement
@operation("placement:resource_providers:list")
def list_resource_providers(ctx: OperationContext):
    """List the resource providers (the compute hosts)."""
    return ctx.as_persona("placement", "GET", "/resource_providers")


@operation("placement:resource_providers:create")
def create_resource_provider(ctx: OperationContext):
    """Create a resource provider (deleted again)."""
    return ctx.as_persona("placement", "POST", "/resource_providers",
                          {"name": ctx.name("rp")}, microversion="1.20",
                          created=(None, "/resource_providers/{id}"))


@operation("placement:resource_providers:inventories:list")
def list_inventories(ctx: OperationContext):
    """List the inventory of the first resource provider."""
    providers = ctx.admin_call("placement", "GET", "/resource_providers")
    if not providers.get("resource_providers"):
        return ctx.as_persona("placement", "GET", "/resource_providers")
    uuid = providers["resource_providers"][0]["uuid"]
    return ctx.as_persona("placement", "GET", f"/resource_providers/{uuid}/inventories")


@operation("placement:resource_classes:list")
def list_resource_classes(ctx: OperationContext):
    """List the resource classes."""
    return ctx.as_persona("placement", "GET", "/resource_classes", microversion="1.2")


@operation("placement:traits:list")
def list_traits(ctx: OperationContext):
    """List the traits."""
    return ctx.as_persona("placement", "GET", "/traits", microversion="1.6")


@operation("placement:usages", target=OWN)
def show_own_usages(ctx: OperationContext):
    """Show the placement usages of the persona's project."""
    return ctx.as_persona("placement", "GET", f"/usages?project_id={ctx.project_id}",
                          microversion="1.9")

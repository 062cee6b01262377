*** Settings ***
Documentation    Create, read and delete one resource of each kind: every service works.
...
...              One row per service. Each resource is named with the run's prefix and
...              deleted at the end of its case whatever happens; the last case checks
...              that nothing is left; the answers the cases got must match the response
...              schemas published for them.
Metadata         Requirement    Every service creates, shows and deletes its resources
Metadata         Scenario    Create/read/delete smoke per service, nothing broken

Resource         ../../resources/common.resource

Suite Setup      Use The Expectations Of    default
Test Setup       Mark Known Findings Of This Test

Test Tags        area:operational    fault:none


*** Test Cases ***
Identity Creates Reads And Deletes A Project And A User
    [Documentation]    Keystone: a project, a user in it, both deleted.
    [Tags]    service:keystone
    ${project} =    Create Project
    ${user} =    Create User    project=${project}
    Delete User    ${user}
    Delete Project    ${project}

Image Creates Reads And Deletes An Image
    [Documentation]    Glance: a small raw image uploaded, active, deleted.
    [Tags]    service:glance-api
    ${image} =    Create Image    size=4096    timeout=2 min
    Should Be Equal    ${image.status}    active
    Delete Image    ${image}

Compute Creates Reads And Deletes A Flavor And A Key Pair
    [Documentation]    Nova: a flavor and a key pair, both deleted.
    [Tags]    service:nova-api
    ${flavor} =    Create Flavor    ram=64    vcpus=1    disk=0
    ${keypair} =    Create Keypair
    Delete Keypair    ${keypair}
    Delete Flavor    ${flavor}

Network Creates Reads And Deletes A Network, Subnet And Port
    [Documentation]    Neutron: a network, a subnet in it and a port on it, all deleted.
    [Tags]    service:neutron-server
    ${network} =    Create Network
    ${subnet} =    Create Subnet    ${network}    cidr=10.199.9.0/24
    ${port} =    Create Port    ${network}
    Delete Port    ${port}
    Delete Subnet    ${subnet}
    Delete Network    ${network}

Compute Boots, Stops, Starts And Deletes A Server
    [Documentation]    Nova with Placement, the scheduler, the conductor and a compute node:
    ...    a server's whole life.
    [Tags]    service:nova-api
    ...       service:nova-conductor
    ...       service:nova-scheduler
    ...       service:nova-compute
    ...       service:placement
    ${server} =    Create Server    smoke    timeout=3 min
    Server Status Should Be    ${server}    ACTIVE
    Stop Server    ${server}    timeout=2 min
    Start Server    ${server}    timeout=2 min
    Delete Server    ${server}    timeout=2 min
    Server Should Not Exist    ${server}

Block Storage Creates Reads And Deletes A Volume
    [Documentation]    Skipped, with the reason, on a cloud without a volume service.
    [Tags]    service:cinder
    ${volume} =    Create Volume    size=1    timeout=3 min
    Delete Volume    ${volume}

Nothing Is Left Behind
    [Documentation]    Every resource the cases above created is gone.
    No Resources Should Be Left

Every Answer Matched Its Published Response Schema
    [Documentation]    The answers the cases above got (each kind's first, then at most one
    ...    a minute) against the response schemas tempest publishes, at the microversion each
    ...    was given at: Compute and Block Storage have them, Identity, Image, Networking and
    ...    Placement none. Skipped, saying what to install, without the ``schemas`` extra.
    [Tags]    service:nova-api
    Responses Should Match Their Schemas    of=calls

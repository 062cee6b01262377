*** Settings ***
Documentation     Acceptance of ExtremeTesting.Cloud against the running lab.
...
...               Health on a fresh lab, a full server lifecycle on the fake driver, every
...               other resource kind, clean-up after a test that fails half-way, purge of an
...               earlier run's leftovers, and a stopped nova-compute turning
...               `All Compute Services Should Be Up` red with a message naming it.
...               Tests run in order: some check what the library deleted after the previous
...               test ended.
...
...               Run (lab up, its environment exported with ``eval "$(extreme lab env)"``):
...               robot --outputdir results/cloud --loglevel DEBUG tests/lab/robot/cloud.robot
...               then ``python -m robotstatuschecker results/cloud/output.xml``: the tests
...               that fail or skip on purpose document their expected status. The admin
...               password (secure.yaml) must not appear anywhere in results/cloud/.

Library           Collections
Library           SSHLibrary    timeout=20 s
Library           ExtremeTesting.Cloud    ${TARGET}    api_timeout=20 s    AS    Cloud
# Plays an earlier run that crashed: its own prefix, nothing deleted automatically.
Library           ExtremeTesting.Cloud    ${TARGET}    prefix=${EARLIER}    cleanup_level=MANUAL
...               AS    EarlierRun
Variables         ${TARGET}

Suite Setup       Use Cloud First And Check The Cloud Is Healthy
Suite Teardown    Close All Connections

Test Tags         cloud


*** Variables ***
${TARGET}          %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}
${COMPUTE NODE}    cmp1
${EARLIER}         xt-earlier${{secrets.token_hex(3)}}-


*** Test Cases ***
Fresh Lab Is Healthy
    [Documentation]    Every health keyword passes on a lab that just came up.
    Cloud Should Be Healthy
    Service Catalog Should Contain    identity    compute    image    network    placement
    ${answers} =    All Endpoints Should Answer
    ${count} =    Get Length    ${answers}
    Should Be True    ${count} >= 5    Expected an answer from at least five endpoints
    All Compute Services Should Be Up
    All Network Agents Should Be Up
    All Hypervisors Should Be Up    minimum=1
    ${versions} =    Record Cloud Versions
    Dictionary Should Contain Key    ${versions}[services]    compute

The Lab Has No Volume Service
    [Documentation]    SKIP    STARTS: The cloud has no volume service
    All Volume Services Should Be Up

Server Lifecycle On The Fake Driver
    [Documentation]    Boot (no network, microversion 2.37+), stop, start, reboot, delete.
    [Tags]    resource:server
    ${server} =    Create A Server On The Smallest Flavor
    Server Status Should Be    ${server}    ACTIVE
    Stop Server    ${server}    timeout=1 min
    Server Status Should Be    ${server}    SHUTOFF
    Start Server    ${server}    timeout=1 min
    Reboot Server    ${server}    timeout=1 min
    Server Status Should Be    ${server}    ACTIVE
    Delete Server    ${server}    timeout=1 min
    Server Should Not Exist    ${server}

Every Other Resource Kind
    [Documentation]    Creates one of each kind; the listener deletes them when the test ends.
    [Tags]    resource:image    resource:flavor    resource:network    resource:keypair    resource:identity
    Create Image    size=4096    timeout=1 min
    ${flavor} =    Create Flavor    ram=64    vcpus=1    disk=0
    Create Network With Subnet And Port
    Create Keypair
    ${project} =    Create Project
    Create User    project=${project}
    ${tracked} =    Get Tracked Resources
    Length Should Be    ${tracked}    8
    ${server} =    Create Server    flavor=${flavor.id}    timeout=2 min
    Server Status Should Be    ${server}    ACTIVE

Resources Of The Previous Test Are Gone
    [Documentation]    The listener deleted everything the previous test created.
    No Resources Should Be Left

A Test Failing Half Way
    [Documentation]    FAIL    Deliberate failure after creating resources
    Create Network    half-way
    Create Server    half-way    timeout=2 min
    Create Keypair    half-way
    Fail    Deliberate failure after creating resources

Nothing Is Left After The Failing Test
    [Documentation]    The failed test's network, server and key pair were deleted all the same.
    No Resources Should Be Left
    ${tracked} =    Get Tracked Resources
    Should Be Empty    ${tracked}

Purge Deletes An Earlier Run's Leftovers
    [Documentation]    A second library instance (EarlierRun) with its own prefix and no
    ...    automatic clean-up plays an earlier, crashed run; `Purge Leftovers` removes what
    ...    it left, and only that.
    Leave Resources Behind As An Earlier Run
    ${found} =    Get Leftovers    prefix=${EARLIER}
    Length Should Be    ${found}    3
    ${purged} =    Purge Leftovers    prefix=${EARLIER}    timeout=2 min
    Length Should Be    ${purged}    3
    ${found} =    Get Leftovers    prefix=${EARLIER}
    Should Be Empty    ${found}

A Stopped Nova Compute Turns Compute Services Red
    [Documentation]    Stops nova-compute on the compute node over SSH; the checks name it.
    [Tags]    destructive    service:nova-compute
    [Setup]    Open Connection To The Compute Node
    Run On The Compute Node    service nova-compute stop
    Wait Until Compute Service Is Down    nova-compute    ${COMPUTE NODE}    timeout=2 min
    Run Keyword And Expect Error    *nova-compute on ${COMPUTE NODE} (state down*
    ...    All Compute Services Should Be Up
    Run Keyword And Expect Error    *compute services:*nova-compute on ${COMPUTE NODE}*
    ...    Cloud Should Be Healthy
    [Teardown]    Start Nova Compute Again

The Cloud Is Healthy Again
    [Documentation]    After the teardown started nova-compute, the steady state is back.
    Wait Until Compute Services Are Up    timeout=2 min
    Cloud Should Be Healthy


*** Keywords ***
Use Cloud First And Check The Cloud Is Healthy
    [Documentation]    Unqualified keywords come from Cloud, not EarlierRun.
    Set Library Search Order    Cloud
    Cloud Should Be Healthy

Create A Server On The Smallest Flavor
    [Documentation]    The smallest flavor and any active image, read from the API.
    ${flavor} =    Get Smallest Flavor
    ${image} =    Get Active Image
    Log    Smallest flavor ${flavor.name}, image ${image.name}
    ${server} =    Create Server    lifecycle    flavor=${flavor.id}    image=${image.id}
    ...    network=none    timeout=2 min
    ${prefix} =    Get Resource Prefix
    Should Start With    ${server.name}    ${prefix}lifecycle-
    RETURN    ${server}

Create Network With Subnet And Port
    [Documentation]    A network, a subnet in it and a port on it.
    ${network} =    Create Network
    Create Subnet    ${network}    cidr=10.199.7.0/24
    Create Port    ${network}

Leave Resources Behind As An Earlier Run
    [Documentation]    Creates a network, a flavor and a server named ``${EARLIER}*`` that
    ...    nothing deletes automatically.
    EarlierRun.Create Network    left
    EarlierRun.Create Flavor    left
    EarlierRun.Create Server    left    timeout=2 min

Open Connection To The Compute Node
    [Documentation]    SSH to the compute node with the target's key.
    Open Connection    ${nodes}[${COMPUTE NODE}][address]    alias=${COMPUTE NODE}
    ...    port=${ssh}[port]
    Login With Public Key    ${ssh}[username]    ${ssh}[private_key_file]

Run On The Compute Node
    [Documentation]    Runs ``command`` on the compute node; fails on a non-zero status.
    [Arguments]    ${command}
    Switch Connection    ${COMPUTE NODE}
    ${out}    ${rc} =    Execute Command    ${command}    return_rc=True    timeout=60 s
    Should Be Equal As Integers    ${rc}    0    '${command}' failed on ${COMPUTE NODE}: ${out}

Start Nova Compute Again
    [Documentation]    Teardown: start nova-compute and wait until Nova sees it up.
    Run On The Compute Node    service nova-compute start
    Wait Until Compute Services Are Up    timeout=3 min

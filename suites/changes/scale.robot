*** Settings ***
Documentation     Nodes added and removed under load, the operator's everyday change: each
...               change leaves the cloud usable and whole, and the monitor's clients do not
...               see it.
...
...               A compute node added with the target's deploy tool (``scale.add``) must be
...               usable at once: its compute service up, its host mapped to a cell, a
...               placement resource provider with inventory, a server booted targeted at
...               it ACTIVE (`Add Compute Node`'s own checks). Removed (`Remove Compute
...               Node`), it is disabled first, its servers are moved away and keep running,
...               and it leaves nothing behind: no resource provider, host mapping or network
...               agent, no service that registers again. A controller joins the load
...               balancer only once it serves real requests (`Add Controller`), and is
...               drained before it leaves (`Remove Controller`). Whatever a case added is
...               removed when it ends, and what it removed added back (the ledger).
...
...               The nodes are ``${NEW COMPUTE NODE}`` and ``${NEW CONTROLLER}`` (the lab's
...               cmp2 and ctl3, which ``extreme lab add-node`` builds). Not applicable to a
...               target without a ``scale`` section (it declares so).
Metadata          Requirement    Nodes are added and removed without users noticing
Metadata          Scenario    Add and remove a compute node and a controller under load

Resource          ../../resources/changes.resource

Suite Setup       Nodes Can Be Added And Removed On This Target
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case

Test Tags         area:changes    change:scale    fault:none


*** Variables ***
${NEW COMPUTE NODE}    cmp2
${NEW CONTROLLER}      ctl3
${NO SCALE}            ${{importlib.import_module('ExtremeTesting.target').NO_SCALE}}


*** Test Cases ***
A New Compute Node Is Usable At Once
    [Documentation]    The compute node is added while the monitor measures: mapped to a
    ...    cell, inventoried, a server boots on it, and nobody noticed. The case's end
    ...    removes it again.
    [Tags]    service:nova-compute
    Start Measuring Before The Roll-Out
    Add Compute Node    ${NEW COMPUTE NODE}
    Stop Measuring Availability
    The Roll-Out Should Not Have Been Seen

A Removed Compute Node Leaves Nothing Behind And Its Servers Keep Running
    [Documentation]    The compute node, added and given a server, is removed while the
    ...    monitor measures: its server moved away and still ACTIVE, nothing of the node
    ...    left, and nobody noticed.
    [Tags]    service:nova-compute
    Add Compute Node    ${NEW COMPUTE NODE}
    ${servers} =    Servers Until One Runs On    ${NEW COMPUTE NODE}
    Start Measuring Before The Roll-Out
    Remove Compute Node    ${NEW COMPUTE NODE}
    Stop Measuring Availability
    The Roll-Out Should Not Have Been Seen
    Every Server Should Run Away From    ${NEW COMPUTE NODE}    @{servers}

A New Controller Joins The Load Balancer Only Once It Serves
    [Documentation]    The controller is added while the monitor measures: in rotation only
    ...    once it serves real requests, and nobody noticed. The case's end removes it
    ...    again.
    [Tags]    service:haproxy
    Start Measuring Before The Roll-Out
    Add Controller    ${NEW CONTROLLER}
    Stop Measuring Availability
    The Roll-Out Should Not Have Been Seen

A Controller Is Drained Before It Leaves
    [Documentation]    The controller, added, is removed while the monitor measures: drained
    ...    first, nothing of it left in rotation, and nobody noticed.
    [Tags]    service:haproxy
    Add Controller    ${NEW CONTROLLER}
    Start Measuring Before The Roll-Out
    Remove Controller    ${NEW CONTROLLER}
    Stop Measuring Availability
    The Roll-Out Should Not Have Been Seen


*** Keywords ***
Nodes Can Be Added And Removed On This Target
    [Documentation]    Suite setup: the suite is skipped, not applicable, on a target
    ...    without a ``scale`` section (the deploy tool's commands); else its cases are
    ...    judged by the rolling changes' limits.
    ${section} =    Get Variable Value    ${scale}    ${NONE}
    Skip If    $section is None    ${NO SCALE}
    Use The Expectations Of    rolling_changes

Servers Until One Runs On
    [Documentation]    Creates servers (no network, the smallest flavor) until one runs on
    ...    ``node``: the scheduler spreads them over the compute nodes, so at most 3;
    ...    returns them (deleted when the case ends).
    [Arguments]    ${node}
    VAR    @{servers} =    @{EMPTY}
    FOR    ${index}    IN RANGE    3
        ${server} =    Create Server    scale-${index}
        Append To List    ${servers}    ${server}
        ${now} =    Get Server    ${server}
        IF    $now.compute_host == $node    RETURN    ${servers}
    END
    Fail    None of 3 servers was scheduled to ${node}: check that its compute service is enabled.

Every Server Should Run Away From
    [Documentation]    Each server is ACTIVE and runs on another compute node than ``node``.
    [Arguments]    ${node}    @{servers}
    FOR    ${server}    IN    @{servers}
        Server Status Should Be    ${server}    ACTIVE
        ${now} =    Get Server    ${server}
        Should Not Be Equal    ${now.compute_host}    ${node}
        ...    Server ${now.name} still runs on the removed ${node}.    values=False
    END

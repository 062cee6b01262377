*** Settings ***
Documentation     A rolling restart of every API service, one node at a time: no outage.
...
...               This is how an operator applies a configuration change or an update: the
...               service is restarted on one node, the case waits until it answers on that
...               node again and the load balancer's rise time has passed, then the next
...               node follows. Clients must see nothing: ``max_outage`` is 0, so a single
...               failed probe sample fails the case.
Metadata          Requirement    Updates roll through the controllers without downtime
Metadata          Scenario    Restart each API service node by node

Resource          ../../resources/destructive.resource

Suite Setup       Use The Expectations Of    rolling_restart
Suite Teardown    Close Every Node Connection
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case
Test Template     Rolling Restart Should Cause No Outage

Test Tags         area:destructive    fault:service


*** Test Cases ***
Rolling Restart Of Keystone
    [Tags]    service:keystone
    keystone
Rolling Restart Of Placement
    [Tags]    service:placement
    placement
Rolling Restart Of Glance API
    [Tags]    service:glance-api
    glance-api
Rolling Restart Of Nova API
    [Tags]    service:nova-api
    nova-api
Rolling Restart Of Neutron Server
    [Tags]    service:neutron-server
    neutron-server


*** Keywords ***
Rolling Restart Should Cause No Outage
    [Documentation]    Restarts ``service`` node by node while the monitor measures; then
    ...    not one probe sample may have failed, and nothing was lost.
    [Arguments]    ${service}
    ${rolled} =    The Nodes That Run    ${service}
    Start Measuring Availability With Writes
    FOR    ${node}    IN    @{rolled}
        Restart Service    ${service}    on=${node}
        Wait Until ${service} Answers On ${node}    timeout=${LIMITS.serve_within}
        Keep The Fault For    ${LIMITS.rise}
    END
    Mark The Fault As Over    rolling restart of ${service} done
    Stop Measuring Availability
    The Measurement Should Show No Outage

The Measurement Should Show No Outage
    [Documentation]    Every verdict on the measurement, each reported even if another fails.
    [Tags]    robot:continue-on-failure
    There Should Be No Outage At All
    No Request Should Have Been Lost

*** Settings ***
Documentation     A rolling restart of every API service with drain: zero failed samples.
...
...               For each node that runs the service, one at a time: the node is drained
...               from the load balancer, its sessions end, the service restarts there,
...               answers on the node, goes back into the load balancer and is seen UP by
...               it; then the next node. Clients must see nothing: one failed probe
...               sample fails the case, and p95 latency during the roll-out stays within
...               ``latency_factor`` times the p95 before it.
...
...               It replaces the older rolling restart without draining, which lost
...               0.1 to 2 s of samples per node on the lab: bench/ keeps a demonstration
...               of what the monitor sees then.
Metadata          Requirement    Updates roll through the controllers without downtime
Metadata          Scenario    Drain, restart and return each API service node by node

Resource          ../../resources/changes.resource

Suite Setup       Use The Expectations Of    rolling_changes
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case
Test Template     Rolling Restart With Drain Should Not Be Seen

Test Tags         area:changes    change:restart    fault:service


*** Test Cases ***
Rolling Restart Of Keystone With Drain
    [Tags]    service:keystone
    keystone
Rolling Restart Of Placement With Drain
    [Tags]    service:placement
    placement
Rolling Restart Of Glance API With Drain
    [Tags]    service:glance-api
    glance-api
Rolling Restart Of Nova API With Drain
    [Tags]    service:nova-api
    nova-api
Rolling Restart Of Neutron Server With Drain
    [Tags]    service:neutron-server
    neutron-server


*** Keywords ***
Rolling Restart With Drain Should Not Be Seen
    [Documentation]    Restarts ``service`` node by node, each node drained first.
    [Arguments]    ${service}
    Roll Out A Restart While Measuring    ${service}

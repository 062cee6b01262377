*** Settings ***
Documentation     Every OpenStack service, restarted, killed and frozen: each recovers in time.
...
...               One row per case: the action, the service (as named in the target's
...               ``services`` section) and where: ``one`` node (the first the target
...               places it on) or ``all`` its nodes. Adding a service or an action is one
...               line. The limit of each row is the target's
...               ``service_restart.one_node.<action>`` on one node (the load balancer must
...               hide a lost backend) and the service's own ``expected_downtime`` on all
...               nodes; the partial outage (each probe's failed share and failing time) is
...               judged by ``failed_share`` and ``failing_time`` (per action, and
...               ``all_nodes``). A killed or frozen service stays so for ``hold`` and is then
...               started or resumed; the monitor measures the whole time.
Metadata          Requirement    Each service recovers within its expected downtime
Metadata          Scenario    Restart, kill (SIGKILL) and freeze (SIGSTOP) one service on one node or on all

Resource          ../../resources/destructive.resource

Suite Setup       Use The Expectations Of    service_restart
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case
Test Template     Service Should Recover From

Test Tags         area:destructive    fault:service


*** Test Cases ***
Restart Keystone On One Node
    [Tags]    service:keystone
    restart    keystone    one
Restart Keystone On All Nodes
    [Tags]    service:keystone
    restart    keystone    all
Kill Keystone On One Node
    [Tags]    service:keystone
    kill    keystone    one
Freeze Keystone On One Node
    [Tags]    service:keystone
    freeze    keystone    one
Restart Placement On One Node
    [Tags]    service:placement
    restart    placement    one
Restart Placement On All Nodes
    [Tags]    service:placement
    restart    placement    all
Kill Placement On One Node
    [Tags]    service:placement
    kill    placement    one
Freeze Placement On One Node
    [Tags]    service:placement
    freeze    placement    one
Restart Glance API On One Node
    [Tags]    service:glance-api
    restart    glance-api    one
Restart Glance API On All Nodes
    [Tags]    service:glance-api
    restart    glance-api    all
Kill Glance API On One Node
    [Tags]    service:glance-api
    kill    glance-api    one
Freeze Glance API On One Node
    [Tags]    service:glance-api
    freeze    glance-api    one
Restart Nova API On One Node
    [Tags]    service:nova-api
    restart    nova-api    one
Restart Nova API On All Nodes
    [Tags]    service:nova-api
    restart    nova-api    all
Kill Nova API On One Node
    [Tags]    service:nova-api
    kill    nova-api    one
Freeze Nova API On One Node
    [Tags]    service:nova-api
    freeze    nova-api    one
Restart Neutron Server On One Node
    [Tags]    service:neutron-server
    restart    neutron-server    one
Restart Neutron Server On All Nodes
    [Tags]    service:neutron-server
    restart    neutron-server    all
Kill Neutron Server On One Node
    [Tags]    service:neutron-server
    kill    neutron-server    one
Freeze Neutron Server On One Node
    [Tags]    service:neutron-server
    freeze    neutron-server    one
Restart Nova Conductor On All Nodes
    [Tags]    service:nova-conductor
    restart    nova-conductor    all
Restart Nova Scheduler On All Nodes
    [Tags]    service:nova-scheduler
    restart    nova-scheduler    all
Restart Nova Compute On All Nodes
    [Tags]    service:nova-compute
    restart    nova-compute    all
Restart Memcached On All Nodes
    [Tags]    service:memcached
    restart    memcached    all
Restart HAProxy On All Nodes
    [Tags]    service:haproxy
    restart    haproxy    all


*** Keywords ***
Service Should Recover From
    [Documentation]    ``action`` (restart, kill, freeze) of ``service`` on ``where`` (one,
    ...    all) while the monitor measures; then the outage and the recovery are checked,
    ...    the hit instance serves again on its own node (its processes run, its API
    ...    answers there), and a server boots (the whole chain works again).
    [Arguments]    ${action}    ${service}    ${where}
    ${limit} =    The Limit For ${action} Of ${service} On ${where}
    ${on} =    Where To Act    ${service}    ${where}
    Start Measuring Availability
    Inject And End    ${action}    ${service}    ${on}
    Keep Measuring For    ${limit}
    Stop Measuring Availability
    The Outage Of The Action Should Stay Within    ${limit}    ${action}    ${where}
    The Hit Instance Should Serve Again    ${service}    ${on}
    IF    not $services[$service].get('api')    A Server Should Still Boot

A Server Should Still Boot
    [Documentation]    For a service without an API of its own (conductor, scheduler,
    ...    compute...): the chain it is part of works again. The server is deleted when
    ...    the case ends.
    Create Server    after-restart    timeout=3 min

Where To Act
    [Documentation]    ``one``: the first node the target places the service on (a known
    ...    node, so the case is repeatable); ``all``: every node that runs it.
    [Arguments]    ${service}    ${where}
    ${nodes of service} =    The Nodes That Run    ${service}
    IF    '${where}' == 'one'    RETURN    ${nodes of service}[0]
    RETURN    all

Inject And End
    [Documentation]    The fault, and its end: a restart ends when it returns; a kill or
    ...    freeze is held for ``hold``, then the service is started or resumed.
    [Arguments]    ${action}    ${service}    ${on}
    IF    '${action}' == 'restart'
        Restart Service    ${service}    on=${on}
        Mark The Fault As Over    ${service} restarted
    ELSE IF    '${action}' == 'kill'
        Kill Service    ${service}    on=${on}
        Keep The Fault For    ${LIMITS.hold}
        Start Service    ${service}    on=${on}
    ELSE IF    '${action}' == 'freeze'
        Freeze Service    ${service}    on=${on}
        Keep The Fault For    ${LIMITS.hold}
        Unfreeze Service    ${service}    on=${on}
    ELSE
        Fail    Unknown action '${action}': expected restart, kill or freeze.
    END

The Outage Of The Action Should Stay Within
    [Documentation]    Every verdict on the measurement, each reported even if another fails.
    ...    The partial outage is judged during the fault on one node (the load balancer
    ...    must hide it), after the recovery on all nodes (the service is meant to be down).
    [Tags]    robot:continue-on-failure
    [Arguments]    ${limit}    ${action}    ${where}
    Outage Should Be Shorter Than    ${limit}
    Error Rate Should Be Below    ${LIMITS.error_rate}    phase=before
    Cloud Should Recover Within    ${limit}
    IF    '${where}' == 'all'
        The Partial Outage Should Stay Within The Limits    after recovery    all_nodes
    ELSE
        The Partial Outage Should Stay Within The Limits    during    ${action}
    END

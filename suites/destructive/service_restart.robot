*** Settings ***
Documentation       Every OpenStack service, restarted, killed and frozen: each recovers in time.
...
...                 One row per case: the action, the service (as named in the target's
...                 ``services`` section) and where: ``one`` node (the first the target
...                 places it on) or ``all`` its nodes. Adding a service or an action is one
...                 line. The limit of each row is the target's
...                 ``service_restart.one_node.<action>`` on one node (the load balancer must
...                 hide a lost backend) and the service's own ``expected_downtime`` on all
...                 nodes. A killed or frozen service stays so for ``hold`` and is then
...                 started or resumed; the monitor measures the whole time.
Metadata            Requirement    Each service recovers within its expected downtime
Metadata            Scenario    Restart, kill (SIGKILL) and freeze (SIGSTOP) one service on one node or on all

Resource            ../../resources/destructive.resource

Suite Setup         Use The Expectations Of    service_restart
Suite Teardown      Close Every Node Connection
Test Setup          Prepare A Destructive Case
Test Teardown       Finish A Destructive Case
Test Template       Service Should Recover From

Test Tags           area:destructive    fault:service


*** Test Cases ***                              ACTION     SERVICE           WHERE
Restart Keystone On One Node                    restart    keystone          one
    [Tags]    service:keystone
Restart Keystone On All Nodes                   restart    keystone          all
    [Tags]    service:keystone
Kill Keystone On One Node                       kill       keystone          one
    [Tags]    service:keystone
Freeze Keystone On One Node                     freeze     keystone          one
    [Tags]    service:keystone
Restart Placement On One Node                   restart    placement         one
    [Tags]    service:placement
Restart Placement On All Nodes                  restart    placement         all
    [Tags]    service:placement
Kill Placement On One Node                      kill       placement         one
    [Tags]    service:placement
Freeze Placement On One Node                    freeze     placement         one
    [Tags]    service:placement
Restart Glance API On One Node                  restart    glance-api        one
    [Tags]    service:glance-api
Restart Glance API On All Nodes                 restart    glance-api        all
    [Tags]    service:glance-api
Kill Glance API On One Node                     kill       glance-api        one
    [Tags]    service:glance-api
Freeze Glance API On One Node                   freeze     glance-api        one
    [Tags]    service:glance-api
Restart Nova API On One Node                    restart    nova-api          one
    [Tags]    service:nova-api
Restart Nova API On All Nodes                   restart    nova-api          all
    [Tags]    service:nova-api
Kill Nova API On One Node                       kill       nova-api          one
    [Tags]    service:nova-api
Freeze Nova API On One Node                     freeze     nova-api          one
    [Tags]    service:nova-api
Restart Neutron Server On One Node              restart    neutron-server    one
    [Tags]    service:neutron-server
Restart Neutron Server On All Nodes             restart    neutron-server    all
    [Tags]    service:neutron-server
Kill Neutron Server On One Node                 kill       neutron-server    one
    [Tags]    service:neutron-server
Freeze Neutron Server On One Node               freeze     neutron-server    one
    [Tags]    service:neutron-server
Restart Nova Conductor On All Nodes             restart    nova-conductor    all
    [Tags]    service:nova-conductor
Restart Nova Scheduler On All Nodes             restart    nova-scheduler    all
    [Tags]    service:nova-scheduler
Restart Nova Compute On All Nodes               restart    nova-compute      all
    [Tags]    service:nova-compute
Restart Memcached On All Nodes                  restart    memcached         all
    [Tags]    service:memcached
Restart HAProxy On All Nodes                    restart    haproxy           all
    [Tags]    service:haproxy


*** Keywords ***
Service Should Recover From
    [Documentation]    ``action`` (restart, kill, freeze) of ``service`` on ``where`` (one,
    ...    all) while the monitor measures; then the outage, the recovery and the service's
    ...    processes are checked, and a server boots (the whole chain works again).
    [Arguments]    ${action}    ${service}    ${where}
    ${limit} =    The Limit For ${action} Of ${service} On ${where}
    ${on} =    Where To Act    ${service}    ${where}
    Start Measuring Availability
    Inject And End    ${action}    ${service}    ${on}
    Keep The Fault For    ${limit}
    Stop Measuring Availability
    The Outage Should Stay Within    ${limit}
    The Service Should Run Again    ${service}    ${on}
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

The Outage Should Stay Within
    [Documentation]    Every verdict on the measurement, each reported even if another fails.
    [Arguments]    ${limit}
    [Tags]    robot:continue-on-failure
    The Longest Outage Should Be Shorter Than    ${limit}
    Errors Should Only Occur During The Fault
    The Cloud Should Have Recovered Within    ${limit}

The Service Should Run Again
    [Documentation]    Its processes run on every node it was hit on.
    [Arguments]    ${service}    ${on}
    ${hit} =    IF    '${on}' == 'all'    The Nodes That Run    ${service}    ELSE    Create List    ${on}
    FOR    ${node}    IN    @{hit}
        Wait Until Keyword Succeeds    ${LIMITS.recovery}    1 s
        ...    Processes Of ${service} Should Run On ${node}
    END

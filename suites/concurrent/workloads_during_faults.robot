*** Settings ***
Documentation     Many clients at once while a service is restarted under them.
...
...               A workload runs in the background; halfway through, a service it depends
...               on is restarted on one node. The load balancer must hide it: over the
...               whole load, failures stay below the target's
...               ``workloads_during_faults.failure_rate``, the 99th percentile below
...               ``p99`` and the longest iteration below ``max``. Each case holds the
...               destructive lock and leaves the cloud healthy.
Metadata          Requirement    Concurrent clients barely notice a service restart
Metadata          Scenario    A workload while one node's service restarts

Resource          ../../resources/destructive.resource
Resource          ../../resources/load.resource

Suite Setup       Use The Expectations Of    workloads_during_faults
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case
Test Template     Workload Should Hold Its SLA While A Service Restarts

Test Tags         area:concurrent    fault:service


*** Test Cases ***
Tokens While Keystone Restarts On One Node
    [Tags]    service:keystone
    issue token    keystone
Listing While Nova API Restarts On One Node
    [Tags]    service:nova-api
    list resources    nova-api
Networks While Neutron Server Restarts On One Node
    [Tags]    service:neutron-server
    create and delete network    neutron-server
Servers While Nova Conductor Restarts On One Node
    [Tags]    service:nova-conductor
    boot and delete server    nova-conductor


*** Keywords ***
Workload Should Hold Its SLA While A Service Restarts
    [Documentation]    The workload as its SLA says how, ``service`` restarted on the first
    ...    node that runs it once a third of the load has run, then the limits of
    ...    ``workloads_during_faults`` on the whole load.
    [Arguments]    ${workload}    ${service}
    ${sla} =    The SLA Of    ${workload}
    ${node} =    Evaluate    $services[$service]['nodes'][0]
    Start The Workload In The Background    ${workload}    ${sla}
    Let The Load Run For    20 s
    Restart Service    ${service}    on=${node}
    ${load} =    Wait For Load
    The Load Should Meet    ${LIMITS}    ${load}
    Nothing The Load Created Should Be Left

Start The Workload In The Background
    [Documentation]    Like `Run The Workload`, in the background (60 s at most, 1 min
    ...    for loads bounded by iterations).
    [Arguments]    ${workload}    ${sla}
    IF    'rate' in $sla
        Start Constant Rate Load    ${workload}    rate=${sla.rate}    duration=60 s
    ELSE
        Start Constant Concurrency Load    ${workload}    ${sla.concurrency}    duration=60 s
    END

*** Settings ***
Documentation     The steady state every other case starts from: the sign-off baseline.
...
...               The catalog lists the target's services, every endpoint answers, every
...               compute service, hypervisor and network agent is up, every node of the
...               target runs the services the target places on it, a quiet minute
...               of probing shows no outage at all, and the probes' answers match the
...               response schemas published for them.
Metadata          Requirement    The cloud is healthy before anything is broken
Metadata          Scenario    Steady state, nothing broken

Resource          ../../resources/common.resource
Resource          ../../resources/nodes.resource

Suite Setup       Use The Expectations Of    default
Suite Teardown    Close Every Node Connection
Test Setup        Mark Known Findings Of This Test

Test Tags         area:operational    fault:none


*** Test Cases ***
The Cloud Is Healthy
    [Documentation]    The library's steady-state check, which also records the versions.
    Cloud Should Be Healthy

The Catalog Lists Every Service Of The Target
    [Documentation]    Each catalog type of the target's endpoints is in the service catalog.
    Service Catalog Should Contain    @{endpoints}

Every Compute Service And Hypervisor Is Up
    [Documentation]    Conductors, schedulers and computes report up; hypervisors too.
    [Tags]    service:nova-conductor    service:nova-scheduler    service:nova-compute
    All Compute Services Should Be Up
    All Hypervisors Should Be Up

Every Network Agent Is Alive
    [Documentation]    A cloud without agents passes, saying so in the log.
    [Tags]    service:neutron-server
    All Network Agents Should Be Up

Every Node Runs Its Services
    [Documentation]    Over SSH: each service the target places on a node has processes there.
    Every Service Should Run On Every Node

A Quiet Minute Shows No Outage
    [Documentation]    Every probe, for a minute, with writes: not one failed sample, not
    ...    one lost request.
    Start Measuring Availability With Writes
    Keep Measuring For    1 min
    Stop Measuring Availability
    There Should Be No Outage At All
    No Requests Should Be Lost

The Monitor's Answers Match Their Published Response Schemas
    [Documentation]    A few seconds of every probe: the answers (reads, token checks, version
    ...    documents) against the response schemas tempest publishes, at the microversion
    ...    each was given at: Compute has them (servers, version documents), Identity, Image
    ...    and Networking none. Skipped, saying what to install, without the ``schemas``
    ...    extra.
    [Tags]    service:nova-api
    Start Measuring Availability    baseline=3 s
    Stop Measuring Availability
    Responses Should Match Their Schemas

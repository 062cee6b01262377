*** Settings ***
Documentation     The availability monitor measured against the lab (issue 6).
...
...               Needs the running lab: ``extreme lab up``, then
...               ``robot --outputdir results/lab-monitor tests/lab/robot/monitor.robot``
...               (the target file comes from ``$EXTREME_TARGET`` or the lab's default).
...               Outages are planted by disabling every server of a HAProxy backend
...               through the admin socket: HAProxy then answers 503 at once, so the
...               planted window is known to the millisecond.
Metadata          Requirement    issue 6: availability monitor

Library           Collections
Library           DateTime
Library           ExtremeTesting.Monitor

Suite Setup       Read The Lab Target
Suite Teardown    Enable Keystone Backends Again

Test Tags         monitor    lab


*** Variables ***
${PLANTED}      3s
${SLACK}        0.1    # s: the planting commands' and the scheduler's own timing
@{KEYSTONE}     ctl1    ctl2


*** Test Cases ***
Healthy Period Shows No Outage
    [Documentation]    Ten quiet seconds: no outage, no error, every write accounted for.
    Start Availability Monitor    name=healthy    writes=network
    Sleep    10s    reason=the healthy period being measured
    ${result}=    Stop Availability Monitor    healthy
    Should Be Empty    ${result}[overall][outages]
    # Measured here: zero failed samples of ~1,000. One slow answer on the busy 2-core
    # machine is 0.1 %; the limit (1 %, was 0.001 %) allows ten; an outage still fails.
    Error Rate Should Be Below    1    name=healthy
    No Requests Should Be Lost    name=healthy
    # The timeline keeps its resolution: no slot missed, every sample started well within
    # its 0.5 s period. The lag figure itself is a benchmark (bench/monitor_capacity.py).
    Should Be Equal As Integers    ${result}[scheduling][missed_slots]    0
    Should Be True    ${result}[scheduling][lag_p99] < 0.1
    ...    samples started ${result}[scheduling][lag_p99] s late (p99)
    Should Be True    ${result}[cpu_share] < 0.25

Planted Keystone Outage Is Measured To The Sample
    [Documentation]    Both Keystone backends disabled in HAProxy for ${PLANTED}: the
    ...    measured outage of the identity probes matches the planted one within its
    ...    stated uncertainty.
    [Tags]    destructive    service:keystone    fault:haproxy
    Start Availability Monitor    name=planted    probes=version-identity,token
    Sleep    3s    reason=healthy before the plant
    ${planted}=    Plant Keystone Outage    ${PLANTED}
    Sleep    3s    reason=healthy after the plant
    ${result}=    Stop Availability Monitor    planted
    Measured Outage Should Match    ${result}    version-identity    ${planted}
    Measured Outage Should Match    ${result}    token    ${planted}
    # Backends enabled again: the next sample (0.2 s) answers, a token validation within
    # its 1 s probe timeout; 3 s keeps 3x over that on a loaded machine.
    Cloud Should Recover Within    3s    name=planted
    Outage Should Be Shorter Than    4s    name=planted

Duplicated Write Is Reported
    [Documentation]    The same network create sent twice (as a retrying proxy would) is
    ...    reported as a duplicate.
    Start Availability Monitor    name=duplicate    probes=write-network    writes=network
    ${status}=    Wait Until Keyword Succeeds    20s    0.5s
    ...    Replay Last Write    name=duplicate
    Should Be Equal As Integers    ${status}    201
    Stop Availability Monitor    duplicate
    Run Keyword And Expect Error    *1 duplicated*    No Requests Should Be Lost    duplicate

Write Deleted Behind The Monitor Is Reported Lost
    [Documentation]    A network the monitor created and still holds is deleted by someone
    ...    else: the monitor reports it lost.
    Start Availability Monitor    name=lost    probes=write-network    writes=network
    ${victim}=    Wait Until Keyword Succeeds    20s    0.5s
    ...    Delete Write Behind The Monitor    name=lost
    Stop Availability Monitor    lost
    Run Keyword And Expect Error    *1 lost*${victim}*    No Requests Should Be Lost    lost


*** Keywords ***
Read The Lab Target
    [Documentation]    Finds the lab's HAProxy admin socket in the target file.
    ${path}=    Evaluate    str(ExtremeTesting.target.default_target_path())
    ...    modules=ExtremeTesting.target
    ${target}=    Evaluate    ExtremeTesting.target.load($path)    modules=ExtremeTesting.target
    ${balancer}=    Evaluate    $target.section('load_balancer')
    ${socket}=    Evaluate    str($target.resolve($balancer['admin_socket']))
    VAR    ${HAPROXY_SOCKET}=    ${socket}    scope=SUITE    # robocop: off=VAR05

Plant Keystone Outage
    [Documentation]    Disables every Keystone server in HAProxy for ${length}; returns the
    ...    planted length in seconds, measured between the disable and the enable.
    [Arguments]    ${length}
    ${seconds}=    Convert Time    ${length}
    ${planted}=    Evaluate
    ...    ExtremeTesting.monitor.haproxy.plant_outage($HAPROXY_SOCKET, 'keystone', $KEYSTONE, $seconds)
    ...    modules=ExtremeTesting.monitor.haproxy
    RETURN    ${planted}

Measured Outage Should Match
    [Documentation]    One outage seen by ${probe}, within its stated uncertainty (half the
    ...    gap between the samples around each edge: its period) and ${SLACK} s of the
    ...    planted ${planted} s. (The lab's token probe samples at 2/s, the version
    ...    documents at 5/s: ${SLACK} s over 0.5 s and 0.2 s; at 10/s it was 0.1 + 0.1.)
    [Arguments]    ${result}    ${probe}    ${planted}
    VAR    ${outages}=    ${result}[probes][${probe}][outages]
    Length Should Be    ${outages}    1    ${probe} should see exactly one outage
    VAR    ${measured}=    ${outages}[0][duration]
    VAR    ${within}=    ${outages}[0][uncertainty]
    Should Be True    abs(${measured} - ${planted}) <= ${within} + ${SLACK}
    ...    ${probe}: measured ${measured} s (± ${within} s), planted ${planted} s

Enable Keystone Backends Again
    [Documentation]    Never leave Keystone disabled, whatever a test did.
    Evaluate    ExtremeTesting.monitor.haproxy.set_servers($HAPROXY_SOCKET, 'keystone', $KEYSTONE, True)
    ...    modules=ExtremeTesting.monitor.haproxy

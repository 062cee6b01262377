*** Settings ***
Documentation     The steady state means full redundancy, on the running lab.
...
...               A backend disabled in HAProxy (through its admin socket on the lb node,
...               over SSH) makes the steady-state check fail naming it, and a destructive
...               case refuse to start; enabled again, the check passes. A Keystone
...               instance that runs but does not answer after a restart (frozen right
...               after it) fails the restart cases' check naming the node and the service.
...               Node checks reconnect when their SSH connection died. Every fault planted
...               here is undone in the test's teardown whatever happens (the frozen
...               instance also by the Faults library at the test's end).
...
...               Run (lab up, its environment exported with ``eval "$(extreme lab env)"``):
...               robot --outputdir results/steady tests/lab/robot/steady_state.robot
...               then ``python -m robotstatuschecker results/steady/output.xml``.

Resource          ../../../resources/destructive.resource

Suite Setup       Start From A Whole Lab
Suite Teardown    Close Every Node Connection

Test Tags         destructive    steady-state


*** Variables ***
${SERVICE}    keystone
${NODE}       ctl2


*** Test Cases ***
The Healthy Lab Has Full Redundancy
    [Documentation]    Every API answers on both controllers, every backend is UP.
    Every API Should Serve On Every Node
    Every Load Balancer Backend Should Be Up
    ${servers} =    Get Load Balancer Servers
    Length Should Be    ${servers}    13    two servers for each of the five APIs, three for MariaDB

A Disabled Backend Makes The Steady State Fail Naming It
    [Documentation]    keystone/ctl2 in maintenance: the check names the backend, server
    ...    and state, a destructive case does not start; enabled, the check passes.
    [Tags]    service:keystone
    [Setup]    Set Load Balancer Server    disable    keystone    ctl2
    VAR    ${named} =    1 of 13 servers are not: backend keystone server ctl2 is MAINT
    Run Keyword And Expect Error    *load balancer: Expected every load balancer backend UP; ${named}*
    ...    Cloud Should Be Healthy
    Run Keyword And Expect Error    *backend keystone server ctl2 is MAINT*
    ...    Prepare A Destructive Case
    Set Load Balancer Server    enable    keystone    ctl2
    Cloud Should Become Healthy Within    1 min
    [Teardown]    Set Load Balancer Server    enable    keystone    ctl2

An Instance That Does Not Answer After A Restart Fails The Restart Check
    [Documentation]    Keystone on ctl2 restarted, then frozen at once: its processes run,
    ...    the VIP answers (ctl1 serves), but the restart cases' check fails naming
    ...    keystone and ctl2, and so does the steady state.
    [Tags]    service:keystone
    [Setup]    Prepare A Destructive Case
    Restart Service    keystone    on=ctl2
    Freeze Service    keystone    on=ctl2
    Processes Of ${SERVICE} Should Run On ${NODE}
    Run Keyword And Expect Error    keystone on ctl2 did not serve again: Timed out*
    ...    The Hit Instance Should Serve Again    keystone    ctl2
    Run Keyword And Expect Error    *API instances: *keystone on ctl2 http://198.18.0.12:5000/v3: no answer*
    ...    Cloud Should Be Healthy
    [Teardown]    Finish A Destructive Case

Keystone On Ctl2 Serves Again After The Freeze Was Undone
    [Documentation]    The previous test's teardown resumed the frozen instance.
    [Tags]    service:keystone
    Service Should Serve On Node    keystone    ctl2
    ${open} =    Get Open Faults
    Should Be Empty    ${open}

A Node Check Reconnects When Its Connection Died
    [Documentation]    The SSH connection to ctl2 dies (its sshd session killed, as when the
    ...    node is powered off); the next node check opens a new one instead of failing
    ...    with "SSH session not active".
    Processes Of ${SERVICE} Should Run On ${NODE}
    Switch Connection    ctl2
    Run Keyword And Ignore Error    Execute Command    kill -9 $PPID    timeout=10 s
    ${error} =    Run Keyword And Expect Error    *    Execute Command    true    timeout=10 s
    Log    The old connection is dead: ${error}
    Processes Of ${SERVICE} Should Run On ${NODE}
    ${out} =    Run On    ctl2    hostname
    Should Be Equal    ${out}    ctl2


*** Keywords ***
Set Load Balancer Server
    [Documentation]    ``enable`` or ``disable`` a backend's server through HAProxy's admin
    ...    socket on the load balancer node, over SSH, as an operator would.
    [Arguments]    ${verb}    ${backend}    ${server}
    ${balancer} =    Evaluate    ExtremeTesting.loadbalancer.from_target(ExtremeTesting.target.load($TARGET))
    ...    modules=ExtremeTesting.loadbalancer,ExtremeTesting.target
    ${answer} =    Evaluate    $balancer.command($verb + ' server ' + $backend + '/' + $server)
    Should Be Empty    ${answer.strip()}    HAProxy refused '${verb} server ${backend}/${server}': ${answer}

Start From A Whole Lab
    [Documentation]    The suites before may leave a node still booting (power.robot powers
    ...    ctl1 off and on): wait, bounded, until the steady state holds, so that the first
    ...    test judges a whole lab and not the previous suite's boot.
    Use The Expectations Of    service_restart
    Cloud Should Become Healthy Within    5 min

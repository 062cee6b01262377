*** Settings ***
Documentation     Acceptance of ExtremeTesting.Switch against the running lab's switch sw1.
...
...               The switch node holds the bridge every node (and the runner) is plugged
...               into; the Switch library reaches it over SSH on its out-of-band management
...               port with netmiko's ``linux`` device type. A restart takes every port down
...               for the asked duration: every node is unreachable meanwhile, then the cloud
...               serves again by itself. One port down cuts one node only, and a port left
...               down by a test comes back when that test ends.
...
...               Run (lab up, its environment exported with ``eval "$(extreme lab env)"``):
...               robot --outputdir results/switch tests/lab/robot/switch.robot
...               then ``python -m robotstatuschecker results/switch/output.xml``.

Library           Collections
Library           OperatingSystem
Library           RequestsLibrary
Library           ExtremeTesting.Switch    ${TARGET}
Variables         ${TARGET}

Suite Setup       Create Session    vip    http://${vip}:5000    timeout=2
Suite Teardown    ExtremeTesting.Switch.Wait Until Switch Is Back    ${SWITCH}    timeout=5 min

Test Tags         destructive    fault:network    switch:sw1


*** Variables ***
${TARGET}      %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}
${SWITCH}      sw1
${DOWN}        ${15}
${RECOVERY}    3 min


*** Test Cases ***
The Switch Has An Up Port Per Node
    [Documentation]    ``switch show ports`` over SSH lists every node's port, all up.
    [Tags]    -destructive
    ${ports} =    Get Switch Ports    ${SWITCH}
    ${names} =    Evaluate    [port['name'] for port in $ports]
    FOR    ${node}    IN    @{nodes}
        List Should Contain Value    ${names}    ${node}    no port for ${node}: ${names}
    END
    FOR    ${port}    IN    @{ports}
        Should Be Equal    ${port}[admin]    up    port ${port}[name] is down
    END

Restart Switch Cuts Every Node Off Then The Cloud Serves Again
    [Documentation]    Nodes unreachable while the ports are down; then the APIs answer
    ...    again without anyone touching the cloud.
    [Tags]    availability
    Every Node Should Answer
    Restart Switch    ${SWITCH}    down_duration=${DOWN} s
    ${start} =    Evaluate    time.monotonic()    modules=time
    Run Keyword And Expect Error    *    GET On Session    vip    /v3
    Every Node Should Stay Unreachable Until    ${start}    ${DOWN - 3}
    ${seconds} =    ExtremeTesting.Switch.Wait Until Switch Is Back    ${SWITCH}    timeout=2 min
    Should Be True    ${seconds} >= ${DOWN - 1}    back after ${seconds} s, asked ${DOWN} s
    Wait Until Keyword Succeeds    30 s    1 s    Every Node Should Answer
    Wait Until Keyword Succeeds    ${RECOVERY}    2 s    Every API Should Answer Through The VIP

Shut Down Ctl1 Port Cuts Ctl1 Only
    [Documentation]    ctl1 is cut off, ctl2 is not, Keystone answers through the VIP.
    Shut Down Switch Port    ${SWITCH}    ctl1
    Wait Until Keyword Succeeds    5 s    0.2 s    Node Should Not Answer    ctl1
    Node Should Answer    ctl2
    Wait Until Keyword Succeeds    15 s    0.5 s    GET On Session    vip    /v3
    Bring Up Switch Port    ${SWITCH}    ctl1
    Wait Until Keyword Succeeds    10 s    0.2 s    Node Should Answer    ctl1

A Test Leaving Ctl2 Port Down
    [Documentation]    The port stays down when this test ends...
    Shut Down Switch Port    ${SWITCH}    ctl2
    Wait Until Keyword Succeeds    5 s    0.2 s    Node Should Not Answer    ctl2

Ctl2 Port Came Back When That Test Ended
    [Documentation]    ...and the library brought it up: every port up, ctl2 answers.
    ${ports} =    Get Switch Ports    ${SWITCH}
    ${down} =    Evaluate    [p['name'] for p in $ports if p['admin'] != 'up']
    Should Be Empty    ${down}    ports still down: ${down}
    Wait Until Keyword Succeeds    10 s    0.2 s    Node Should Answer    ctl2

A Target Not Marked Destructive Refuses
    [Documentation]    The same switch, described as not destructive: nothing is touched.
    [Tags]    -destructive    safety
    ${path} =    Write Non Destructive Copy Of The Target
    # Names in variables: robot --dryrun can neither import nor see this second instance.
    VAR    ${import} =    Import Library
    VAR    ${lib} =    ReadOnlySwitch
    Run Keyword    ${import}    ExtremeTesting.Switch    ${path}    AS    ${lib}
    Run Keyword And Expect Error    *not marked destructive*
    ...    Run Keyword    ${lib}.Restart Switch    ${SWITCH}
    Run Keyword And Expect Error    *not marked destructive*
    ...    Run Keyword    ${lib}.Shut Down Switch Port    ${SWITCH}    ctl1
    Every Node Should Answer


*** Keywords ***
Node Should Answer
    [Documentation]    The node's SSH port accepts a connection.
    [Arguments]    ${node}
    ${ok} =    Evaluate    ExtremeTesting.power.library.tcp_accepts($nodes[$node]['address'], $ssh['port'], 1)
    ...    modules=ExtremeTesting.power.library
    Should Be True    ${ok}    ${node} does not answer on SSH

Node Should Not Answer
    [Documentation]    The node's SSH port does not accept a connection.
    [Arguments]    ${node}
    ${ok} =    Evaluate    ExtremeTesting.power.library.tcp_accepts($nodes[$node]['address'], $ssh['port'], 0.5)
    ...    modules=ExtremeTesting.power.library
    Should Not Be True    ${ok}    ${node} still answers on SSH

Every Node Should Answer
    [Documentation]    Every node of the target accepts SSH connections.
    FOR    ${node}    IN    @{nodes}
        Node Should Answer    ${node}
    END

Every Node Should Stay Unreachable Until
    [Documentation]    Polls every node until ``seconds`` after ``start``: none may answer.
    [Arguments]    ${start}    ${seconds}
    ${elapsed} =    Evaluate    time.monotonic() - $start    modules=time
    WHILE    ${elapsed} < ${seconds}    limit=1000
        FOR    ${node}    IN    @{nodes}
            Node Should Not Answer    ${node}
        END
        ${elapsed} =    Evaluate    time.monotonic() - $start    modules=time
    END

Every API Should Answer Through The VIP
    [Documentation]    Each endpoint of the target answers through HAProxy without a 5xx.
    FOR    ${service}    ${url}    IN    &{endpoints}
        ${answer} =    GET    ${url}    expected_status=any    timeout=3
        Should Be True    ${answer.status_code} < 500    ${service}: ${answer.status_code}
    END

Write Non Destructive Copy Of The Target
    [Documentation]    The target file with destructive: false, in the output directory.
    ${data} =    Evaluate    yaml.safe_load(pathlib.Path($TARGET).read_text())    modules=yaml,pathlib
    Set To Dictionary    ${data}    destructive=${False}    name=lab-readonly
    VAR    ${path} =    ${OUTPUT DIR}${/}non-destructive-switch-target.yaml
    Create File    ${path}    ${{yaml.safe_dump($data)}}
    RETURN    ${path}

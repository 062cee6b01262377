*** Settings ***
Documentation     Acceptance of ExtremeTesting.Faults against the running lab.
...
...               Every service action hits Keystone on ctl1 only: the suite checks it over SSH
...               (``service keystone status`` and ``ps`` on the node), checks that the API
...               still answers through the VIP (ctl2 serves), and that ctl2's Keystone was
...               not touched (same pids, not stopped). Tests run in order: some check what
...               the library undid after the previous test ended.
...
...               Run (lab up, its environment exported with ``eval "$(extreme lab env)"``):
...               robot --outputdir results/faults tests/lab/robot/faults.robot
...               then ``python -m robotstatuschecker results/faults/output.xml``: the test
...               that fails on purpose documents its expected failure.

Library           Collections
Library           OperatingSystem
Library           RequestsLibrary
Library           SSHLibrary    timeout=20 s
Library           ExtremeTesting.Faults    ${TARGET}
Variables         ${TARGET}

Suite Setup       Open Connections To Controllers
Suite Teardown    Close All Connections

Test Tags         destructive    fault:service    service:keystone


*** Variables ***
${TARGET}    %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}
${GREP}      [k]eystone-uwsgi


*** Test Cases ***
Cloud Is Reachable Through os-faults
    [Documentation]    os-faults reaches every node over SSH; both Keystones run.
    [Tags]    -destructive
    Verify Cloud Access
    Keystone Should Be Running On    ctl1
    Keystone Should Be Running On    ctl2

Kill Keystone On Ctl1
    [Documentation]    SIGKILL hits ctl1 only; the API still answers through the VIP.
    ${ctl2_pids} =    Keystone Pids On    ctl2
    ${hit} =    Kill Service    keystone    on=ctl1
    Should Be Equal    ${hit}    ${{["ctl1"]}}
    Wait Until Keyword Succeeds    10 s    0.5 s    Keystone Should Be Stopped On    ctl1
    Identity Should Answer Through The VIP
    Ctl2 Keystone Should Be Untouched    ${ctl2_pids}

Keystone On Ctl1 Was Started Again When The Kill Test Ended
    [Documentation]    The listener started what the previous test killed.
    Wait Until Keyword Succeeds    30 s    1 s    Keystone Should Be Running On    ctl1
    ${open} =    Get Open Faults
    Should Be Empty    ${open}

Terminate And Start Keystone On Ctl1
    [Documentation]    A graceful stop, then an explicit start that closes the fault.
    ${ctl2_pids} =    Keystone Pids On    ctl2
    Terminate Service    keystone    on=ctl1
    Keystone Should Be Stopped On    ctl1
    Identity Should Answer Through The VIP
    Start Service    keystone    on=ctl1
    Wait Until Keyword Succeeds    30 s    1 s    Keystone Should Be Running On    ctl1
    ${open} =    Get Open Faults
    Should Be Empty    ${open}    Start Service should have closed the terminate fault
    Ctl2 Keystone Should Be Untouched    ${ctl2_pids}

Restart Keystone On Ctl1
    [Documentation]    New processes on ctl1, the same ones on ctl2.
    ${ctl1_before} =    Keystone Pids On    ctl1
    ${ctl2_pids} =    Keystone Pids On    ctl2
    Restart Service    keystone    on=ctl1
    Wait Until Keyword Succeeds    30 s    1 s    Keystone Should Be Running On    ctl1
    ${ctl1_after} =    Keystone Pids On    ctl1
    Should Not Be Equal    ${ctl1_before}    ${ctl1_after}    Restart kept the same processes
    Identity Should Answer Through The VIP
    Ctl2 Keystone Should Be Untouched    ${ctl2_pids}

Freeze And Unfreeze Keystone On Ctl1
    [Documentation]    SIGSTOP then SIGCONT on ctl1; HAProxy sends clients to ctl2.
    ${ctl2_pids} =    Keystone Pids On    ctl2
    Freeze Service    keystone    on=ctl1
    Keystone Should Be Frozen On    ctl1
    Wait Until Keyword Succeeds    15 s    0.5 s    Identity Should Answer Through The VIP
    Unfreeze Service    keystone    on=ctl1
    Keystone Should Be Running On    ctl1
    Ctl2 Keystone Should Be Untouched    ${ctl2_pids}

Freeze For A Duration Ends By Itself
    [Documentation]    The node resumes Keystone after the duration, without an unfreeze.
    Freeze Service    keystone    on=ctl1    duration=5 s
    Keystone Should Be Frozen On    ctl1
    Wait Until Keyword Succeeds    20 s    0.5 s    Keystone Should Be Running On    ctl1

Unplug And Plug Keystone On Ctl1
    [Documentation]    An iptables DROP rule on port 5000 of ctl1 comes and goes.
    [Tags]    fault:network
    ${ctl2_pids} =    Keystone Pids On    ctl2
    Unplug Service    keystone    on=ctl1
    Drop Rule Should Exist On    ctl1    5000
    Wait Until Keyword Succeeds    15 s    0.5 s    Identity Should Answer Through The VIP
    Plug Service    keystone    on=ctl1
    Drop Rule Should Not Exist On    ctl1    5000
    Ctl2 Keystone Should Be Untouched    ${ctl2_pids}

A Test Failing Mid Fault
    [Documentation]    FAIL    Keystone on ctl1 stays frozen on purpose
    Freeze Service    keystone    on=ctl1
    Keystone Should Be Frozen On    ctl1
    Fail    Keystone on ctl1 stays frozen on purpose

Its Fault Was Undone All The Same
    [Documentation]    The failed test's freeze was undone when it ended.
    Keystone Should Be Running On    ctl1
    ${open} =    Get Open Faults
    Should Be Empty    ${open}

A Target Not Marked Destructive Refuses
    [Documentation]    The same cloud, described as not destructive: nothing is touched.
    [Tags]    -destructive    safety
    ${path} =    Write Non Destructive Copy Of The Target
    # Names in variables: robot --dryrun can neither import nor see this second instance.
    VAR    ${import} =    Import Library
    VAR    ${lib} =    ReadOnly
    Run Keyword    ${import}    ExtremeTesting.Faults    ${path}    AS    ${lib}
    ${ctl1_pids} =    Keystone Pids On    ctl1
    Run Keyword And Expect Error    *not marked*'destructive: true'*
    ...    Run Keyword    ${lib}.Kill Service    keystone    on=ctl1
    Run Keyword And Expect Error    *not marked*'destructive: true'*
    ...    Run Keyword    ${lib}.Power Off Node    ctl1
    ${after} =    Keystone Pids On    ctl1
    Should Be Equal    ${ctl1_pids}    ${after}    The refused kill touched ctl1
    Keystone Should Be Running On    ctl1

Human Grammar Restarts Keystone On One Controller
    [Documentation]    os-faults' sentence, resolved to one concrete node.
    ${hit} =    ExtremeTesting.Faults.Inject Fault    restart keystone service on one node
    Length Should Be    ${hit}    1
    Wait Until Keyword Succeeds    30 s    1 s    Keystone Should Be Running On    ${hit}[0]
    Identity Should Answer Through The VIP


*** Keywords ***
Open Connections To Controllers
    [Documentation]    One SSH connection per controller, and an HTTP session to the VIP.
    FOR    ${node}    IN    ctl1    ctl2
        Open Connection    ${nodes}[${node}][address]    alias=${node}    port=${ssh}[port]
        Login With Public Key    ${ssh}[username]    ${ssh}[private_key_file]
    END
    Create Session    vip    http://${vip}:5000    timeout=3

Write Non Destructive Copy Of The Target
    [Documentation]    The target file with destructive: false, in the output directory.
    ${data} =    Evaluate    yaml.safe_load(pathlib.Path($TARGET).read_text())    modules=yaml,pathlib
    Set To Dictionary    ${data}    destructive=${False}    name=lab-readonly
    VAR    ${path} =    ${OUTPUT DIR}${/}non-destructive-target.yaml
    Create File    ${path}    ${{yaml.safe_dump($data)}}
    RETURN    ${path}

Run On
    [Documentation]    Output of a command on a node (its status is ignored).
    [Arguments]    ${node}    ${command}
    Switch Connection    ${node}
    ${out} =    Execute Command    ${command}
    RETURN    ${out}

Keystone Pids On
    [Documentation]    Keystone's pids on a node, sorted, as one string.
    [Arguments]    ${node}
    ${out} =    Run On    ${node}    pgrep -f ${GREP} | sort -n | tr '\\n' ' '
    RETURN    ${out.strip()}

Service Status On
    [Documentation]    ``service keystone status`` on a node: its output and exit status.
    [Arguments]    ${node}
    Switch Connection    ${node}
    ${out}    ${rc} =    Execute Command    service keystone status    return_rc=True
    RETURN    ${out}    ${rc}

Keystone Should Be Running On
    [Documentation]    The service manager says running and no Keystone process is stopped.
    [Arguments]    ${node}
    ${out}    ${rc} =    Service Status On    ${node}
    Should Be Equal As Integers    ${rc}    0    keystone on ${node}: ${out}
    ${states} =    Run On    ${node}    ps -o stat= -p "$(pgrep -d, -f ${GREP})"
    Should Not Contain    ${states}    T    keystone on ${node} has stopped (frozen) processes

Keystone Should Be Stopped On
    [Documentation]    No Keystone process on the node.
    [Arguments]    ${node}
    ${out}    ${rc} =    Service Status On    ${node}
    Should Contain    ${out}    is stopped    rc ${rc}
    ${pids} =    Keystone Pids On    ${node}
    Should Be Empty    ${pids}

Keystone Should Be Frozen On
    [Documentation]    Every Keystone process of the node is stopped by a signal (state T).
    [Arguments]    ${node}
    ${out}    ${rc} =    Service Status On    ${node}
    Should Contain    ${out}    is frozen    rc ${rc}
    ${states} =    Run On    ${node}    ps -o stat= -p "$(pgrep -d, -f ${GREP})"
    Should Match Regexp    ${states}    ^(\\s*T\\S*\\s*)+$    not all stopped: ${states}

Ctl2 Keystone Should Be Untouched
    [Documentation]    ctl2 runs the very processes it ran before the fault.
    [Arguments]    ${pids_before}
    ${now} =    Keystone Pids On    ctl2
    Should Be Equal    ${pids_before}    ${now}    ctl2's keystone processes changed
    Keystone Should Be Running On    ctl2

Identity Should Answer Through The VIP
    [Documentation]    GET /v3 through HAProxy's VIP answers 200.
    GET On Session    vip    /v3    expected_status=200

Drop Rule Should Exist On
    [Documentation]    os-faults' iptables DROP rule for the port is in INPUT.
    [Arguments]    ${node}    ${port}
    ${rules} =    Run On    ${node}    iptables -S INPUT
    Should Match Regexp    ${rules}    --dport ${port}\\b.*-j DROP

Drop Rule Should Not Exist On
    [Documentation]    No DROP rule for the port in INPUT.
    [Arguments]    ${node}    ${port}
    ${rules} =    Run On    ${node}    iptables -S INPUT
    Should Not Match Regexp    ${rules}    --dport ${port}\\b.*-j DROP

*** Settings ***
Documentation     Acceptance of ExtremeTesting.Policy against the running lab.
...
...               A policy override planted on one controller (readers may create networks,
...               in ctl1's neutron policy file) is found by the deployed-policy check and
...               named with ctl1, not ctl2; the override is removed whatever happens. Bad
...               input fails with one clear line before anything is touched.
...
...               Run (lab up, its environment exported with ``eval "$(extreme lab env)"``),
...               inside ``flock /tmp/xt-lab.lock``:
...               robot --outputdir results/policy tests/lab/robot/policy.robot

Library           SSHLibrary    timeout=30 s
Variables         ${TARGET}
Library           ExtremeTesting.Policy    ${TARGET}

Suite Teardown    Close All Connections

Test Tags         policy


*** Variables ***
${TARGET}      %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}
${OVERRIDE}    /etc/neutron/policy.d/zz-xt-readers-create-networks.yaml


*** Test Cases ***
A Policy Override On One Controller Is Found And Named With Its Node
    [Documentation]    The drift names ctl1 and the planted rule, and nothing on ctl2.
    [Setup]    Plant On The First Controller    "create_network": "role:reader"
    ${message} =    Run Keyword And Expect Error    *
    ...    Deployed Policy Should Match Matrix    nodes=${{['ctl1', 'ctl2']}}
    Should Contain    ${message}
    ...    ctl1: reader / network:create_network: matrix says deny, deployed policy says allow
    Should Not Contain    ${message}    ctl2:
    [Teardown]    Remove The Override From The First Controller

The Override Is Gone Afterwards
    [Documentation]    The previous test's teardown removed the file.
    Open Connection    ${nodes}[ctl1][address]    alias=ctl1    port=${ssh}[port]
    Login With Public Key    ${ssh}[username]    ${ssh}[private_key_file]
    ${rc} =    Execute Command    test -e ${OVERRIDE}    return_stdout=False    return_rc=True
    Should Not Be Equal As Integers    ${rc}    0

An Unknown Operation Fails With One Line Naming Its Neighbours
    [Documentation]    Nothing runs: the name is checked first.
    Run Keyword And Expect Error    Unknown operation 'network:nope'. Known network operations:*
    ...    Persona Should Be Denied    reader    network:nope


*** Keywords ***
Plant On The First Controller
    [Documentation]    Writes ``rule`` into a policy file of ctl1's neutron-server (read by
    ...    oslo.policy from policy.d at the next check).
    [Arguments]    ${rule}
    Open Connection    ${nodes}[ctl1][address]    alias=ctl1    port=${ssh}[port]
    Login With Public Key    ${ssh}[username]    ${ssh}[private_key_file]
    ${out}    ${rc} =    Execute Command
    ...    mkdir -p /etc/neutron/policy.d && echo '${rule}' > ${OVERRIDE}
    ...    return_rc=True
    Should Be Equal As Integers    ${rc}    0    ${out}

Remove The Override From The First Controller
    [Documentation]    Removes the planted file (nothing to do if it is not there).
    Switch Connection    ctl1
    ${out}    ${rc} =    Execute Command    rm -f ${OVERRIDE}    return_rc=True
    Should Be Equal As Integers    ${rc}    0    ${out}

*** Settings ***
Documentation     The network switch restarts: the cloud recovers by itself.
...
...               Every port of the target's ``switch_restart.switch`` goes down for
...               ``down_for`` and comes back. Nobody touches the cloud afterwards: every
...               API must serve again within ``recovery`` of the switch being back, no
...               accepted request may be lost, and the cloud must be healthy again.
Metadata          Requirement    The cloud recovers by itself from a network outage
Metadata          Scenario    Restart the switch that joins every node

Resource          ../../resources/destructive.resource

Suite Setup       Use The Expectations Of    switch_restart
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

Test Tags         area:destructive    fault:switch


*** Test Cases ***
Services Recover By Themselves After A Switch Restart
    [Documentation]    The outage may last as long as the switch is down, plus the time
    ...    the services need to reconnect; then nothing is lost and nothing stays broken.
    Start Measuring Availability With Writes
    Restart Switch    ${LIMITS.switch}    down_duration=${LIMITS.down_for}
    Wait Until Switch Is Back    ${LIMITS.switch}    timeout=5 min
    Wait Until Every Node Answers Again
    Keep Measuring Until The Cloud Had Time To Recover
    Stop Measuring Availability
    The Outage Should Stay Within The Limits    after recovery
    Every Service Should Run On Every Node


*** Keywords ***
Wait Until Every Node Answers Again
    [Documentation]    Each node's SSH port accepts connections again.
    FOR    ${node}    IN    @{nodes}
        Wait Until Node Accepts Connections    ${node}    ${ssh}[port]    timeout=2 min
    END

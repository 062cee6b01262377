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
    Keep Measuring Until Late Effects Had Time To Show
    Stop Measuring Availability
    The Outage Should Stay Within The Limits    after recovery
    Every Service Should Run On Every Node


*** Keywords ***
Keep Measuring Until Late Effects Had Time To Show
    [Documentation]    The monitor keeps measuring for the scenario's ``observe_for`` seconds
    ...    after every node answers (default: its ``recovery``). Some effects of a network
    ...    outage come late: a RabbitMQ member notices a silent peer only after Erlang's
    ...    net_ticktime (60 s), so a cloud that serves 30 s after the switch may still
    ...    partition a minute later.
    ${seconds} =    Evaluate    $LIMITS.get('observe_for', $LIMITS['recovery'])
    Keep Measuring For    ${seconds}

Wait Until Every Node Answers Again
    [Documentation]    Each node's SSH port accepts connections again.
    FOR    ${node}    IN    @{nodes}
        Wait Until Node Accepts Connections    ${node}    ${ssh}[port]    timeout=2 min
    END

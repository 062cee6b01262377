*** Settings ***
Documentation     A controller loses its power: the other controllers keep the cloud serving.
...
...               The controller named by the target's ``control_node_shutdown.node`` is
...               powered off through its BMC while the availability monitor probes every
...               API and creates networks. The load balancer must send every request to
...               the remaining controllers within ``max_outage``, and no accepted request
...               may be lost. Then the node is powered on: it boots, its services start,
...               it serves again and the cloud is healthy within ``healthy_within``.
Metadata          Requirement    The control plane survives the loss of one controller
Metadata          Scenario    Power off a controller through its BMC (hard and graceful)

Resource          ../../resources/destructive.resource

Suite Setup       Use The Expectations Of    control_node_shutdown
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

Test Tags         area:destructive    fault:power


*** Test Cases ***
APIs Keep Serving While A Controller Is Powered Off
    [Documentation]    Hard power off (no shutdown) of the controller for ``off_for``.
    [Tags]    power:off
    Start Measuring The Steady State And Writes
    Power Off Node    ${LIMITS.node}
    The BMC Should Report The Controller Off
    Keep The Fault For    ${LIMITS.off_for}
    Power On Node    ${LIMITS.node}
    The Controller Should Boot And Serve Again
    Stop Measuring Availability
    The Outage Should Stay Within The Limits
    The Controller Should Have Rejoined The Cloud

APIs Keep Serving While A Controller Shuts Down Gracefully
    [Documentation]    The BMC asks the controller's operating system to shut down (ACPI):
    ...    its services stop one after the other, which the load balancer must notice too.
    [Tags]    power:soft-off
    Start Measuring The Steady State And Writes
    Shut Down Node    ${LIMITS.node}
    Wait Until Power State Is    ${LIMITS.node}    off    timeout=2 min
    Keep The Fault For    ${LIMITS.off_for}
    Power On Node    ${LIMITS.node}
    The Controller Should Boot And Serve Again
    Stop Measuring Availability
    The Outage Should Stay Within The Limits
    The Controller Should Have Rejoined The Cloud


*** Keywords ***
Start Measuring The Steady State And Writes
    [Documentation]    The monitor with writes, measuring the steady state for the case's
    ...    ``baseline`` (default 5 s) before the power is cut: the "before" phase whose
    ...    error rate is judged needs more than a second's samples.
    ${baseline} =    Get From Dictionary    ${LIMITS}    baseline    default=5 s
    Start Measuring Availability With Writes    baseline=${baseline}

The BMC Should Report The Controller Off
    [Documentation]    The node's BMC says what the fault did.
    ${state} =    Get Power State    ${LIMITS.node}
    Should Be Equal    ${state}    off    The BMC of ${LIMITS.node} reports ${state} after power off

The Controller Should Boot And Serve Again
    [Documentation]    SSH first, then every API port the target places on the node.
    VAR    @{ports} =    @{EMPTY}
    FOR    ${service}    IN    @{API SERVICES}
        IF    $LIMITS.node in $services[$service]['nodes']
            VAR    @{ports} =    @{ports}    ${services}[${service}][port]
        END
    END
    Wait Until Node Accepts Connections    ${LIMITS.node}    ${ssh}[port]    @{ports}
    ...    timeout=${LIMITS.boot}

The Controller Should Have Rejoined The Cloud
    [Documentation]    Its processes run again, each API answers on the node itself, and
    ...    Nova sees its compute services up.
    [Tags]    robot:continue-on-failure
    Every Service Of ${LIMITS.node} Should Run
    FOR    ${service}    IN    @{API SERVICES}
        IF    $LIMITS.node in $services[$service]['nodes']
            Wait Until Service Serves On Node    ${service}    ${LIMITS.node}
        END
    END
    Wait Until Compute Services Are Up    timeout=${LIMITS.healthy_within}

*** Settings ***
Documentation    The data plane's keywords against the running lab (issue 23).
...
...              The suite boots its guests from the lab's target (`Boot Data Plane
...              Guests`, deleted when the suite ends), probes both paths for ten quiet
...              seconds without a loss, finds the node where the router is active among
...              the controllers, and sees the L3 agent there start again after a restart.
...              Skipped while the lab's target has no ``data_plane`` section.
...
...              Run (lab up, its environment exported with ``eval "$(extreme lab env)"``):
...              robot --outputdir results/data-plane tests/lab/robot/data_plane.robot
Metadata         Requirement    issue 23: the tenants' data plane

Library          Collections
Library          ExtremeTesting.Cloud    ${TARGET}
Library          ExtremeTesting.Monitor    ${TARGET}
Library          ExtremeTesting.Changes    ${TARGET}
Variables        ${TARGET}

Suite Setup      Boot Data Plane Guests

Test Tags        data-plane    lab


*** Variables ***
${TARGET}    %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}


*** Test Cases ***
The Guests Answer On Every Path For Ten Quiet Seconds
    [Documentation]    North-south from the client namespace, east-west from the first
    ...    guest to the second: not one packet lost at 20 samples a second per probe.
    ${paths} =    Get Data Plane Paths
    Dictionary Should Contain Key    ${paths}    north-south
    Dictionary Should Contain Key    ${paths}    east-west
    Start Probing Data Plane    &{paths}
    Sleep    10 s    reason=the quiet period being measured
    ${result} =    Stop Probing Data Plane
    Data Plane Packets Lost Should Be At Most    0
    Longest Data Plane Outage Should Be Below    0 s
    Should Be True    $result['paths']['east-west']['samples_per_second'] >= 38

The Router Is Active On One Controller
    [Documentation]    Neutron's HA state: one controller active, the other standby.
    ${node} =    Get Node Of Active Router
    Should Contain    ${nodes}[${node}][roles]    controller

A Restarted L3 Agent Is Seen Started Again
    [Documentation]    The node of the active router restarts its L3 agent: Neutron shows
    ...    a new start time, alive, and the guests still answer.
    ${node} =    Get Node Of Active Router
    ${before} =    Get Network Agent    neutron-l3-agent    ${node}
    Restart Service On Node    ${node}    neutron-l3-agent
    Wait Until Network Agent Has Restarted    neutron-l3-agent    ${node}    ${before}
    Data Plane Guests Should Answer    timeout=30 s

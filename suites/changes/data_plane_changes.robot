*** Settings ***
Documentation     Neutron's agents, and neutron-server's upgrade, changed node by node: the
...               tenants' data plane must not notice.
...
...               The suite's guests (booted once, see ``suites/destructive/data_plane.robot``)
...               are probed on every path from before the change until it is over, and not
...               one packet may be lost (the scenario's ``data_plane`` limits). An agent is
...               behind no load balancer: each node's agent is restarted, reconfigured or
...               upgraded in turn, the next node only once Neutron shows the agent started
...               again and alive. neutron-server is rolled out as every API service is
...               (drained, changed, gated, returned) and must also have no impact on the
...               API. The upgrades are those the target declares (``changes.upgrades``);
...               a case whose upgrade it does not declare is skipped, saying what to add.
...               Changed files and packages come back when each case ends.
...
...               Not applicable to a target without a ``data_plane`` section (it declares
...               so).
Metadata          Requirement    Neutron's agents and server change node by node without the guests noticing
Metadata          Scenario    Restart, reconfigure, upgrade and roll back each agent, node by node; neutron-server

Resource          ../../resources/data_plane.resource

Suite Setup       Use The Expectations Of    rolling_changes
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case
Test Template     Agent Change Should Not Reach The Guests

Test Tags         area:changes    fault:service


*** Test Cases ***
Rolling Restart Of The L3 Agents
    [Tags]    change:restart    service:neutron-l3-agent
    neutron-l3-agent    restart
Rolling Restart Of The DHCP Agents
    [Tags]    change:restart    service:neutron-dhcp-agent
    neutron-dhcp-agent    restart
Rolling Restart Of The Linux Bridge Agents
    [Tags]    change:restart    service:neutron-linuxbridge-agent
    neutron-linuxbridge-agent    restart
Rolling Configuration Change Of The L3 Agents
    [Tags]    change:configuration    service:neutron-l3-agent
    neutron-l3-agent    configuration
    ...    /etc/neutron/l3_agent.ini    DEFAULT    periodic_fuzzy_delay    6
Rolling Configuration Change Of The DHCP Agents
    [Tags]    change:configuration    service:neutron-dhcp-agent
    neutron-dhcp-agent    configuration
    ...    /etc/neutron/dhcp_agent.ini    DEFAULT    num_sync_threads    3
Rolling Configuration Change Of The Linux Bridge Agents
    [Tags]    change:configuration    service:neutron-linuxbridge-agent
    neutron-linuxbridge-agent    configuration
    ...    /etc/neutron/plugins/ml2/linuxbridge_agent.ini    agent    polling_interval    3
Rolling Upgrade And Rollback Of The L3 Agents
    [Tags]    change:upgrade    service:neutron-l3-agent
    [Template]    Agent Upgrade And Rollback Should Not Reach The Guests
    neutron-l3-agent
Rolling Upgrade And Rollback Of The DHCP Agents
    [Tags]    change:upgrade    service:neutron-dhcp-agent
    [Template]    Agent Upgrade And Rollback Should Not Reach The Guests
    neutron-dhcp-agent
Rolling Upgrade And Rollback Of The Linux Bridge Agents
    [Tags]    change:upgrade    service:neutron-linuxbridge-agent
    [Template]    Agent Upgrade And Rollback Should Not Reach The Guests
    neutron-linuxbridge-agent
Rolling Upgrade And Rollback Of Neutron Server
    [Documentation]    Drained node by node as every API service: neither the API nor the
    ...    guests may notice.
    [Tags]    change:upgrade    service:neutron-server
    [Template]    NONE
    Data Plane Guests Should Answer
    ${from}    ${to} =    The Upgrade Of    neutron-server
    Start Measuring Before The Roll-Out
    ${upgrade} =    Prepare Package Upgrade    @{to}
    Roll Out Change    neutron-server    ${upgrade}
    ${rollback} =    Prepare Package Downgrade    @{from}
    Roll Out Change    neutron-server    ${rollback}
    Stop Measuring Availability
    The Roll-Out Should Not Have Been Seen
    The Data Plane Should Have Stayed Within    ${LIMITS.data_plane}


*** Keywords ***
Agent Change Should Not Reach The Guests
    [Documentation]    The guests answer; ``change`` of ``agent`` node by node (`Roll Out
    ...    An Agent Change Node By Node`); then the data plane is judged: not one packet
    ...    lost (the scenario's ``data_plane`` limits).
    [Arguments]    ${agent}    ${change}    @{what}
    Data Plane Guests Should Answer
    Roll Out An Agent Change Node By Node    ${agent}    ${change}    @{what}
    The Data Plane Should Have Stayed Within    ${LIMITS.data_plane}

Agent Upgrade And Rollback Should Not Reach The Guests
    [Documentation]    The upgrade the target declares for ``agent``, node by node, then
    ...    its rollback node by node, each node's agent back before the next; then the
    ...    data plane is judged across both.
    [Arguments]    ${agent}
    Data Plane Guests Should Answer
    ${from}    ${to} =    The Upgrade Of    ${agent}
    Roll Out An Agent Change Node By Node    ${agent}    upgrade    @{to}
    Roll Out An Agent Change Node By Node    ${agent}    downgrade    @{from}
    The Data Plane Should Have Stayed Within    ${LIMITS.data_plane}

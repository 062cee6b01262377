*** Settings ***
Documentation     The tenants' data plane through the failures of what wires it.
...
...               The guests are booted once per run (the target's ``data_plane`` section:
...               two tenant networks, an HA router with its gateway on the external
...               network, a guest on each network, a floating IP on the first) and every
...               case probes their paths from before its fault until it is over:
...               ``north-south`` from the users' side to the first guest's floating IP,
...               ``east-west`` from the first guest to the second through the router (where
...               the guests are namespaces the probe can enter, as on the lab), ICMP and TCP
...               echo, 20 samples a second each. Each case judges the packets lost and the
...               longest outage of each path by its own limits (``data_plane.<case>`` in
...               the target's expectations).
...
...               - The L3 agent of the node where the router is active is killed:
...               keepalived outlives it and keeps forwarding.
...               - That node is powered off: the standby takes over (VRRP), Neutron shows
...               the router active there, and the outage is measured.
...               - Every DHCP agent is down: running guests keep their addresses and
...               their connectivity.
...
...               Not applicable to a target without a ``data_plane`` section (it declares
...               so): each case starts by checking that the guests answer, which skips it
...               before any fault.
Metadata          Requirement    Tenants' instances keep their connectivity when a network agent or a network node fails
Metadata          Scenario    Kill the L3 agent of the active router, power its node off, take every DHCP agent down

Resource          ../../resources/data_plane.resource

Suite Setup       Use The Expectations Of    data_plane
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

Test Tags         area:destructive


*** Test Cases ***
Guests Keep Their Connectivity When The L3 Agent Of Their Router Is Killed
    [Documentation]    SIGKILL of the L3 agent on the node where the router is active, for
    ...    ``hold``; keepalived and the router's namespace stay: nothing may be lost.
    [Tags]    fault:service    service:neutron-l3-agent
    The Data Plane Of This Case Is Judged By    ${LIMITS.l3_agent_killed}
    Data Plane Guests Should Answer
    ${node} =    Get Node Of Active Router
    Kill Service    ${LIMITS.l3_agent}    on=${node}
    Keep The Fault For    ${LIMITS.hold}
    Start Service    ${LIMITS.l3_agent}    on=${node}
    The Data Plane Should Have Stayed Within    ${LIMITS.l3_agent_killed}

Guests Fail Over When The Node Of Their Router Is Powered Off
    [Documentation]    Hard power off of the node where the router is active, for
    ...    ``off_for``: its standby must take over (Neutron shows it active within
    ...    ``failover_within``) and the outage stays below ``router_node_off.max_outage``;
    ...    the node's return (its router comes back as standby) must not cut it again.
    [Tags]    fault:power
    The Data Plane Of This Case Is Judged By    ${LIMITS.router_node_off}
    Data Plane Guests Should Answer
    ${node} =    Get Node Of Active Router
    Power Off Node    ${node}
    Wait Until Router Is Active On Another Node    ${node}    timeout=${LIMITS.failover_within}
    Keep The Fault For    ${LIMITS.off_for}
    Power On Node    ${node}
    Wait Until Node Accepts Connections    ${node}    ${ssh}[port]    timeout=${LIMITS.boot}
    The Data Plane Should Have Stayed Within    ${LIMITS.router_node_off}

Running Guests Keep Their Connectivity While Every DHCP Agent Is Down
    [Documentation]    SIGKILL of the DHCP agent on every node for ``hold``: the guests hold
    ...    their leases and dnsmasq outlives its agent; nothing may be lost.
    [Tags]    fault:service    service:neutron-dhcp-agent
    The Data Plane Of This Case Is Judged By    ${LIMITS.dhcp_agent_down}
    Data Plane Guests Should Answer
    Kill Service    ${LIMITS.dhcp_agent}    on=all
    Keep The Fault For    ${LIMITS.hold}
    Start Service    ${LIMITS.dhcp_agent}    on=all
    The Data Plane Should Have Stayed Within    ${LIMITS.dhcp_agent_down}

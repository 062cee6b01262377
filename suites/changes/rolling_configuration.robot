*** Settings ***
Documentation     A configuration change rolled out to each API service, node by node.
...
...               The option (oslo.middleware's largest request body, one byte more than
...               its default) takes effect when the service restarts; every node is
...               drained, changed, restarted and returned in turn. Clients must see
...               nothing. The original files come back when the case ends.
Metadata          Requirement    Configuration changes roll through without downtime
Metadata          Scenario    Change one option of each API service node by node

Resource          ../../resources/changes.resource

Suite Setup       Use The Expectations Of    rolling_changes
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case
Test Template     Rolling Configuration Change Should Not Be Seen

Test Tags         area:changes    change:configuration    fault:service


*** Test Cases ***    SERVICE    FILE
Rolling Configuration Change Of Keystone    [Tags]    service:keystone
    keystone    /etc/keystone/keystone.conf
Rolling Configuration Change Of Placement    [Tags]    service:placement
    placement    /etc/placement/placement.conf
Rolling Configuration Change Of Glance API    [Tags]    service:glance-api
    glance-api    /etc/glance/glance-api.conf
Rolling Configuration Change Of Nova API    [Tags]    service:nova-api
    nova-api    /etc/nova/nova.conf
Rolling Configuration Change Of Neutron Server
    [Tags]    service:neutron-server
    neutron-server    /etc/neutron/neutron.conf


*** Keywords ***
Rolling Configuration Change Should Not Be Seen
    [Documentation]    Sets the option in ``file`` on each node of ``service`` in turn.
    [Arguments]    ${service}    ${file}
    ${change} =    Prepare Config Change    ${file}    oslo_middleware
    ...    max_request_body_size=114689
    Roll Out While Measuring    ${service}    ${change}

*** Settings ***
Documentation     The message bus goes away for a while, under a steady stream of writes.
...
...               RabbitMQ (the target's ``rabbitmq_outage.service``) is killed on every
...               member of its cluster at once for ``down_for`` while the monitor probes
...               every API and creates networks, then every member is started again; the
...               services must reconnect by themselves. Servers
...               requested while it is down may be refused, but each one the cloud
...               accepted must become ACTIVE within ``active_within`` once the bus is back:
...               none may stay in BUILD or end in ERROR.
Metadata          Requirement    The cloud survives a message-bus outage without losing requests
Metadata          Scenario    Kill every RabbitMQ member for a set time

Resource          ../../resources/clusters.resource

Suite Setup       Use The Expectations Of    rabbitmq_outage
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

Test Tags         area:destructive    fault:messaging    service:rabbitmq


*** Variables ***
${REQUESTED}    during-rabbitmq-outage


*** Test Cases ***
RabbitMQ Down For A While Loses No Request
    [Documentation]    The APIs and their writes through a RabbitMQ outage.
    Start Measuring Availability With Writes
    Take Every Member Of ${LIMITS.service} Down
    Keep The Fault For    ${LIMITS.down_for}
    Bring Every Member Of ${LIMITS.service} Back
    Keep Measuring Until The Cloud Had Time To Recover
    Stop Measuring Availability
    The Outage Should Have Been Harmless

Servers Requested During A RabbitMQ Outage Become Active Once It Is Back
    [Documentation]    Every server request the cloud accepted while RabbitMQ was down ends
    ...    ACTIVE, once, after it is back.
    [Tags]    service:nova-api    service:nova-conductor    service:nova-scheduler
    ${flavor}    ${image} =    Choose A Flavor And An Image
    Start Measuring Availability
    Take Every Member Of ${LIMITS.service} Down
    Request Servers During The Outage    ${LIMITS.servers}    ${REQUESTED}    ${flavor}    ${image}
    Keep The Fault For    ${LIMITS.down_for}
    Bring Every Member Of ${LIMITS.service} Back
    Every Server Requested During The Outage Should Become Active Within
    ...    ${LIMITS.active_within}    ${REQUESTED}    ${LIMITS.servers}
    Stop Measuring Availability
    Cloud Should Recover Within    ${LIMITS.recovery}
    The Partial Outage Should Stay Within The Limits    after recovery
    [Teardown]    Finish A Destructive Case And Delete Its Servers    ${REQUESTED}

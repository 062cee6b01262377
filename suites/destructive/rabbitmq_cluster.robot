*** Settings ***
Documentation     The message bus is a RabbitMQ cluster: losing one member must cost nothing,
...               and a partition must heal.
...
...               One member of the target's messaging cluster (``rabbitmq_cluster.cluster``)
...               is killed while the availability monitor probes every API and creates
...               networks and servers are booted: the others carry the queues, so no
...               accepted request may be lost and no server left in BUILD or ERROR. Then a
...               member is cut off its peers on the cluster's ports: once the cut is
...               healed the cluster must not stay partitioned (whole within ``rejoin``),
...               and a server boot (RPC through the bus) must work after it.
Metadata          Requirement    The cloud survives the loss or the partition of one message-bus member
Metadata          Scenario    Kill one RabbitMQ member; partition one and heal it

Resource          ../../resources/clusters.resource

Suite Setup       Use The Expectations Of    rabbitmq_cluster
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case And Delete Its Servers    ${REQUESTED}

Test Tags         area:destructive    fault:messaging    service:rabbitmq    service:nova-conductor


*** Variables ***
${REQUESTED}    during-rabbitmq-member-loss


*** Test Cases ***
No Request Is Lost When A RabbitMQ Member Goes
    [Documentation]    ``member`` killed for ``down_for``, then started: it must rejoin.
    [Tags]    service:nova-scheduler
    ${flavor}    ${image} =    Choose A Flavor And An Image
    Start Measuring Availability With Writes
    Kill Cluster Member    ${LIMITS.cluster}    ${LIMITS.member}
    Request Servers During The Outage    ${LIMITS.servers}    ${REQUESTED}    ${flavor}    ${image}
    Keep The Fault For    ${LIMITS.down_for}
    Start Cluster Member    ${LIMITS.cluster}    ${LIMITS.member}
    The Cluster Should Be Whole Again
    Stop Measuring Once The Cloud Had Time To Recover
    The Outage Should Stay Within The Limits
    Every Server Requested During The Outage Should Become Active Within
    ...    ${LIMITS.active_within}    ${REQUESTED}    ${LIMITS.servers}

A RabbitMQ Partition Heals And Servers Boot After It
    [Documentation]    ``partitioned`` cut off its peers for ``down_for``: the cluster must
    ...    be whole within ``rejoin`` of the cut's end, and a server boot must work.
    [Tags]    fault:network
    ${flavor}    ${image} =    Choose A Flavor And An Image
    Start Measuring Availability With Writes
    Partition Cluster Member    ${LIMITS.cluster}    ${LIMITS.partitioned}    from the others
    Keep The Fault For    ${LIMITS.down_for}
    Heal Cluster Partition    ${LIMITS.cluster}    ${LIMITS.partitioned}
    The Cluster Should Be Whole Again
    Request Servers During The Outage    1    ${REQUESTED}    ${flavor}    ${image}
    Stop Measuring Once The Cloud Had Time To Recover
    The Outage Should Stay Within The Limits
    Every Server Requested During The Outage Should Become Active Within
    ...    ${LIMITS.active_within}    ${REQUESTED}    1

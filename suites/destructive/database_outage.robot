*** Settings ***
Documentation     The database goes away for a while, under a steady stream of writes.
...
...               MariaDB (the target's ``database_outage.service``) is killed on every
...               member of its cluster at once (a whole Galera cluster down, bootstrapped
...               again from the member with the highest seqno), or cut off the network on
...               every member, for ``down_for`` while the monitor probes every API and
...               creates networks, and servers are requested. Requests may fail while the
...               database is away, but quickly (none may take ``hang`` or longer), never
...               before the fault, and the cloud must serve again within ``recovery`` of
...               the database being back, by itself. No accepted request may be lost and
...               no resource may be left stuck or in error.
Metadata          Requirement    The cloud survives a database outage without losing requests
Metadata          Scenario    Kill every MariaDB member, or cut them all off the network, for a set time

Resource          ../../resources/clusters.resource
Resource          ../../resources/load.resource

Suite Setup       Use The Expectations Of    database_outage
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

Test Tags         area:destructive    fault:database    service:mariadb


*** Variables ***
${REQUESTED}    during-db-outage


*** Test Cases ***
MariaDB Down For A While Loses No Request
    [Documentation]    Every MariaDB member killed for ``down_for``, then the cluster
    ...    started again as its runbook says (bootstrap from the highest seqno).
    ${flavor}    ${image} =    Choose A Flavor And An Image
    Start Measuring Availability With Writes
    Take Every Member Of ${LIMITS.service} Down
    Request Servers During The Outage    ${LIMITS.servers}    ${REQUESTED}    ${flavor}    ${image}
    Keep The Fault For    ${LIMITS.down_for}
    Bring Every Member Of ${LIMITS.service} Back
    Keep Measuring Until The Cloud Had Time To Recover
    Stop Measuring Availability
    The Outage Should Have Been Harmless
    Every Server Requested During The Outage Should Become Active Within
    ...    ${LIMITS.active_within}    ${REQUESTED}    ${LIMITS.servers}
    [Teardown]    Finish A Destructive Case And Delete Its Servers    ${REQUESTED}

Requests Do Not Hang While The Database Is Cut Off
    [Documentation]    MariaDB's port dropped on every member (a network partition, not a crash):
    ...    a client must get an answer, even an error, within ``hang``, and the cloud must
    ...    come back by itself once the port is open again.
    [Tags]    fault:network
    Start Measuring Availability With Writes
    Start Token Requests In The Background
    Cut Every Member Of ${LIMITS.service} Off
    Keep The Fault For    ${LIMITS.down_for}
    Connect Every Member Of ${LIMITS.service} Again
    Keep Measuring Until The Cloud Had Time To Recover
    ${load} =    Stop Load
    Stop Measuring Availability
    Load Max Duration Should Be Below    ${LIMITS.hang}    result=${load}
    The Outage Should Have Been Harmless

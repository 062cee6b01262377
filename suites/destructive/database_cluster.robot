*** Settings ***
Documentation     The database is a Galera cluster: losing one member must cost nothing.
...
...               One member of the target's database cluster (``database_cluster.cluster``)
...               goes while the availability monitor probes every API and creates networks
...               and servers are booted: the writer the load balancer sends every client
...               to, a backup, or a member cut off its peers on the cluster's ports. The
...               cluster keeps its quorum, so no accepted request may be lost, no server
...               may be left in BUILD or ERROR, and no outage may last ``max_outage``.
...               Then quorum is lost for a while (two of three members frozen) and comes
...               back by itself, and the whole cluster is restarted from the member with
...               the highest seqno: errors are allowed only while it lasts, every committed
...               write must still be there, and the cluster must be whole within ``rejoin``.
Metadata          Requirement    The cloud survives the loss of one database cluster member without losing requests
Metadata          Scenario    Kill the writer or a backup, partition one, lose quorum, restart the whole cluster

Resource          ../../resources/clusters.resource

Suite Setup       Use The Expectations Of    database_cluster
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case And Delete Its Servers    ${REQUESTED}

Test Tags         area:destructive    fault:database    service:mariadb


*** Variables ***
${REQUESTED}    during-db-member-loss


*** Test Cases ***
No Request Is Lost When The Database Writer Goes
    [Documentation]    The member every client writes to is killed; the load balancer
    ...    must move the clients to a backup.
    One Database Member Goes For A While    ${LIMITS.writer}

No Request Is Lost When A Database Backup Goes
    [Documentation]    A member nobody writes to is killed: clients should not notice.
    One Database Member Goes For A While    ${LIMITS.backup}

No Request Is Lost When A Database Member Is Cut Off Its Peers
    [Documentation]    The member's cluster ports are dropped (iptables, both ways, only
    ...    between members): it leaves the Primary component and must rejoin once healed.
    [Tags]    fault:network
    ${flavor}    ${image} =    Choose A Flavor And An Image
    Start Measuring Availability With Writes
    Partition Cluster Member    ${LIMITS.cluster}    ${LIMITS.partitioned}    from the others
    Request Servers During The Outage    ${LIMITS.servers}    ${REQUESTED}    ${flavor}    ${image}
    Keep The Fault For    ${LIMITS.down_for}
    Heal Cluster Partition    ${LIMITS.cluster}    ${LIMITS.partitioned}
    The Cluster Should Be Whole Again
    Stop Measuring Once The Cloud Had Time To Recover
    The Outage Should Stay Within The Limits    during    member
    Every Server Requested During The Outage Should Become Active Within
    ...    ${LIMITS.active_within}    ${REQUESTED}    ${LIMITS.servers}

The Database Comes Back By Itself After Losing Quorum
    [Documentation]    Two of three members frozen: the one left is non-Primary and refuses
    ...    work. Once they resume, the members of the last Primary component form it
    ...    again by themselves; the quorum loss ends there, not at the resume.
    ${members} =    Copy List    ${clusters}[${LIMITS.cluster}][members]
    Remove Values From List    ${members}    ${LIMITS.writer}
    Start Measuring Availability With Writes
    Stop Cluster Members    ${LIMITS.cluster}    @{members}    how=freeze    allow_quorum_loss=${TRUE}
    Keep The Fault For    ${LIMITS.quorum_lost_for}
    Unfreeze Cluster Member    ${LIMITS.cluster}    @{members}
    The Quorum Should Be Back
    Stop Measuring Once The Cloud Had Time To Recover
    The Outage Should Have Been Harmless    quorum

The Database Comes Back After The Whole Cluster Restarts
    [Documentation]    Every member stopped cleanly, then the cluster bootstrapped from the
    ...    member safe to bootstrap (the last one stopped) and the others started: nothing
    ...    committed may be lost, and the time until it is whole is measured.
    Start Measuring Availability With Writes
    Stop Whole Cluster    ${LIMITS.cluster}
    Keep The Fault For    ${LIMITS.down_for}
    Start Whole Cluster    ${LIMITS.cluster}
    The Quorum Should Be Back
    Stop Measuring Once The Cloud Had Time To Recover
    The Outage Should Have Been Harmless    quorum


*** Keywords ***
One Database Member Goes For A While
    [Documentation]    ``member`` killed for ``down_for`` under the monitor's writes and
    ...    server boots, then started: it must rejoin, and the cloud must not have noticed
    ...    beyond ``max_outage``.
    [Arguments]    ${member}
    ${flavor}    ${image} =    Choose A Flavor And An Image
    Start Measuring Availability With Writes
    Kill Cluster Member    ${LIMITS.cluster}    ${member}
    Request Servers During The Outage    ${LIMITS.servers}    ${REQUESTED}    ${flavor}    ${image}
    Keep The Fault For    ${LIMITS.down_for}
    Start Cluster Member    ${LIMITS.cluster}    ${member}
    The Cluster Should Be Whole Again
    Stop Measuring Once The Cloud Had Time To Recover
    The Outage Should Stay Within The Limits    during    member
    Every Server Requested During The Outage Should Become Active Within
    ...    ${LIMITS.active_within}    ${REQUESTED}    ${LIMITS.servers}

*** Settings ***
Documentation     What the monitor sees when a service is upgraded, then rolled back, node by
...               node WITHOUT draining it from the load balancer first.
...
...               A demonstration, not a case of the main job (DECISIONS, "Rolling
...               changes"): the figures are logged and printed, not judged. It fails only
...               when it cannot demonstrate (the nodes not on the target's ``from``
...               versions, a step that fails, the cloud not healthy again afterwards).
...
...               For each node of the service, one at a time: `Upgrade Package` (which
...               restarts every service of the node that uses the packages), wait until the
...               service answers on that node and the load balancer sees it UP again, next
...               node; then the same back to the ``from`` versions. The only difference from
...               suites/changes/rolling_upgrade.robot is the missing drain and return.
...
...               On the lab, failed samples are *the expected finding*: HAProxy keeps
...               sending requests to a node whose service is restarting until its health
...               check (every 500 ms, fall 2) marks it down, and the requests in flight
...               when the service stops fail. The drained roll-out of the main job must show
...               none. The two Debian revisions prove the mechanics of a rolling upgrade,
...               not a release upgrade.
...
...               Run it on the lab brought up with ``extreme lab up --old-release``, under
...               the lab's lock (another service: ``-v SERVICE:nova-api``):
...
...               | eval "$(extreme lab env)"
...               | flock /tmp/xt-lab.lock robot --outputdir /tmp/no-drain bench/rolling_upgrade_without_drain.robot
...
...               Every change is undone by the teardown (`Finish A Change Case`: the
...               recorded versions installed again), which then waits until every backend
...               is UP and the cloud is healthy.
Metadata          Requirement    Shows why a rolling change drains each node first
Metadata          Scenario    Upgrade and roll back node by node without draining

Resource          ../resources/changes.resource

Suite Setup       Use The Expectations Of    rolling_changes
Suite Teardown    Close Every Node Connection
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case

Test Tags         area:changes    change:upgrade    fault:service    demonstration


*** Variables ***
${SERVICE}    keystone


*** Test Cases ***
Upgrade And Rollback Without Draining
    [Documentation]    Measures the upgrade and the rollback each on their own.
    ${from}    ${to} =    Get Upgrade Of    ${SERVICE}
    Every Node Of The Service Should Have Packages    @{from}
    Change Each Node Without Draining While Measuring    upgrade    Upgrade Package    @{to}
    Every Node Of The Service Should Have Packages    @{to}
    Change Each Node Without Draining While Measuring    rollback    Downgrade Package    @{from}
    Every Node Of The Service Should Have Packages    @{from}


*** Keywords ***
Every Node Of The Service Should Have Packages
    [Documentation]    Each node of ``${SERVICE}`` has these ``name=version`` packages.
    [Arguments]    @{packages}
    ${nodes} =    The Nodes That Run    ${SERVICE}
    FOR    ${node}    IN    @{nodes}
        Packages Should Be Installed    ${node}    @{packages}
    END

Change Each Node Without Draining While Measuring
    [Documentation]    Runs ``keyword`` (`Upgrade Package` or `Downgrade Package`) with
    ...    ``packages`` on each node of ``${SERVICE}`` in turn, its traffic never drained,
    ...    while the monitor measures; logs what the monitor saw.
    [Arguments]    ${what}    ${keyword}    @{packages}
    Start Measuring Availability With Writes
    Mark Timeline    ${what} of ${SERVICE} without draining    fault start
    ${nodes} =    The Nodes That Run    ${SERVICE}
    FOR    ${node}    IN    @{nodes}
        Run Keyword    ${keyword}    ${node}    @{packages}
        Wait Until Service Serves On Node    ${SERVICE}    ${node}
        Wait Until Node Is Up In Load Balancer    ${node}    ${SERVICE}
    END
    Mark Timeline    ${what} of ${SERVICE} done    fault end
    ${result} =    Stop Measuring Availability
    Log What The Monitor Saw    ${what}    ${result}

Log What The Monitor Saw
    [Documentation]    Failed samples, the longest outage and p95 latency before and during
    ...    the change, in the log and on the console: figures, not a verdict.
    [Arguments]    ${what}    ${result}
    VAR    ${overall} =    ${result}[overall]
    VAR    ${longest} =    ${overall}[longest_outage]
    IF    $longest
        VAR    ${outage} =    ${longest}[duration] s (± ${longest}[uncertainty] s)
    ELSE
        VAR    ${outage} =    none
    END
    ${failed by probe} =    Evaluate
    ...    {name: probe['failed'] for name, probe in $result['probes'].items() if probe['failed']}
    VAR    ${figures} =    SEPARATOR=\n
    ...    ${what} of ${SERVICE} without draining:
    ...    ${SPACE*2}failed samples: ${overall}[failed] of ${overall}[samples] ${failed by probe}
    ...    ${SPACE*2}outages: ${{len($overall['outages'])}}, longest ${outage}, total ${overall}[total_outage] s
    ...    ${SPACE*2}p95 before: ${overall}[latency][before][p95] s, during: ${overall}[latency][during][p95] s
    Log    ${figures}
    Log To Console    \n${figures}

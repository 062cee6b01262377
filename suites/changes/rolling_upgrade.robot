*** Settings ***
Documentation     A rolling upgrade of Keystone and of Nova's API, then its rollback:
...               zero failed samples, nothing lost, latency within the zero-impact factor,
...               and everything that was in the cloud before still there and usable.
...
...               The two package versions are those the target declares
...               (``changes.upgrades``). On the lab they are Debian's bookworm and
...               bookworm-security revisions of the same upstream release (Keystone
...               22.0.2 deb12u3 to deb12u6, Nova 26.2.2 deb12u4 to deb12u5): they prove
...               the mechanics of a rolling upgrade (drain, package change, restart,
...               serve, return, node by node, under the monitor), not a release upgrade
...               (no schema or RPC change between them). The lab must run the older
...               revision: ``extreme lab up --old-release``.
Metadata          Requirement    Upgrades roll through the controllers without downtime
Metadata          Scenario    Upgrade, then roll back, each node drained in turn

Resource          ../../resources/changes.resource

Suite Setup       Use The Expectations Of    rolling_changes
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case
Test Template     Rolling Upgrade And Rollback Should Not Be Seen

Test Tags         area:changes    change:upgrade    fault:service


*** Test Cases ***
Rolling Upgrade And Rollback Of Keystone
    [Tags]    service:keystone
    keystone
Rolling Upgrade And Rollback Of Nova API
    [Tags]    service:nova-api
    nova-api


*** Keywords ***
Rolling Upgrade And Rollback Should Not Be Seen
    [Documentation]    Upgrades ``service`` node by node, checks the survivors, rolls it
    ...    back node by node, then judges what the monitor saw across both.
    [Arguments]    ${service}
    ${from}    ${to} =    Get Upgrade Of    ${service}
    Every Node Of ${service} Should Have Packages    @{from}
    Create Survivors
    Start Measuring Before The Roll-Out
    Roll Out The Upgrade And Its Rollback    ${service}    ${from}    ${to}
    Stop Measuring Availability
    Every Node Of ${service} Should Have Packages    @{from}
    Survivors Should Be Intact
    The Roll-Out Should Not Have Been Seen

Roll Out The Upgrade And Its Rollback
    [Documentation]    Node by node to the ``to`` packages, the survivors checked, then
    ...    node by node back to the ``from`` packages.
    [Arguments]    ${service}    ${from}    ${to}
    ${upgrade} =    Prepare Package Upgrade    @{to}
    Roll Out Change    ${service}    ${upgrade}
    Every Node Of ${service} Should Have Packages    @{to}
    Run Keyword And Continue On Failure    Survivors Should Be Intact
    ${rollback} =    Prepare Package Downgrade    @{from}
    Roll Out Change    ${service}    ${rollback}

Every Node Of ${service} Should Have Packages
    [Documentation]    Each node of ``service`` has these ``name=version`` packages.
    [Arguments]    @{packages}
    ${nodes} =    The Nodes That Run    ${service}
    FOR    ${node}    IN    @{nodes}
        Packages Should Be Installed    ${node}    @{packages}
    END

*** Settings ***
Documentation    A degraded control plane must fail closed: nothing denied becomes allowed.
...
...              The deny half of the operator's matrix runs while Keystone is killed on one
...              controller, while memcached (Keystone's and the token middleware's cache)
...              is down, and while the database is slow (MariaDB paused with the Faults
...              library's freeze for a bounded time: this kernel has no netem for a
...              ``tc`` delay). Every fault is undone by the test's teardown. A denied cell may fail
...              with an error while the cloud is degraded (it failed closed, and the log
...              says so); an allowed answer is a failure.
Metadata         Requirement    Authorisation fails closed while the control plane is degraded
Metadata         Scenario    Deny half of the matrix during Keystone, memcached and database faults

Resource         ../../resources/destructive.resource
Library          ExtremeTesting.Policy    ${TARGET}

Suite Setup      Use The Expectations Of    default
Test Setup       Prepare A Destructive Case
Test Teardown    Finish A Destructive Case

Test Tags        area:policy    destructive


*** Variables ***
${DB PAUSE}    20 s


*** Test Cases ***
Nothing Denied Is Allowed While Keystone Is Down On One Controller
    [Documentation]    Keystone killed on the first controller that runs it.
    [Tags]    fault:service    service:keystone
    ${node} =    Evaluate    $services['keystone']['nodes'][0]
    Kill Service    keystone    on=${node}
    The Deny Half Should Stay Denied

Nothing Denied Is Allowed While Memcached Is Down
    [Documentation]    memcached killed on the node that runs it.
    [Tags]    fault:service    service:memcached
    Kill Service    memcached    on=${services}[memcached][nodes][0]
    The Deny Half Should Stay Denied

Nothing Denied Is Allowed While The Database Is Slow
    [Documentation]    MariaDB paused (SIGSTOP) for ``${DB PAUSE}``: every query waits.
    [Tags]    fault:database    service:mariadb
    Freeze Service    mariadb    on=${services}[mariadb][nodes][0]    duration=${DB PAUSE}
    The Deny Half Should Stay Denied


*** Keywords ***
The Deny Half Should Stay Denied
    [Documentation]    Runs the deny half; denial codes are not judged under a fault, and a
    ...    cell that errors failed closed: only an allowed answer fails the test.
    ${status}    ${message} =    Run Keyword And Ignore Error
    ...    Check Policy Matrix    expected=deny    check_codes=False
    IF    $status == 'PASS'    RETURN
    Log    Failed closed during the fault:\n${message}
    Should Not Contain    ${message}    got allow    Denied cells became allowed:\n${message}

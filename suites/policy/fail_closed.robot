*** Settings ***
Documentation     A degraded control plane must fail closed: nothing denied becomes allowed.
...
...               The deny half of the operator's matrix runs while Keystone is killed on one
...               controller, while memcached (Keystone's and the token middleware's cache)
...               is down, and while the database answers slowly (a delay on MariaDB's
...               replies inside the database node, always removed). A denied cell may fail
...               with an error while the cloud is degraded (it failed closed, and the log
...               says so); an allowed answer is a failure.
Metadata          Requirement    Authorisation fails closed while the control plane is degraded
Metadata          Scenario    Deny half of the matrix during Keystone, memcached and database faults

Resource          ../../resources/destructive.resource
Library           ExtremeTesting.Policy    ${TARGET}

Suite Setup       Use The Expectations Of    default
Suite Teardown    Run Keyword And Ignore Error    Remove The Database Delay
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case

Test Tags         area:policy    destructive


*** Variables ***
${DB DELAY}    300ms


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
    [Documentation]    Every reply of MariaDB delayed by ``${DB DELAY}``.
    [Tags]    fault:database    service:mariadb
    Delay The Database Replies By    ${DB DELAY}
    TRY
        The Deny Half Should Stay Denied
    FINALLY
        Remove The Database Delay
    END


*** Keywords ***
The Deny Half Should Stay Denied
    [Documentation]    Runs the deny half; denial codes are not judged under a fault, and a
    ...    cell that errors failed closed: only an allowed answer fails the test.
    ${status}    ${message} =    Run Keyword And Ignore Error
    ...    Check Policy Matrix    expected=deny    check_codes=False
    IF    $status == 'PASS'    RETURN
    Log    Failed closed during the fault:\n${message}
    Should Not Contain    ${message}    got allow    Denied cells became allowed:\n${message}

Delay The Database Replies By
    [Documentation]    Every reply MariaDB sends (source port 3306) waits ``delay`` on the
    ...    database node's interface (tc netem in the node's own namespace).
    [Arguments]    ${delay}
    VAR    ${node} =    ${services}[mariadb][nodes][0]
    ${device} =    Run On    ${node}    ip -o route get 198.18.0.11 | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'
    # The test's FINALLY and the suite teardown undo the delay: they need both.
    VAR    ${DB NODE} =    ${node}    scope=SUITE    # robocop: off=VAR05
    VAR    ${DB DEVICE} =    ${device}    scope=SUITE    # robocop: off=VAR05
    Run On    ${node}    tc qdisc add dev ${device} root handle 1: prio
    Run On    ${node}    tc qdisc add dev ${device} parent 1:3 handle 30: netem delay ${delay}
    Run On    ${node}
    ...    tc filter add dev ${device} protocol ip parent 1:0 prio 3 u32 match ip sport 3306 0xffff flowid 1:3

Remove The Database Delay
    [Documentation]    Undoes `Delay The Database Replies By` (nothing to do if it was not set).
    ${node} =    Get Variable Value    ${DB NODE}    ${NONE}
    IF    $node is None    RETURN
    Run On    ${node}    tc qdisc del dev ${DB DEVICE} root
    VAR    ${DB NODE} =    ${NONE}    scope=SUITE    # robocop: off=VAR05

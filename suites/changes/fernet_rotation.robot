*** Settings ***
Documentation     Fernet key rotation under a token workload: zero failed validations.
...
...               Clients hold Keystone tokens and keep validating them through the load
...               balancer, so a token issued by one Keystone node is validated by the
...               other; each client logs in again now and then for a fresh token. While
...               they do, the Fernet keys rotate the operators' way, more than once: the
...               staged key goes to every node first, then one node rotates (the staged
...               key becomes primary) and its keys go to the others. Not one validation
...               or login may fail.
...
...               How hard, and for how long, comes from the target's
...               ``expectations.rolling_changes.fernet_rotation``: ``rate``, ``workers``,
...               ``login_every``, ``rotations``, ``between`` (the workload runs that long
...               before, between and after the rotations), ``longest`` and
...               ``failed_validations`` (0). Keystone keeps ``max_active_keys`` keys (3 by
...               default): a token outlives one rotation but not two, so the clients log in
...               again well within ``between``, as an operator's rotation period must
...               exceed the tokens' lifetime.
...
...               A Keystone that caches token validations (the lab: memcache shared by
...               both nodes, a token cached when issued) answers from the cache, and a
...               missing or dropped key goes unseen: with ``uncached: true`` the case first
...               turns the token cache off node by node (drained; put back when it ends),
...               so that every validation decrypts the token with the node's own keys.
Metadata          Requirement    Keystone's keys rotate without invalidating a token in use
Metadata          Scenario    Rotate the Fernet keys several times under a token workload

Resource          ../../resources/changes.resource
Resource          ../../resources/load.resource

Suite Setup       Use The Expectations Of    rolling_changes
Suite Teardown    Finish A Destructive Suite
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Change Case

Test Tags         area:changes    change:keys    fault:service    service:keystone


*** Test Cases ***
Rotating The Fernet Keys Fails No Token Validation
    [Documentation]    Tokens issued before a rotation are validated after it, on either node.
    IF    ${LIMITS.fernet_rotation.uncached}
        Keystone Validates Every Token Itself
    END
    Start Validating Tokens Through The Load Balancer
    Rotate The Fernet Keys While Tokens Are Validated
    ${load} =    Stop Load
    No Token Validation Should Have Failed    ${load}


*** Keywords ***
Keystone Validates Every Token Itself
    [Documentation]    Keystone's token cache off on each node in turn (drained, restarted,
    ...    returned); the original file comes back when the case ends.
    ...    No token validation cached: none stored when a token is validated
    ...    (``caching``) nor when it is issued (``cache_on_issue``, which ``caching``
    ...    alone leaves on).
    ${uncached} =    Prepare Config Change    /etc/keystone/keystone.conf    token
    ...    caching=false    cache_on_issue=false
    Roll Out Change    keystone    ${uncached}

Start Validating Tokens Through The Load Balancer
    [Documentation]    The token workload at the target's rate, in the background; it runs
    ...    ``between`` before the first rotation so that tokens in use predate it.
    VAR    ${plan} =    ${LIMITS.fernet_rotation}
    Start Constant Rate Load    issue token    rate=${plan.rate}    duration=${plan.longest}
    ...    workers=${plan.workers}    login_every=${plan.login_every}
    Let The Load Run For    ${plan.between}

Rotate The Fernet Keys While Tokens Are Validated
    [Documentation]    ``rotations`` rotations on every Keystone node, each followed by
    ...    ``between`` of validations. Each must promote a newer primary key.
    VAR    ${plan} =    ${LIMITS.fernet_rotation}
    VAR    ${previous} =    ${0}
    FOR    ${rotation}    IN RANGE    1    ${plan.rotations} + 1
        ${primary} =    Rotate Fernet Keys
        Should Be True    int($primary) > int($previous)
        ...    Rotation ${rotation} made key ${primary} primary, not newer than key ${previous}.
        Log    Rotation ${rotation} of ${plan.rotations}: key ${primary} is primary.
        VAR    ${previous} =    ${primary}
        Let The Load Run For    ${plan.between}
    END

No Token Validation Should Have Failed
    [Documentation]    At most ``failed_validations`` (0) iterations of ``load`` failed, be it
    ...    a validation or a login (its expectation record counts them).
    [Arguments]    ${load}
    Log    ${load}
    Load Failed Iterations Should Be At Most    ${LIMITS.fernet_rotation.failed_validations}
    ...    result=${load}

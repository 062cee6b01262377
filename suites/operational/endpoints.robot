*** Settings ***
Documentation    Every API endpoint of the target answers with its version document.
...
...              Raw HTTP (no token: version documents are public) to each endpoint of
...              the target's ``endpoints`` section, through the load balancer and on each
...              node behind it; the catalog's endpoints answer too.
Metadata         Requirement    Every API is reachable and says which versions it serves
Metadata         Scenario    Endpoint and version checks, nothing broken

Library          RequestsLibrary
Resource         ../../resources/common.resource
Resource         ../../resources/nodes.resource

Suite Setup      Use The Expectations Of    default
Test Setup       Mark Known Findings Of This Test
Test Template    The Version Document Should Name A Current Version

Test Tags        area:operational    fault:none


*** Test Cases ***
Identity Serves Its Version Document
    [Tags]    service:keystone
    identity    keystone
Compute Serves Its Version Document
    [Tags]    service:nova-api
    compute    nova-api
Image Serves Its Version Document
    [Tags]    service:glance-api
    image    glance-api
Placement Serves Its Version Document
    [Tags]    service:placement
    placement    placement
Network Serves Its Version Document
    [Tags]    service:neutron-server
    network    neutron-server
Every Catalog Endpoint Answers
    [Documentation]    What the catalog lists, not only what the target file says.
    [Template]    NONE
    All Endpoints Should Answer
Compute Offers The Microversions The Suites Use
    [Documentation]    Servers without a network (``networks: none``) need 2.37 or later.
    [Tags]    service:nova-api
    [Template]    NONE
    ${document} =    The Version Document Of    ${endpoints}[compute]
    ${version} =    Evaluate    $document.get('version') or $document.get('versions', [{}])[0]
    Should Be True    tuple(int(p) for p in '${version}[version]'.split('.')) >= (2, 37)
    ...    Compute's highest microversion is ${version}[version]; the suites need 2.37 or later.


*** Keywords ***
The Version Document Of
    [Documentation]    GETs ``url`` (no token); fails on a status of 400 or more; returns
    ...    the JSON document.
    [Arguments]    ${url}
    ${answer} =    GET    ${url}    expected_status=any    timeout=10
    Should Be True    ${answer.status_code} < 400    ${url} answered ${answer.status_code}
    RETURN    ${answer.json()}

The Version Document Should Name A Current Version
    [Documentation]    Through the load balancer and on every node that serves ``service``:
    ...    the document lists a version whose status is CURRENT or SUPPORTED (or STABLE).
    [Arguments]    ${api}    ${service}
    Dictionary Should Contain Key    ${endpoints}    ${api}    The target has no ${api} endpoint.
    Version Document Should Name A Current Version    ${endpoints}[${api}]
    FOR    ${node}    IN    @{services}[${service}][nodes]
        VAR    ${port} =    ${services}[${service}][port]
        Version Document Should Name A Current Version    http://${nodes}[${node}][address]:${port}/
    END

Version Document Should Name A Current Version
    [Documentation]    One version document, read and judged. Keystone nests its list in
    ...    ``versions.values``; a versioned endpoint answers with one ``version``.
    [Arguments]    ${url}
    ${document} =    The Version Document Of    ${url}
    ${versions} =    Evaluate    $document.get('versions') or [$document.get('version') or {}]
    IF    isinstance($versions, dict)
        ${versions} =    Evaluate    $versions.get('values') or []
    END
    ${statuses} =    Evaluate    [str(v.get('status', '')).upper() for v in $versions]
    Log    ${url}: ${statuses}
    ${current} =    Evaluate    [s for s in $statuses if s in ('CURRENT', 'SUPPORTED', 'STABLE')]
    Should Not Be Empty    ${current}    ${url} names no current version: ${document}

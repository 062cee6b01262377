*** Settings ***
Documentation     A failed destructive case carries the services' log lines behind its failed
...               requests (the Evidence library, run by `Finish A Destructive Case`).
...
...               Nova's API is frozen on ctl1 while the monitor reads servers through the
...               VIP: the requests HAProxy sent to ctl1 before it marked it down time out.
...               The case then fails on purpose (the planted failure); its teardown
...               unfreezes, waits for the steady state and collects the evidence: the lines
...               of nova-api on ctl1 that name the failed requests' ids (the frozen service
...               logs the requests it held once it runs again).
...               Run by tests/lab/test_evidence_lab.py (lab up, a target with ``logs``).

Resource          ../../../resources/destructive.resource

Suite Setup       Use The Expectations Of    service_restart
Suite Teardown    Close Every Node Connection
Test Setup        Prepare A Destructive Case
Test Teardown     Finish A Destructive Case


*** Test Cases ***
A Frozen Nova API On One Node Leads To That Node's Lines
    [Documentation]    The planted failure: its evidence names nova-api on ctl1.
    [Tags]    area:destructive    fault:freeze    service:nova-api
    # Authenticated reads only (nova logs an unauthenticated version request with a
    # stale context): at 20/s some reach ctl1 before HAProxy marks it down.
    Start Availability Monitor    probes=read-servers    rate=20    timeout=1 s    baseline=2 s
    Freeze Service    nova-api    on=ctl1
    Keep The Fault For    6 s
    Unfreeze Service    nova-api    on=ctl1
    Keep The Fault For    2 s
    Stop Availability Monitor
    Fail    Planted: nova-api was frozen on ctl1 for 6 s.

*** Settings ***
Documentation    Acceptance of ExtremeTesting.Load against the running lab.
...
...              A constant-rate token workload meets its SLA on a healthy lab, and fails
...              it with the measured figure when the SLA is set below what the lab can
...              do; boot-and-delete at concurrency 5 leaves nothing behind; the Locust
...              engine runs the same workload as its own process.
...
...              Run (lab up, its environment exported with ``eval "$(extreme lab env)"``):
...              robot --outputdir results/load tests/lab/robot/load.robot

Library          ExtremeTesting.Load    ${TARGET}    request_timeout=20 s

Test Tags        concurrent    load


*** Variables ***
${TARGET}        %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}
# Token validation is cheap; the password logins (every 50th iteration of a worker) are
# not (bcrypt): 5/s keeps a 2-core lab healthy.
${TOKEN_RATE}    5


*** Test Cases ***
Constant-Rate Token Workload Meets Its SLA On A Healthy Lab
    [Documentation]    Issue and validate tokens at a constant rate; every limit holds.
    [Tags]    workload:token
    ${load} =    Run Constant Rate Load    issue token    rate=${TOKEN_RATE}    duration=30 s
    ...    ramp_up=5 s    workers=8
    # 5/s for 30 s with a 5 s ramp is ~137 requests; achieved = requested in
    # bench/load_rate.py (a few % short under load): the limits keep 3x that shortfall.
    Should Be True    ${load.summary.requests} >= 100
    Load Error Rate Should Be Below    1%
    Load Percentile Should Be Below    p95    1 s
    Load Percentile Should Be Below    p99    2 s
    Load Max Duration Should Be Below    10 s
    Load Achieved Rate Should Be At Least    75%
    Load Throughput Should Be At Least    3

Token Workload Fails An SLA Set Below What The Lab Can Do, With The Figure
    [Documentation]    The same workload against limits no cloud meets: each assertion
    ...    fails and its message carries the measured figure.
    [Tags]    workload:token
    Run Constant Rate Load    issue token    rate=${TOKEN_RATE}    duration=10 s
    Run Keyword And Expect Error    GLOB:*p50 duration was * ms, expected below 1 ms*
    ...    Load Percentile Should Be Below    p50    1 ms
    Run Keyword And Expect Error    GLOB:*throughput was *.*/s, expected at least 10000/s*
    ...    Load Throughput Should Be At Least    10000
    Run Keyword And Expect Error    GLOB:*longest iteration took * ms, expected below 1 ms*
    ...    Load Max Duration Should Be Below    1 ms

Boot And Delete At Concurrency 5 Cleans Up Everything
    [Documentation]    Five workers boot (fake driver, no network) and delete servers; at
    ...    the end no server, port or anything else named by the load is left.
    [Tags]    workload:server    service:nova-api
    ${load} =    Run Constant Concurrency Load    boot and delete server    5
    ...    iterations=10    duration=5 min    wait=120
    Should Be Equal As Integers    ${load.summary.requests}    10
    Should Be Equal As Integers    ${load.summary.max_in_flight}    5
    Load Error Rate Should Be Below    10%
    Should Be True    ${load.cleanup.clean}    ${load.cleanup.describe()}
    ${left} =    Get Leftover Load Resources
    Should Be Empty    ${left}

Token Workload Runs In Locust As Its Own Process
    [Documentation]    The Locust engine: same workload, samples back in the same format.
    [Tags]    workload:token    engine:locust
    ${load} =    Run Constant Rate Load    issue token    rate=${TOKEN_RATE}    duration=15 s
    ...    workers=4    engine=locust
    Should Be Equal    ${load.summary.engine}    locust
    # Locust reached 94 % of its rate in bench/load_rate.py and needs 2-5 s to start:
    # 3x that shortfall is 18 %, plus the start-up in a 15 s run.
    Should Be True    ${load.summary.requests} >= 45
    Load Error Rate Should Be Below    1%
    Load Achieved Rate Should Be At Least    60%

*** Settings ***
Documentation       Token load (fixture).
Metadata            Requirement    REQ-PERF-1
Library             ../../FixtureFigures.py
Suite Teardown      Publish Monitor Figures    outage=0.3


*** Test Cases ***
Tokens Under Constant Rate
    [Tags]    workload:tokens    sla:p95 < 200 ms
    Publish Load Figures    requests=2000    failures=3
    Publish Custom Figures

Load During Keystone Restart
    [Tags]    area:destructive    fault:service-restart
    Publish Load Figures    requests=500    failures=0

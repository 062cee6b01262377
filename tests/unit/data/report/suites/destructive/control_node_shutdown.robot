*** Settings ***
Documentation       Control node shutdown (fixture for the report's unit tests).
Metadata            Requirement    REQ-HA-1, REQ-HA-2
Library             ../../FixtureFigures.py
Suite Setup         Publish Environment


*** Variables ***
${FIXED}    ${False}


*** Test Cases ***
Controller Power Off Keeps APIs Serving
    [Documentation]    The APIs keep serving within 5 s while ctl1 is off.
    [Tags]    fault:power    service:keystone    expect:outage < 5 s
    Publish Monitor Figures    outage=1.25
    Publish Expectation    outage    5.0    1.25

RabbitMQ Outage Loses No Request
    [Documentation]    No request is lost while RabbitMQ is down.
    [Tags]    fault:service-kill    known:LAB-RABBIT-1
    Publish Monitor Figures    outage=8.5    lost=1    stuck=1
    Fail    1 request lost: server srv-7 stayed in BUILD after RabbitMQ was back (outage 8.50 s from +12.40 s).

Database Partition Does Not Hang
    [Documentation]    Requests do not hang while the database is cut off.
    [Tags]    fault:network
    Publish Monitor Figures    outage=13.7
    Fail    A token request hung 13.70 s during the database partition (limit 5 s).

Switch Restart Recovers
    [Documentation]    Services recover by themselves after a switch restart.
    [Tags]    fault:switch    req:REQ-NET-3
    Publish Fault Event
    Run Keyword If    not ${FIXED}    Nested Publish And Fail

Keystone Restart Measured By The Monitor
    [Documentation]    Restarting Keystone on ctl1 costs at most 5 s of outage.
    [Tags]    fault:service-restart    service:keystone
    Publish Analysed Monitor Figures    outage_from=10.0    outage_to=13.0
    Publish Load Figures With Png File    ${OUTPUT_DIR}

Power Off Then On Again
    [Tags]    fault:power    known:LAB-POWER-2
    Publish Monitor Figures    outage=0.5


*** Keywords ***
Nested Publish And Fail
    Log Timeline Image
    Fail    Keystone answered 503 for 4.20 s after the switch came back (limit 2 s).

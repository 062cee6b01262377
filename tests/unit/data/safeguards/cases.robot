*** Settings ***
Documentation       The scenario ${SCENARIO}: emergency, degraded, preflight or hold.
Library             SafeguardsFixture.FakeMonitor    AS    ExtremeTesting.Monitor
Library             SafeguardsFixture    ${FOLDER}
Library             ExtremeTesting.Safeguards    ${FOLDER}/target.yaml
Suite Setup         Prepare The Scenario
Test Setup          The Safeguards Should Allow This Case
Test Teardown       Finish The Case


*** Variables ***
${SCENARIO}     emergency


*** Test Cases ***
A Refused Setup Checked In A Test Body Gates Nothing
    [Setup]    NONE
    [Teardown]    NONE
    IF    '${SCENARIO}' == 'preflight'
        Run Keyword And Expect Error    degraded: *    Prepare Like A Destructive Case
    END

First Destructive Case
    Break Gadget    first
    IF    '${SCENARIO}' == 'emergency'    Start Failing
    IF    '${SCENARIO}' == 'degraded'    Make The Cloud Sick
    IF    '${SCENARIO}' in ('emergency', 'hold')    Sleep    60 s

Second Destructive Case
    Break Gadget    second

A Case That Breaks Nothing
    [Setup]    NONE
    [Teardown]    NONE
    Log    runs whatever happened before


*** Keywords ***
Prepare Like A Destructive Case
    The Safeguards Should Allow This Case
    Cloud Should Be Healthy

Finish The Case
    Restore All Gadgets
    The Cloud Should Be Left Healthy Within    1 s

Prepare The Scenario
    IF    '${SCENARIO}' == 'preflight'    Make The Cloud Sick

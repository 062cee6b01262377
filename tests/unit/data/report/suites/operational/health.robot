*** Settings ***
Documentation       Steady-state health (fixture).
Library             ../../FixtureFigures.py


*** Test Cases ***
Every Endpoint Answers
    [Tags]    req:REQ-OPS-1
    Log    all good

Optional Service Answers
    Skip    Object storage is not deployed on this target.

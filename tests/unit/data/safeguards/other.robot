*** Settings ***
Documentation       A suite beside cases.robot under pabot: it breaks nothing.


*** Test Cases ***
Something Else Runs Meanwhile
    Sleep    60 s

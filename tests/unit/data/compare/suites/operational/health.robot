*** Settings ***
Documentation       Fixture: the cloud's API versions, recorded in the suite setup.
Library             ../../TrendFigures.py
Suite Setup         Record Versions    ${COMPUTE_MAX}    ${WITH_VOLUME}


*** Variables ***
${COMPUTE_MAX}      2.95
${WITH_VOLUME}      True
${EXTRA}            False


*** Test Cases ***
Endpoints Answer
    No Operation

Extra Case
    Skip If    not ${EXTRA}    only in some runs
    No Operation

*** Settings ***
Documentation       Fixture: a workload's SLA figures.
Library             ../../TrendFigures.py


*** Variables ***
${TOKEN_P95}        0.3


*** Test Cases ***
Issue Token
    Measure A Workload    issue token    ${TOKEN_P95}    0.002

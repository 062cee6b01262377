*** Settings ***
Documentation    Who may do what: the operator's policy matrix, on the operator's own cloud.
...
...              Every cell of the matrix file (the target's ``policy_matrix``) is run: the
...              operation is prepared as admin, performed as the persona, cleaned up. The
...              test fails once, listing every mismatch with its status code and request
...              id, and every denial with another code than the API's (403, or 404 where
...              the API hides another project's resources). The deployed policy, read on
...              each API node with oslo.policy's tools, must say the same as the matrix.
...              The suite's table below adds cells; where it names a cell of the file, it
...              wins (the log lists those cells).
Metadata         Requirement    Each role can do exactly what the operator's matrix says
Metadata         Scenario    Run every persona x operation cell against the cloud

Variables        ../../variables/lab.py
Library          ExtremeTesting.Policy    ${TARGET}

Suite Setup      Add This Suite's Cells To The Matrix

Test Tags        area:policy    fault:none


*** Test Cases ***
The Cloud Follows The Policy Matrix
    [Documentation]    Every cell of the matrix, run on the cloud.
    Check Policy Matrix

The Deployed Policy Says What The Matrix Says
    [Documentation]    The effective policy on every node that serves an API agrees with
    ...    the matrix (a drift on one node is named with the node).
    Deployed Policy Should Match Matrix


*** Keywords ***
Add This Suite's Cells To The Matrix
    [Documentation]    Cells this suite adds to the operator's matrix (they win over the
    ...    file's where both name a cell): set up once, checked by the cases.
    Expect Policy    reader    network:create_network    deny
    Expect Policy    member    compute:os-hypervisors:list    deny

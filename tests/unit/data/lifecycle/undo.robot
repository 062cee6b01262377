*** Settings ***
Documentation       An undo that raises fails its test; the others are still undone.
Library             UndoFixture.py    ${FOLDER}
Suite Setup         Break Gadget    ${SUITE_GADGET}
Suite Teardown      No Operation


*** Test Cases ***
Two Faults One Cannot Be Undone
    Break Gadget    first
    Break Gadget    stubborn

One Fault Undone
    Break Gadget    second

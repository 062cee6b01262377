*** Settings ***
Documentation       Fixture: restarts measured by a monitor, with an expectation record.
Library             ../../TrendFigures.py
Test Setup          Should Not Be True    ${SETUP_FAILS}    the cloud was not healthy


*** Variables ***
${KEYSTONE_OUTAGE}      1.0
${NOVA_OUTAGE}          1.5
${NOVA_LIMIT}           3
${SETUP_FAILS}          ${FALSE}
${SCHEMA_MISMATCH}      ${EMPTY}
${SCHEMAS_CHECKED}      ${TRUE}


*** Test Cases ***
Keystone Restart On One Node
    Measure A Restart    keystone    ${KEYSTONE_OUTAGE}    limit=5    schemas_checked=${SCHEMAS_CHECKED}

Nova API Restart On All Nodes
    Measure A Restart    nova-api    ${NOVA_OUTAGE}    limit=${NOVA_LIMIT}
    ...    schema_mismatch=${SCHEMA_MISMATCH}    schemas_checked=${SCHEMAS_CHECKED}

*** Settings ***
Documentation     The acceptance run: every suite below, with pabot (``./run acceptance``) or
...               with ``robot suites``.
...
...               The tenants' data-plane guests are the run's: the first case that needs
...               them boots them (`Prepare A Destructive Case`, after its steady-state
...               check, under the destructive lock), every later suite takes them over
...               (under pabot from PabotLib's parallel values: each suite runs in its own
...               process), and they are deleted once, at the very end of the run, under the
...               destructive lock. Nothing is booted here: a run of suites that need no
...               guests asks nothing of the cloud. A suite file run on its own (``robot
...               suites/destructive/data_plane.robot``) does not pass through this file: it
...               boots its own guests and deletes them when it ends.

Variables         ../variables/lab.py
# The same import arguments as common.resource: one library instance for the whole process.
Library           ExtremeTesting.Cloud    ${TARGET}    api_timeout=20 s
Library           pabot.PabotLib

Suite Setup       Keep Data Plane Guests For The Run
Suite Teardown    Run Teardown Only Once    Delete The Data Plane Guests Of The Run


*** Keywords ***
Delete The Data Plane Guests Of The Run
    [Documentation]    The run's last step (through PabotLib's `Run Teardown Only Once`,
    ...    which waits for every other pabot item; alone, robot runs it at the end): the
    ...    run's data-plane guests deleted under the destructive lock (what resists is
    ...    named in a warning, with how to delete it). pabot 5.2 also runs
    ...    `Run Teardown Only Once` in the item just before a final ``{ }`` group of the
    ...    ordering file (its ``${PABOTLASTLEVEL}`` is ``Suites``, the last item's is
    ...    empty): only the run's last item deletes them.
    ${last level} =    Get Variable Value    ${PABOTLASTLEVEL}    ${NONE}
    IF    $last_level
        Log    Not the run's last pabot item (${last level}): the last one deletes the guests.
        RETURN
    END
    ${uri} =    Get Variable Value    ${PABOTLIBURI}    ${EMPTY}
    IF    $uri    Acquire Lock    ${DESTRUCTIVE LOCK}
    TRY
        # A warning, not a failure: the cases' verdicts are in already, and a failed suite
        # teardown here would mark every case of this item (robot alone: of the run) FAIL.
        Run Keyword And Warn On Failure    Delete Data Plane Guests Of The Run
    FINALLY
        IF    $uri    Release Lock    ${DESTRUCTIVE LOCK}
    END

*** Settings ***
Documentation     Half of the pabot lock proof: a destructive case that holds the lock
...               through a fault and records when it asked, injected and finished.
...
...               Run together with its twin, then check (lab up, its environment exported):
...               | export EXTREME_PABOT_WINDOWS=results/pabot/windows.jsonl
...               | rm -f $EXTREME_PABOT_WINDOWS
...               | pabot --pabotlib --processes 2 --outputdir results/pabot tests/lab/robot/pabot
...               | python -m ExtremeTesting.load.pabot check $EXTREME_PABOT_WINDOWS
...               The Faults library takes the lock destructive:<target> at the first
...               fault of a test and releases it once the test's faults are undone; this
...               suite does not take it itself.

Library           ExtremeTesting.Faults    ${TARGET}
Library           ExtremeTesting.load.pabot.Window

Suite Teardown    Record Fault Events

Test Tags         destructive    fault:service    service:keystone    pabot:lock


*** Variables ***
${TARGET}    %{EXTREME_TARGET=/var/lib/extreme-lab/target.yaml}
${HOLD}      4 s


*** Test Cases ***
Freeze Keystone On Ctl2 While Holding The Destructive Lock
    [Documentation]    The fault keyword waits for the lock while the twin suite holds it.
    Record Window Mark    waiting
    Freeze Service    keystone    on=ctl2    duration=${HOLD}
    Record Window Mark    in effect
    # Holding the fault (and the lock) for a known stretch is what this case is for.
    Sleep    ${HOLD}    reason=keep the fault, and so the lock, for a known time
    Record Window Mark    done

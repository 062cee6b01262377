*** Settings ***
Documentation    Requests our client gave up on (a 1 ms timeout) were still served: the
...              evidence names the node and service whose lines carry their ids. Read-only
...              (GET /servers). Run by tests/lab/test_evidence_lab.py.

Library          ExtremeTesting.Monitor    %{EXTREME_TARGET}
Library          ExtremeTesting.Evidence    %{EXTREME_TARGET}


*** Test Cases ***
Requests That Time Out Lead To The Lines Of The Services That Served Them
    [Documentation]    Every failed request is found in nova-api's lines on ctl1 or ctl2.
    Start Availability Monitor    probes=read-servers    rate=5    timeout=0.001 s    baseline=0 s
    Sleep    3 s    reason=the monitor sends its requests
    Stop Availability Monitor
    Sleep    2 s    reason=nova-api writes its request log after answering
    Collect Evidence Of Failed Requests    when=always

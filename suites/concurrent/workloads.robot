*** Settings ***
Documentation    Many clients at once on a healthy cloud: each workload meets its SLA.
...
...              One row per workload of the Load library; how each runs and the limits it
...              is judged by (failure rate, latency percentiles, longest iteration,
...              achieved rate, throughput) come from the target's
...              ``expectations.workloads``. Adding a workload is one line here and one
...              entry in the target file.
Metadata         Requirement    The cloud serves concurrent clients within its SLAs
Metadata         Scenario    Constant-rate and constant-concurrency workloads, no fault

Resource         ../../resources/load.resource

Test Setup       Mark Known Findings Of This Test
Test Template    Workload Should Meet Its SLA

Test Tags        area:concurrent    fault:none


*** Test Cases ***
Tokens At A Constant Rate Meet Their SLA
    [Tags]    service:keystone
    issue token
Listing Resources Concurrently Meets Its SLA
    [Tags]    service:nova-api    service:glance-api    service:neutron-server
    list resources
Showing Resources Concurrently Meets Its SLA
    [Tags]    service:keystone    service:glance-api    service:neutron-server
    show resource
Networks Created And Deleted Concurrently Meet Their SLA
    [Tags]    service:neutron-server
    create and delete network
Servers Booted And Deleted Concurrently Meet Their SLA
    [Tags]    service:nova-api    service:nova-conductor    service:nova-scheduler    service:nova-compute
    boot and delete server
Images Uploaded And Deleted Concurrently Meet Their SLA
    [Tags]    service:glance-api
    upload and delete image

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# Test fakes: they live beside the code they stand in for (the unit tests and benches import
# them from the checkout) but are no runtime code: the wheel leaves them out.
TEST_FAKES = {("ExtremeTesting.monitor", "fakecloud")}


class BuildWithoutTestFakes(build_py):
    def find_package_modules(self, package, package_dir):
        return [m for m in super().find_package_modules(package, package_dir)
                if (m[0], m[1]) not in TEST_FAKES]


setup(
    name="openstack-extreme-testing",
    version="0.1.0",
    description="Robot Framework keywords and suites that prove an OpenStack cloud "
    "survives destruction and concurrency",
    long_description=open("README.rst", encoding="utf-8").read(),
    # The top-level resources/ and variables/ stay where QA edits them; the package
    # carries them as ExtremeTesting/resources and ExtremeTesting/variables (see
    # ExtremeTesting.datafiles), so `Resource  ExtremeTesting/resources/common.resource`
    # works from an installed package and common.resource's `../variables/lab.py` too.
    package_dir={"": "libraries", "ExtremeTesting.resources": "resources",
                 "ExtremeTesting.variables": "variables"},
    packages=find_packages("libraries") + ["ExtremeTesting.resources",
                                           "ExtremeTesting.variables"],
    include_package_data=True,
    package_data={"": ["*.j2", "*.css", "*.resource", "*.cfg"],
                  "ExtremeTesting.report": ["templates/*"],
                  "ExtremeTesting.resources": ["*.resource"],
                  "ExtremeTesting.variables": ["*.yaml", "*.py"]},
    python_requires=">=3.11",
    install_requires=[
        "robotframework>=7.4",
        "robotframework-pabot",
        "robotframework-sshlibrary",
        "robotframework-requests",
        "robotframework-pythonlibcore",
        "os-faults==0.3.0",
        # ansible-core, not the whole `ansible` distribution (its collections are 470 MB):
        # every module os-faults runs for us is ansible.builtin or its own, and the runner
        # reads its results with a stdout callback of ours (ExtremeTesting/ansible_callbacks)
        # (tests/unit/test_ansible_modules.py checks both).
        "ansible-core",
        "openstacksdk",
        "pyghmi",
        "sushy",
        "netmiko",
        "matplotlib",
        "jinja2",
        "pyyaml",
        "requests",
        "locust",
    ],
    extras_require={
        # The lab (`extreme lab`): its BMC emulator (Redfish with sushy-tools; IPMI with
        # pyghmi, which the Power library needs anyway). An operator's install does not.
        "lab": ["sushy-tools"],
        # A target whose os_faults section runs services in containers (os-faults'
        # docker_container driver, e.g. Kolla) needs community.docker: the whole `ansible`.
        "containers": ["ansible"],
        "test": ["pytest", "ruff", "robotframework-robocop", "robotstatuschecker"],
        # Response schemas (ExtremeTesting.schemas): tempest.lib.api_schema, not copied.
        "schemas": ["tempest>=33.0.0"],
    },
    cmdclass={"build_py": BuildWithoutTestFakes},
    entry_points={"console_scripts": ["extreme = ExtremeTesting.cli:main"]},
)

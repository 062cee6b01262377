from setuptools import find_packages, setup

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
        "ansible",
        "openstacksdk",
        "pyghmi",
        "sushy",
        "sushy-tools",
        "netmiko",
        "matplotlib",
        "jinja2",
        "pyyaml",
        "requests",
        "locust",
    ],
    extras_require={
        "test": ["pytest", "ruff", "robotframework-robocop", "robotstatuschecker"],
    },
    entry_points={"console_scripts": ["extreme = ExtremeTesting.cli:main"]},
)

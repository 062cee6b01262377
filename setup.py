from setuptools import find_packages, setup

setup(
    name="openstack-extreme-testing",
    version="0.1.0",
    description="Robot Framework keywords and suites that prove an OpenStack cloud "
    "survives destruction and concurrency",
    long_description=open("README.rst", encoding="utf-8").read(),
    package_dir={"": "libraries"},
    packages=find_packages("libraries"),
    include_package_data=True,
    package_data={"": ["*.j2", "*.css", "*.resource", "*.cfg"]},
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

"""The lab: a real OpenStack cloud from Debian's packages in Linux namespaces."""

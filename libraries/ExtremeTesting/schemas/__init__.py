"""Responses checked against the response schemas published for each API, at the
microversion used: a cloud that answers with a missing field or a changed shape after an
upgrade breaks clients while every status code stays green.

:mod:`.published` finds the schema of one answer (tempest's ``tempest.lib.api_schema``,
the optional extra ``pip install 'openstack-extreme-testing[schemas]'``; none is copied
here) and checks it; :mod:`.watch` decides which answers are checked (a bounded sample)
and keeps what was found. The monitor checks its probes' answers, every openstacksdk
connection of ``cloud.connection`` its calls'.
"""

from .published import (EXTRA, MAX_MISMATCHES, NOT_CHECKED, NOT_COVERED, OPERATIONS,
                        PACKAGE, PACKAGES, Check, NoSchema, SchemasUnavailable, available,
                        check, field_of, operation_of, schema_for)

__all__ = ["EXTRA", "MAX_MISMATCHES", "NOT_CHECKED", "NOT_COVERED", "OPERATIONS", "PACKAGE",
           "PACKAGES", "Check", "NoSchema", "SchemasUnavailable", "available", "check",
           "field_of", "operation_of", "schema_for"]

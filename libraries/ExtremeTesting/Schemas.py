"""`Library  ExtremeTesting.Schemas`: API responses against their published schemas."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from robot.api import Failure, SkipExecution, logger
from robot.api.deco import library

from . import __version__, results
from . import target as target_module
from .schemas import published


@library(scope="GLOBAL", auto_keywords=False, version=__version__)
class Schemas:
    """Each API's responses against the response schemas published for it, at the
    microversion asked: a missing field or a changed shape is named even when every status
    code stays green.

    = Where the schemas come from =
    tempest's ``tempest.lib.api_schema`` (the optional extra
    ``pip install 'openstack-extreme-testing[schemas]'``), for Compute at every
    microversion tempest publishes, and Block Storage; tempest publishes none for Identity,
    Networking, Image or Placement, which are listed as not covered. Without tempest the
    keyword is skipped, saying how to install it.

    = What it never does =
    It never writes to the cloud (GET requests only) and never copies a schema.

    = Importing =
    | Library | ExtremeTesting.Schemas | ${TARGET} |

    %TOC%
    """

    def __init__(self, target: str | None = None,
                 api_timeout: timedelta = timedelta(seconds=30)):
        """``target``: the target file (default ``$EXTREME_TARGET``, then the lab's);
        ``api_timeout``: the longest wait for one API answer."""
        self._target_path = target
        self.api_timeout = api_timeout
        self.conn: Any = None  # tests give a fake

    def _connection(self) -> Any:
        if self.conn is None:
            from .cloud import connection

            target = target_module.load(self._target_path)
            self.conn = connection.connect(connection.settings_for(
                target, api_timeout=self.api_timeout))
        return self.conn

    @results.verdict("Responses Should Match Their Published Schemas")
    def responses_should_match_their_published_schemas(
            self, operations: str = "", microversion: str = "") -> list[dict]:
        """Sends each read and checks its answer against its published schema; fails naming
        every field that does not match (``servers[0].status: ...``). Returns one record per
        operation. Skipped when tempest (the ``schemas`` extra) is not installed.

        ``operations``: comma-separated ``SERVICE PATH`` (default: every Compute list tempest
        has a schema for: servers, servers/detail, flavors, flavors/detail, os-services,
        os-keypairs, limits). ``microversion``: the one asked (default the base version).
        Each operation publishes an expectation record (``schema mismatches`` == 0).

        | `Responses Should Match Their Published Schemas` |                                 |
        | `Responses Should Match Their Published Schemas` | microversion=2.47               |
        | `Responses Should Match Their Published Schemas` | operations=compute /servers/detail |
        """
        if not published.available():
            raise SkipExecution(f"Responses Should Match Their Published Schemas: "
                                f"{published.NOT_CHECKED}.")
        wanted = _operations(operations)
        conn = self._connection()
        records, failed = [], []
        for service, path in wanted:
            response = getattr(conn, service).get(path, microversion=microversion or None,
                                                  raise_exc=False)
            try:
                body = response.json()
            except ValueError:
                body = None
            headers = getattr(response, "headers", None) or {}
            used = published.microversion_of(headers, service) or microversion
            found = published.check(service, "GET", path, response.status_code, body, used,
                                    headers)
            subject = f"{service} GET {path}" + (f" at {used}" if used else "")
            if not found.covered:
                failed.append(f"{subject}: HTTP {response.status_code}, no answer to check")
                continue
            records.append(results.publish_expectation(
                "Responses Should Match Their Published Schemas", "schema mismatches", 0,
                "==", len(found.mismatches), unit="fields", subject=subject))
            logger.info(f"{subject} against {found.schema}: " +
                        ("matches" if found.matches else "; ".join(found.mismatches)))
            failed += [f"{subject}: {m}" for m in found.mismatches]
        logger.info("Not covered (tempest publishes no response schema): "
                    f"{', '.join(published.NOT_COVERED)}.")
        if failed:
            raise Failure("Responses that do not match their published schemas:\n" +
                          "\n".join(failed))
        return records


def _operations(text: str) -> list[tuple[str, str]]:
    if not text.strip():
        return [(s, p) for (s, m, p) in published.OPERATIONS
                if s == "compute" and m == "GET" and "{" not in p and p != "/"
                and "hypervisors" not in p]
    found = []
    for item in text.split(","):
        service, _, path = item.strip().partition(" ")
        path = path.strip()
        if service not in published.PACKAGES or not path.startswith("/"):
            raise ValueError(f"operations: '{item.strip()}' is not 'SERVICE /path' with a "
                             f"service of {', '.join(published.PACKAGES)}, e.g. "
                             "'compute /servers/detail'.")
        if published.operation_of(service, "GET", path) is None:
            covered = ", ".join(f"{s} {p}" for s, m, p in published.OPERATIONS if m == "GET")
            raise ValueError(f"operations: no published schema for {service} GET {path}; "
                             f"covered: {covered}.")
        found.append((service, path))
    return found

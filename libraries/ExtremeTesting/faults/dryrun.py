"""The report's marker of a fault that was only pretended (dry run)."""

from __future__ import annotations

import html

from .. import results


def mark_dry_run(action: str) -> None:
    """A case whose faults were only pretended is not a verdict (logged at WARN, so
    ``--loglevel WARN`` keeps it)."""
    results.publish(results.FAULT_DRY_RUN, {"action": action, "case": results.current_case()},
                    f"DRY RUN: {html.escape(action)} was not done", level="WARN")

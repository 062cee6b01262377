"""An Ansible stdout callback: the playbook's results as one JSON document.

Printed once, when the playbook ends: ``{"plays": [{"play": {...}, "tasks": [{"task":
{...}, "hosts": {<host>: <the module's result, with failed/unreachable/skipped set>}}]}],
"stats": {<host>: {...}}}``, the shape os-faults' executor and the Faults library's
runner read. Written for this project (ansible-core has no JSON stdout callback).
"""

from __future__ import annotations

import json
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: extreme_json
    type: stdout
    short_description: the playbook's results as one JSON document
    description:
        - Every task's result per host, printed as one JSON document when the playbook ends.
"""


def _part(result: Any, new: str, old: str) -> Any:
    # ansible-core 2.19 names them result.result / result.host; earlier ones _result / _host
    return getattr(result, new, None) if hasattr(result, new) else getattr(result, old)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "extreme_json"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plays: list[dict[str, Any]] = []

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self.plays[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    def _record(self, result: Any, **flags: bool) -> None:
        payload = dict(_part(result, "result", "_result"))
        payload.update(flags)
        host = _part(result, "host", "_host").get_name()
        self.plays[-1]["tasks"][-1]["hosts"][host] = payload

    def v2_runner_on_ok(self, result: Any, **_: Any) -> None:
        self._record(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.plays, "stats": summary},
                                         default=str, sort_keys=True))

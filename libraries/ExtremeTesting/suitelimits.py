"""``${LIMITS}`` before a suite chose its expectations: a read that names the fix.

resources/common.resource gives ``${LIMITS}`` this value until `Use The Expectations Of`
replaces it with the target's limits for the suite's scenario. Any read of it before then
(``${LIMITS.recovery}``, ``${LIMITS}[node]``, ``Get From Dictionary``, ``'x' in $LIMITS``)
fails at once saying which keyword the suite forgot, instead of Robot's "variable not
found" deep inside a resource keyword.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

MESSAGE = ("This suite has not chosen its expectations, so it has no limits to read: call "
           "`Use The Expectations Of    <scenario>` in its Suite Setup (a scenario of the "
           "target's expectations section, e.g. service_restart or default) before any "
           "keyword that reads ${LIMITS}.")


class ExpectationsNotChosen(RuntimeError):
    """A keyword read ``${LIMITS}`` before `Use The Expectations Of`."""

    ROBOT_SUPPRESS_NAME = True


class NotChosen(Mapping):
    """Stands for ``${LIMITS}`` until the suite chooses its expectations; every read fails."""

    def _fail(self, *_: Any) -> NoReturn:
        raise ExpectationsNotChosen(MESSAGE)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # Python's and Robot's own protocol look-ups
            raise AttributeError(name)
        self._fail()

    def __getitem__(self, key: Any) -> Any:
        self._fail()

    def __iter__(self) -> Iterator[Any]:
        self._fail()

    def __len__(self) -> int:
        self._fail()

    def __contains__(self, key: object) -> bool:
        self._fail()

    def __repr__(self) -> str:
        return "<no expectations chosen yet: see `Use The Expectations Of`>"


NOT_CHOSEN = NotChosen()

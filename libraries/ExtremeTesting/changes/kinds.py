"""What a roll-out applies on each node: a change prepared by a keyword, passed as an object.

`Roll Out Change` takes one of these (from `Prepare Config Change`, `Prepare Package
Upgrade`, `Prepare Package Downgrade`), never a keyword name and flattened ``k=v``
strings. Each knows what it does in words and applies itself on one node through the
library's components.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Change:
    """A change to roll out node by node."""

    def describe(self) -> str:
        raise NotImplementedError

    def apply(self, library: Any, node: str, service: str) -> None:
        """Make the change on ``node`` with ``library`` (the Changes library)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class ConfigChange(Change):
    """Options set in one INI section of one file; ``services`` restart after the undo
    (default: the service rolled out)."""

    path: str
    section: str
    options: tuple[tuple[str, str], ...]
    services: tuple[str, ...] = ()

    def describe(self) -> str:
        options = ", ".join(f"{o} = {v}" for o, v in self.options)
        return f"[{self.section}] {options} in {self.path}"

    def apply(self, library: Any, node: str, service: str) -> None:
        for option, value in self.options:
            library.set_config_option(node, self.path, self.section, option, value,
                                      services=list(self.services or [service]))


@dataclass(frozen=True)
class PackageChange(Change):
    """Packages installed at the given versions (``name=version``)."""

    pairs: tuple[str, ...]
    downgrade: bool = False

    def describe(self) -> str:
        return f"{'downgrade' if self.downgrade else 'upgrade'} to {', '.join(self.pairs)}"

    def apply(self, library: Any, node: str, service: str) -> None:
        change = library.downgrade_package if self.downgrade else library.upgrade_package
        change(node, *self.pairs)


@dataclass(frozen=True)
class RestartOnly(Change):
    """Nothing but the roll-out's own restart of the service."""

    def describe(self) -> str:
        return "a restart"

    def apply(self, library: Any, node: str, service: str) -> None:
        return None


@dataclass
class KeywordChange(Change):
    """*Deprecated until 1.0*: a keyword run with the node first (the old form of
    `Roll Out Change`)."""

    name: str
    args: tuple[Any, ...] = ()
    named: dict[str, Any] = field(default_factory=dict)
    run_keyword: Callable[..., Any] | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"keyword '{self.name}'"

    def apply(self, library: Any, node: str, service: str) -> None:
        self.run_keyword(self.name, node, *self.args,
                         *[f"{k}={v}" for k, v in self.named.items()])

"""The errors the Faults library raises, each saying what was expected, seen and to do."""

from __future__ import annotations

from ..errors import ExtremeError, SafetyError, TargetError
from ..lifecycle import errors as lifecycle_errors
from ..lifecycle.errors import LockTimeoutError

__all__ = [
    "ActionTimeoutError", "FaultError", "LockTimeoutError", "OsFaultsConfigError",
    "RemoteActionError", "SafetyError", "TargetError", "UndoError", "UnknownNodeError",
    "UnknownServiceError", "UnreachableError", "UnsupportedActionError",
]


class FaultError(ExtremeError):
    """A fault could not be injected, undone or checked."""


class UnknownServiceError(FaultError, TargetError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"Unknown service '{name}'. Known services: "
                         f"{', '.join(sorted(known)) or 'none'}. Check the name, or add it "
                         f"to the target's 'services' and to its os-faults configuration.")


class UnknownNodeError(FaultError, TargetError):
    def __init__(self, name: str, known: list[str], context: str = ""):
        where = f" {context}" if context else ""
        super().__init__(f"Unknown node '{name}'{where}. Known nodes: "
                         f"{', '.join(sorted(known)) or 'none'}; or say one, random or all.")


class OsFaultsConfigError(FaultError):
    """The os-faults configuration is invalid (jsonschema) or unusable."""


class UnsupportedActionError(FaultError):
    """os-faults' driver cannot do this action (NotImplementedError or missing command)."""


class RemoteActionError(FaultError):
    """Ansible ran, and the action failed on one or more nodes."""


class UnreachableError(RemoteActionError):
    """Ansible could not reach one or more nodes over SSH."""


class ActionTimeoutError(FaultError):
    """An action took longer than its timeout; its process was killed."""


class UndoError(FaultError, lifecycle_errors.UndoError):
    """Undoing a fault failed: the cloud may be left broken."""

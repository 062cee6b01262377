"""Keep os-faults' log useful and free of credentials.

os-faults logs inventories, tasks and results at DEBUG; Robot forwards Python logging into
log.html. Its ``os_faults`` logger stops propagating; a handler re-emits each record to the
root logger with every known secret replaced, so the DEBUG detail stays (and with it the
remote reasons) without a password ever reaching output.xml.
"""

from __future__ import annotations

import logging
import threading

MASK = "********"
_LOCK = threading.Lock()
_SECRETS: set[str] = set()


def add_secrets(*values: str | None) -> None:
    with _LOCK:
        _SECRETS.update(v for v in values if v and len(v) >= 3)


def redact(text: str) -> str:
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class RedactingForwarder(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = redact(record.getMessage())
        except Exception:  # noqa: BLE001 - a bad format string must not break an action
            message = redact(str(record.msg))
        clean = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None,
                                       "exc_info": None, "exc_text": None})
        logging.getLogger().handle(clean)


def install(logger_names: tuple[str, ...] = ("os_faults",)) -> None:
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(h, RedactingForwarder) for h in logger.handlers):
            logger.addHandler(RedactingForwarder())
        logger.propagate = False

"""Keep credentials out of Robot's log.

Robot captures Python logging into log.html at the run's log level, so with
``--loglevel DEBUG`` keystoneauth writes every HTTP request as a curl line with its JSON
body (``POST /v3/users`` carries the new user's password; keypair and credential answers
carry private keys and secrets) and openstacksdk logs its configuration. Two defences:

1. keystoneauth's and openstacksdk's loggers are held at INFO unless HTTP debugging is
   asked for, so the request dumps are never produced;
2. a redacting filter on those loggers and on the root logger's handlers (Robot's own
   handler among them) masks secret-looking JSON values, auth headers and every secret
   value registered with :func:`register_secret`, whatever logger a record came from.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
SDK_LOGGERS = ("keystoneauth", "openstack", "os_client_config", "stevedore")

_SECRET_KEYS = (
    "password", "adminpass", "admin_pass", "original_password", "secret", "client_secret",
    "application_credential_secret", "token", "access_token", "refresh_token", "id_token",
    "private_key", "passcode", "totp", "auth_token", "x-auth-token", "x-subject-token",
    "x-service-token", "authorization", "fernet_keys", "credential", "blob",
)
_KEYS = "|".join(re.escape(k) for k in sorted(_SECRET_KEYS, key=len, reverse=True))
# "password": "value" (JSON, either quote style) and password=value (query strings, CLI).
_JSON_VALUE = re.compile(
    rf"""(?P<key>["'](?:{_KEYS})["']\s*:\s*)(?P<q>["'])(?P<value>(?:\\.|(?!(?P=q)).)*)(?P=q)""",
    re.IGNORECASE | re.DOTALL)
_HEADER = re.compile(
    r"(?P<key>\b(?:X-Auth-Token|X-Subject-Token|X-Service-Token|Authorization)\s*[:=]\s*)"
    r"(?P<value>(?:Bearer\s+|Basic\s+)?[^\s\"',;}]+)", re.IGNORECASE)
_ASSIGN = re.compile(rf"(?P<key>\b(?:{_KEYS})=)(?P<value>[^\s&'\",;]+)", re.IGNORECASE)

_LOCK = threading.Lock()
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears in a log record."""
    if value and len(value) >= 4:  # masking "a" everywhere would wreck the log
        with _LOCK:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """The text with every credential we can recognise replaced by ``***``."""
    if not text:
        return text
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _JSON_VALUE.sub(lambda m: f"{m['key']}{m['q']}{MASK}{m['q']}", text)
    text = _HEADER.sub(lambda m: f"{m['key']}{MASK}", text)
    return _ASSIGN.sub(lambda m: f"{m['key']}{MASK}", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with :func:`redact`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format: logging reports it itself
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


FILTER = RedactingFilter()


def _attach(filterer: logging.Filterer) -> None:
    if FILTER not in filterer.filters:
        filterer.addFilter(FILTER)


_STATE = {"http_debug": False}


def protect(http_debug: bool | None = None) -> None:
    """Install the defences; call again after new loggers or handlers may exist.

    ``http_debug`` lets keystoneauth's request/response dumps through (still redacted):
    for debugging a cloud, never for a run whose log is shared. ``None`` keeps the
    previous choice.
    """
    if http_debug is not None:
        _STATE["http_debug"] = http_debug
    level = logging.DEBUG if _STATE["http_debug"] else logging.INFO
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(level)
    # Filters on a logger see only records created by that very logger, so every
    # existing descendant gets one too, and Robot's handler on the root catches the rest.
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in SDK_LOGGERS:
            _attach(logging.getLogger(name))
    for handler in logging.getLogger().handlers:
        _attach(handler)

"""Turn openstacksdk and keystoneauth failures into messages an operator can act on.

Every message carries what the API said: the HTTP status, the method and URL, the API's
own message and the OpenStack request id (to grep the services' logs with).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ExtremeError
from .logsafety import redact

F = TypeVar("F", bound=Callable[..., Any])


class CloudError(ExtremeError):
    """An OpenStack API call failed or a cloud check did not hold."""

    def __init__(self, message: str, request_id: str | None = None,
                 status_code: int | None = None):
        super().__init__(redact(message))
        self.request_id = request_id
        self.status_code = status_code


class CloudTimeout(CloudError):
    """A resource or service did not reach the awaited state in time."""


class CloudNotConnected(CloudError):
    """No connection could be made (configuration, credentials, or the cloud is down)."""


def _fix_for(status: int | None) -> str:
    if status in (401,):
        return "Check the credentials of the clouds.yaml entry (and secure.yaml)."
    if status == 403:
        return "The user lacks the role this call needs; use an admin cloud entry."
    if status == 404:
        return "The resource or API does not exist (deleted meanwhile, or wrong id/name?)."
    if status == 409:
        return "The resource is in a state that forbids this; wait for it to settle."
    if status == 413 or status == 429:
        return "A quota or rate limit was hit; raise it or clean up (Purge Leftovers)."
    if status is not None and status >= 500:
        return "The service failed; find the request id in the service's logs."
    return "See the API's message above."


def describe(error: BaseException, action: str) -> CloudError:
    """A :class:`CloudError` for *error*, which happened while doing *action*."""
    from keystoneauth1 import exceptions as ksa
    from openstack import exceptions as sdk

    if isinstance(error, CloudError):
        return error
    if isinstance(error, sdk.HttpException):
        status = error.status_code
        request_id = error.request_id or "none"
        where = f"{error.method or ''} {error.url or ''}".strip()
        details = error.details or error.message or str(error)
        message = (f"{action} failed: HTTP {status if status is not None else '?'}"
                   f"{' on ' + where if where else ''}: {details} "
                   f"(request id {request_id}). {_fix_for(status)}")
        return CloudError(message, error.request_id, status)
    if isinstance(error, sdk.ResourceTimeout):
        return CloudTimeout(f"{action} timed out: {error}")
    if isinstance(error, (ksa.ConnectTimeout, ksa.ConnectFailure)):
        return CloudNotConnected(
            f"{action} failed: the cloud did not answer ({type(error).__name__}: {error}). "
            "Check that the API endpoint is reachable and the service runs.")
    if isinstance(error, ksa.http.HttpError):
        status = getattr(error, "http_status", None)
        request_id = getattr(error, "request_id", None)
        message = (f"{action} failed: HTTP {status} {getattr(error, 'method', '') or ''} "
                   f"{getattr(error, 'url', '') or ''}: {error.message} "
                   f"(request id {request_id or 'none'}). {_fix_for(status)}")
        return CloudError(message, request_id, status)
    if isinstance(error, ksa.ClientException):
        return CloudNotConnected(f"{action} failed: {type(error).__name__}: {error}. "
                                 "Check the clouds.yaml entry and that the cloud answers.")
    if isinstance(error, sdk.SDKException):
        return CloudError(f"{action} failed: {type(error).__name__}: {error}")
    raise error


def api_call(action: str) -> Callable[[F], F]:
    """Decorator: translate SDK/keystoneauth errors raised by the function."""
    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except CloudError:
                raise
            except Exception as error:  # describe() re-raises what it does not know
                raise describe(error, action) from error
        return wrapper  # type: ignore[return-value]
    return decorate

"""The REST API's one exception handler: domain errors as 400/404/409, an unavailable service as 503.

A service's ``events.errors`` refusal is answered here, not view by view:
``Invalid`` → 400 with its field → messages, ``NotFound`` → 404 and
``Conflict`` → 409 with ``{"detail": message}``; a Django ``ValidationError``
(model validation in a service) → 400 with its field messages, as a
serializer's would be. The shapes are the schema's ``FieldErrors`` and
``ErrorDetail`` (events.api_schema).

DRF answers its own errors (400, 401, 403, 404…); anything else it re-raises,
and Django would answer an HTML 500 with a traceback in the log for every
request. While PostgreSQL restarts or Redis is down, every request fails the
same way, so this handler answers ``503 {"detail": …}`` with ``Retry-After``
and logs one line per service at most once a minute — the details (the
server's address, the error) go to the log, not to clients. Wired with
``REST_FRAMEWORK["EXCEPTION_HANDLER"]``; every app's API goes through it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .bridge import redact
from .errors import Conflict, DomainError, Invalid, NotFound
from .services import EventUnavailable

logger = logging.getLogger(__name__)

# Seconds a client should wait before trying again (a PostgreSQL restart, a Redis restart).
RETRY_AFTER = EventUnavailable.retry_after
LOG_INTERVAL = 60.0
SERVICES = {"database": "database", "broker": "broker (Redis)"}

_last_logged: dict[str, float] = {}
_lock = threading.Lock()


def _unavailable(exc: Exception) -> str | None:
    """Which service ``exc`` says is unavailable ("database", "broker"), or None."""
    if isinstance(exc, EventUnavailable):
        return "database"
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return "broker"
    return None


def _cause(exc: Exception) -> BaseException:
    return exc.__cause__ if isinstance(exc, EventUnavailable) and exc.__cause__ is not None else exc


def _log_once(service: str, exc: Exception, path: str) -> None:
    now = time.monotonic()
    with _lock:
        if now - _last_logged.get(service, float("-inf")) < LOG_INTERVAL:
            return
        _last_logged[service] = now
    cause = _cause(exc)
    lines = str(cause).strip().splitlines()
    logger.error(
        "The %s is unavailable (%s: %s); API requests answer 503 until it is back (first: %s; logged once a minute)",
        SERVICES[service],
        type(cause).__name__,
        redact(lines[0]) if lines else "",
        path,
    )


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _as_api_exception(exc: Exception) -> Exception:
    """The DRF exception answering a domain error or a Django ValidationError; any other ``exc`` as is."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if not isinstance(exc, DomainError):
        return exc
    if isinstance(exc, Invalid):
        return exceptions.ValidationError(exc.errors)
    if isinstance(exc, NotFound):
        return exceptions.NotFound(exc.message)
    if isinstance(exc, Conflict):
        return ConflictError(exc.message)
    return exceptions.ValidationError(Invalid(exc.message, field=exc.field).errors)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler for domain errors too, plus 503 + ``Retry-After`` when the database or broker is down."""
    response = drf_exception_handler(_as_api_exception(exc), context)
    if response is not None:
        return response
    service = _unavailable(exc)
    if service is None:
        return None
    request = context.get("request")
    _log_once(service, exc, getattr(request, "path", "?"))
    set_rollback()
    if isinstance(exc, EventUnavailable):
        detail = exc.message
    else:
        detail = f"The {SERVICES[service]} is unavailable; retry in {RETRY_AFTER} s."
    response = Response(
        {"detail": detail},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER)},
    )
    # Logged above, once per outage: keep Django from logging every 503 as well.
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's private flag (log_response), not in the stubs
    return response

"""``POST /api/incoming/<name>/``: the endpoint the apps post to.

A plain Django view rather than DRF: the apps are not API clients (no token,
no session, no content negotiation), and the answer must be fast. Checks, in
order: the source exists (404), the key (401), the source is enabled (403),
the body's size (413), its content type (415), its JSON (400), its shape for
the kind (400), the mapped paths (400). Every request is recorded with its
outcome; only an accepted one emits an event. The key is never logged or
recorded.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from events import jsonlimits

from . import selectors, services
from .models import IncomingSource
from .parsers import PARSERS, PayloadError
from .paths import PathMappingError

logger = logging.getLogger(__name__)

MISSING_KEY = "Missing API key: send it in the X-Api-Key header, the apikey query parameter or HTTP Basic auth."
WRONG_KEY = "Wrong API key or Basic credentials."
MAX_MESSAGE = 1000


# Request ids from a per-process generator seeded from the OS (as events does
# for event ids): uuid4's os.urandom per id was ~2 ms of a request on this busy
# machine (a syscall that releases the GIL). Unique, not secret.
_id_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _id_random.seed(os.urandom(32)))


def _new_request_id() -> uuid.UUID:
    return uuid.UUID(int=_id_random.getrandbits(128), version=4)


class RefusedError(Exception):
    """A request answered with a 4xx and recorded as rejected."""

    def __init__(self, status: int, message: str, *, app_event: str = "") -> None:
        # Messages may quote the request (a content type, a generic body's keys): bounded.
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
        super().__init__(message)
        self.status = status
        self.message = message
        self.app_event = app_event


# Under ASGI (daphne) the request's work runs in this process's own small pool
# of long-lived threads, not in the thread Django's ASGI handler starts for
# each request: Django's database connections belong to a thread, so that
# thread opened a new SQLite connection (~1.5 ms of CPU) on every request and
# left it to be collected. One thread on SQLite: its writes are one at a time
# anyway, and requests of one process queue in the pool instead of sleeping
# in SQLite's busy handler; a few on PostgreSQL.
_POOL_SIZE = 1 if connections[DEFAULT_DB_ALIAS].vendor == "sqlite" else 4
_pool = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="sublarr-incoming")


def _receive_pooled(request: HttpRequest, name: str, started: float) -> JsonResponse:
    """``_receive`` in a pool thread, its connections checked as Django does at a request's start and end."""
    close_old_connections()
    try:
        return _receive(request, name, started)
    finally:
        close_old_connections()


# Built once: sync_to_async's wrapper costs tens of µs to build.
_in_pool = sync_to_async(_receive_pooled, thread_sensitive=False, executor=_pool)


@csrf_exempt
async def receive(request: HttpRequest, name: str) -> JsonResponse:
    """Authenticate, parse and normalize one webhook; emit ``webhook_received`` when it is an event.

    Async, so that under ASGI the work goes to the pool above instead of the
    thread Django's ASGI handler gives each request; the work itself (one
    transaction) is synchronous Django code, run in the caller's thread
    otherwise (WSGI, the test client: the caller's connection and transaction).
    """
    started = time.perf_counter()
    if isinstance(request, ASGIRequest):
        return await _in_pool(request, name, started)
    return await sync_to_async(_receive)(request, name, started)


def _receive(request: HttpRequest, name: str, started: float) -> JsonResponse:
    clock = time.perf_counter
    request_id = _new_request_id()
    incoming: IncomingSource | None = None
    try:
        if request.method != "POST":
            raise RefusedError(405, "Only POST is accepted here.")
        # A NUL cannot be in a name (and PostgreSQL refuses it in a query).
        incoming = selectors.source_by_name(name) if "\x00" not in name else None
        if incoming is None:
            raise RefusedError(404, f"No incoming source named {name[:64]!r}.")
        _authenticate(request, incoming)
        if not incoming.enabled:
            raise RefusedError(403, f"The incoming source {incoming.name!r} is disabled.")
        parser = PARSERS[incoming.kind]
        document = _document(request, parser.ACCEPTS)
        try:
            parsed = parser.parse(document)
        except PayloadError as exc:
            raise RefusedError(400, str(exc)) from None
        try:
            payload = services.webhook_payload(incoming, parsed) if parsed.outcome == "event" else None
        except PathMappingError as exc:
            raise RefusedError(400, f"Path mapping refused: {exc}", app_event=parsed.app_event) from None
    except RefusedError as refused:
        services.incoming_request_reject(
            source_name=name,
            incoming=incoming,
            status_code=refused.status,
            error=refused.message,
            app_event=refused.app_event,
            request_id=request_id,
            started=started,
            clock=clock,
        )
        response = JsonResponse({"detail": refused.message, "request_id": str(request_id)}, status=refused.status)
        if refused.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="sublarr incoming"'
        if refused.status == 405:
            response["Allow"] = "POST"
        response["X-Request-Id"] = str(request_id)
        return response
    record = services.incoming_request_accept(
        incoming=incoming,
        parsed=parsed,
        payload=payload,
        request_id=request_id,
        started=started,
        clock=clock,
    )
    body = {
        "request_id": str(request_id),
        "outcome": record.outcome,
        "app_event": parsed.app_event,
        "event_id": str(record.event_id) if record.event_id else None,
    }
    response = JsonResponse(body, status=record.status_code)
    response["X-Request-Id"] = str(request_id)
    return response


def _authenticate(request: HttpRequest, incoming: IncomingSource) -> None:
    """Accept the key in X-Api-Key or ?apikey=, or the source's Basic credentials; raise a 401 otherwise."""
    key = request.headers.get("X-Api-Key") or request.GET.get("apikey")
    basic = _basic_credentials(request)
    if key:
        if services.api_key_matches(incoming, key):
            return
    elif basic is not None:
        if services.basic_matches(incoming, *basic):
            return
    else:
        raise RefusedError(401, MISSING_KEY)
    raise RefusedError(401, WRONG_KEY)


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        username, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise RefusedError(401, "Malformed HTTP Basic credentials.") from None
    return username, password


def _document(request: HttpRequest, accepts: dict[str, str | None]) -> Any:
    """The body's JSON document (from the body itself or a multipart field), size- and depth-checked."""
    limit: int = settings.SUBLARR_INCOMING_MAX_BODY_BYTES
    too_large = f"Request body too large: the limit is {limit} bytes (SUBLARR_INCOMING_MAX_BODY_BYTES)."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise RefusedError(413, too_large)
    content_type = (request.content_type or "").lower()
    if content_type not in accepts:
        raise RefusedError(
            415,
            f"Content type {content_type or '(none)'!r} is not accepted from this kind of source; "
            f"send {' or '.join(accepts)}.",
        )
    try:
        body = request.body
    except RequestDataTooBig:
        raise RefusedError(413, too_large) from None
    if len(body) > limit:
        raise RefusedError(413, too_large)
    field = accepts[content_type]
    if field is None:
        text: str | bytes = body
    else:
        try:
            value = request.POST.get(field)
        except (MultiPartParserError, SuspiciousOperation) as exc:
            raise RefusedError(400, f"Malformed multipart body: {exc}") from None
        if value is None:
            raise RefusedError(400, f"The multipart body has no {field!r} field.")
        text = value
    if not text.strip():
        raise RefusedError(400, "The body is empty; a JSON object was expected.")
    try:
        document = jsonlimits.loads(text)
    except ValueError as exc:
        raise RefusedError(400, f"Malformed JSON: {exc}") from None
    # Only an escape (\u0000, \ud800) or raw surrogate bytes (0xED…) can put these in a string.
    if "\\u" in text if isinstance(text, str) else (b"\\u" in text or b"\xed" in text):
        _check_strings(document)
    return document


def _check_strings(document: Any) -> None:
    """Refuse NUL and lone surrogates in any string or key: no database stores them (a 500 otherwise)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise RefusedError(400, "The body contains a NUL character (\\u0000) in a string.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise RefusedError(400, "The body contains a lone surrogate (\\ud800-\\udfff) in a string.") from None

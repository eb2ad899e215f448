"""POST one event to one webhook (DESIGN.md §4) with a process-wide, address-checked HTTP client.

* The body is the envelope serialised once; those exact bytes are signed and sent.
* One ``urllib3.PoolManager`` per process (connection pooling), created lazily
  after fork; no redirects followed, no retries inside the client (retries are
  the queue's), no proxy from the environment (a proxy would connect on our
  behalf to addresses we never checked). urllib3 rather than httpx: the same
  signed POST costs about half the CPU (docs/PERFORMANCE.md), and CPU per
  delivery is what bounds a queue worker.
* Every new connection goes through ``_GuardedConnect``: the host is resolved,
  every address checked against ``hooks.netpolicy``, and the socket opened to
  the checked address itself — TLS SNI, certificate checks and the Host header
  still use the name.
* user:password in the URL is sent as HTTP Basic auth (and redacted in the log).
* https:// certificates are verified against certifi's bundle, or the PEM file
  ``SUBLARR_WEBHOOK_CA_BUNDLE`` names (a LAN's own CA).
* The response body is read only up to ``SUBLARR_WEBHOOK_RESPONSE_CAP`` bytes,
  and the whole attempt is bounded by the webhook's timeout. The response's
  headers are kept too, redacted by the same rule as the request's and bounded
  (``response_headers``).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import SplitResult, unquote

import certifi
import urllib3
from django.conf import settings
from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from events.catalog import EVENT_CATALOG
from events.types import Envelope
from hooks import netpolicy, signing
from hooks.redaction import REDACTED, is_sensitive, redact_headers

from .base import HookError, Result, Transport


class WebhookTarget(Protocol):
    """What a webhook delivery reads of its target (``hooks.models.WebhookConfig``)."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def secret(self) -> str: ...

    @property
    def timeout_seconds(self) -> int: ...


# Every header the log keeps, sent or received, is redacted by hooks.redaction's
# one rule (Authorization, Set-Cookie, X-Auth-Token, webhook-signature…).
# Response headers kept in the log: at most this many, this many bytes (names
# and values, UTF-8) in all, each value cut to VALUE_MAX characters.
RESPONSE_HEADERS_MAX_COUNT = 50
RESPONSE_HEADERS_MAX_BYTES = 8192
RESPONSE_HEADER_VALUE_MAX = 1024
# Not a valid header name (parentheses are not token characters): cannot clash with one received.
OMITTED_KEY = "(omitted)"


class _GuardedConnect:
    """Open every new connection to an address the webhook policy allows (mixed into urllib3's connections)."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        # AddressRefused is a ValueError: urllib3 lets it through unwrapped.
        addresses = netpolicy.resolve_checked(self.host.rstrip("."), self.port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError:
                last_error = ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
            except OSError as exc:
                last_error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")  # type: ignore[arg-type]  # self: a mixin of HTTPConnection only
                last_error.__cause__ = exc
        assert last_error is not None
        raise last_error


class GuardedHTTPConnection(_GuardedConnect, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnect, HTTPSConnection):
    """TLS to the checked address; SNI and certificate checks still use the host name."""


class GuardedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


_client_lock = threading.Lock()
_client: tuple[int, urllib3.PoolManager] | None = None


def client_reset() -> None:
    """Drop this process's pools: the next delivery builds them with the settings of the moment (tests)."""
    global _client
    _client = None


def client() -> urllib3.PoolManager:
    """This process's connection pools (new ones after fork: sockets must not be shared)."""
    global _client
    current = _client
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _client_lock:
        if _client is None or _client[0] != os.getpid():
            # Connections kept per host: enough for every delivery thread to
            # reuse one; past that, extra connections open and close (block=False).
            keep = max(4, int(settings.SUBLARR_DELIVERY_CONCURRENCY))
            manager = urllib3.PoolManager(
                num_pools=200,
                maxsize=keep,
                block=False,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                ca_certs=settings.SUBLARR_WEBHOOK_CA_BUNDLE or certifi.where(),
            )
            manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
            _client = (os.getpid(), manager)
        return _client[1]


ENVELOPE_ORDER = ("id", "event_name", "version", "timestamp", "data")


def _sorted_objects(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_objects(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_objects(item) for item in value]
    return value


def canonical_envelope(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope in one fixed key order: envelope keys, then payload keys in catalog order.

    A stored envelope comes back from PostgreSQL's jsonb with its keys
    reordered; without this, a retry would send other bytes than attempt 1.
    """
    spec = EVENT_CATALOG.get(envelope.get("event_name", ""))
    data = envelope.get("data")
    if isinstance(data, dict):
        order = [key for key in spec.payload_keys if key in data] if spec else []
        order += sorted(key for key in data if key not in order)
        data = {key: _sorted_objects(data[key]) for key in order}
    ordered = {key: envelope[key] for key in ENVELOPE_ORDER if key in envelope}
    ordered.update({key: _sorted_objects(envelope[key]) for key in sorted(envelope) if key not in ENVELOPE_ORDER})
    if "data" in ordered:
        ordered["data"] = data
    return ordered


def envelope_body(envelope: Envelope) -> bytes:
    """The request body: the envelope as compact UTF-8 JSON, the same bytes on every attempt."""
    return json.dumps(canonical_envelope(envelope), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build_request(webhook: WebhookTarget, envelope: Envelope, *, now: float | None = None) -> tuple[bytes, dict]:
    """The body and headers of one attempt (a fresh timestamp and signatures each time)."""
    body = envelope_body(envelope)
    timestamp = int(now if now is not None else time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Sublarr-Webhook/{settings.SUBLARR_VERSION}",
        "X-Sublarr-Event": envelope["event_name"],
        "webhook-id": str(envelope["id"]),
        "webhook-timestamp": str(timestamp),
        **signing.signature_headers(webhook.secret, str(envelope["id"]), timestamp, body),
    }
    return body, headers


def response_headers(headers: HTTPHeaderDict) -> dict[str, str]:
    """A receiver's headers fit for the log: redacted, in the order received, bounded in count and bytes.

    Repeated headers are joined with ", "; a value over RESPONSE_HEADER_VALUE_MAX
    characters is cut and ends with "…"; headers past RESPONSE_HEADERS_MAX_COUNT
    or RESPONSE_HEADERS_MAX_BYTES are left out, their number under ``(omitted)``.
    """
    kept: dict[str, str] = {}
    used = omitted = 0
    for raw_name, raw_value in headers.itermerged():
        # NUL cannot be stored in PostgreSQL's jsonb.
        name, value = raw_name.replace("\x00", ""), raw_value.replace("\x00", "")
        if is_sensitive(name):
            value = REDACTED
        elif len(value) > RESPONSE_HEADER_VALUE_MAX:
            value = value[: RESPONSE_HEADER_VALUE_MAX - 1] + "…"
        size = len(name.encode()) + len(value.encode())
        if len(kept) >= RESPONSE_HEADERS_MAX_COUNT or used + size > RESPONSE_HEADERS_MAX_BYTES:
            omitted += 1
            continue
        kept[name] = value
        used += size
    if omitted:
        kept[OMITTED_KEY] = str(omitted)
    return kept


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _read_capped(response: urllib3.BaseHTTPResponse, cap: int, deadline: float) -> str:
    """Up to ``cap`` bytes of the body, read by ``deadline``; the connection is kept only if the body was all read.

    ``read1`` returns what has arrived, so a receiver dripping its answer a
    byte at a time cannot stretch the attempt past the deadline by more than
    one read timeout.
    """
    kept = bytearray()
    try:
        while len(kept) < cap and time.monotonic() <= deadline:
            chunk = response.read1(cap - len(kept), decode_content=False)
            if not chunk:
                break
            kept += chunk
    finally:
        if not response.closed:
            response.close()  # body left unread: never read it just to keep the connection
        response.release_conn()
    return kept.decode("utf-8", errors="replace")


def _basic_auth(parts: SplitResult) -> dict[str, str]:
    """An Authorization header for a URL with user:password in it (as browsers and curl send)."""
    if parts.username is None and parts.password is None:
        return {}
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _request_url(parts: SplitResult) -> str:
    """The URL without its userinfo (sent as a header instead) or fragment."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path or '/'}{query}"


def deliver(webhook: WebhookTarget, envelope: Envelope, *, attempt: int = 1) -> Result:
    """POST ``envelope`` to ``webhook``; return the Result of a 2xx, raise HookError otherwise.

    ``HookError.permanent`` is set when retrying cannot help: an invalid URL,
    a refused address, a redirect, or a 4xx other than 408/429. A 410 also
    sets ``result.extra["disable"]``.
    """
    started = time.monotonic()
    body, headers = build_request(webhook, envelope)
    result = Result(success=False)
    result.extra["attempt"] = attempt

    def fail(message: str, *, permanent: bool = False) -> HookError:
        result.duration_ms = int((time.monotonic() - started) * 1000)
        return HookError(message, permanent=permanent, result=result)

    try:
        parts = netpolicy.parse_webhook_url(webhook.url)
    except netpolicy.AddressRefused as exc:
        result.request_headers = TRANSPORT.logged_request(headers)
        raise fail(exc.message, permanent=True) from None
    headers.update(_basic_auth(parts))
    result.request_headers = TRANSPORT.logged_request(headers)

    timeout = float(webhook.timeout_seconds)
    deadline = started + timeout
    cap = int(settings.SUBLARR_WEBHOOK_RESPONSE_CAP)
    try:
        response = client().urlopen(
            "POST",
            _request_url(parts),
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        status = result.status_code = response.status
        result.response_headers = response_headers(response.headers)
        retry_after = response.headers.get("retry-after")
        result.response_body = _read_capped(response, cap, deadline)
    except netpolicy.AddressRefused as exc:
        raise fail(exc.message, permanent=not exc.transient) from None
    except NewConnectionError as exc:  # before TimeoutError: urllib3 derives it from ConnectTimeoutError
        raise fail(f"Connection failed: {_connection_error(exc)}") from None
    except urllib3.exceptions.TimeoutError:
        result.extra["timed_out"] = True
        raise fail(f"Timed out after {webhook.timeout_seconds} s.") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise fail(f"Connection failed: {_connection_error(exc)}") from None
    result.duration_ms = int((time.monotonic() - started) * 1000)

    if 200 <= status < 300:
        result.success = True
        return result
    if status in (429, 503):
        result.retry_after = parse_retry_after(retry_after)
    if 300 <= status < 400:
        raise fail(f"HTTP {status}: redirects are not followed; point the webhook at the final URL.", permanent=True)
    if status == 410:
        result.extra["disable"] = True
        raise fail("HTTP 410 Gone: the receiver asked to stop deliveries.", permanent=True)
    if 400 <= status < 500 and status not in (408, 429):
        raise fail(f"HTTP {status}: not retried (client error).", permanent=True)
    raise fail(f"HTTP {status}.")


def _connection_error(exc: Exception) -> str:
    """A short reason for a failed connection, without urllib3's object reprs."""
    cause: BaseException = exc
    if isinstance(exc, NewConnectionError) and exc.__cause__ is not None:
        cause = exc.__cause__
    elif isinstance(exc, urllib3.exceptions.ProtocolError) and len(exc.args) == 2:
        # ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))
        inner = exc.args[1]
        return f"{str(exc.args[0]).rstrip('.')}: {type(inner).__name__}: {inner}"
    return f"{type(cause).__name__}: {cause}"


class WebhookTransport(Transport[WebhookTarget]):
    """Signed JSON POSTs (DESIGN.md §4); its request headers are logged, redacted (``hooks.redaction``)."""

    kind = "webhook"
    label = "Webhook"

    def deliver(self, target: WebhookTarget, envelope: Envelope, *, attempt: int) -> Result:
        return deliver(target, envelope, attempt=attempt)

    def logged_request(self, headers: Mapping[str, str]) -> dict[str, str]:
        return redact_headers(dict(headers))


TRANSPORT = WebhookTransport()

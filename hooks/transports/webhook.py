"""POST one event to one webhook (DESIGN.md §4) with a process-wide, address-checked HTTP client.

* The body is the envelope serialised once; those exact bytes are signed and sent.
* One ``httpx.Client`` per process (connection pooling), created lazily after
  fork; no redirects followed, no proxy from the environment (a proxy would
  connect on our behalf to addresses we never checked).
* Every new connection goes through ``GuardedBackend``: the host is resolved,
  every address checked against ``hooks.netpolicy``, and the socket opened to
  the checked address itself — TLS SNI and the Host header still use the name.
* The response body is read only up to ``SUBLARR_WEBHOOK_RESPONSE_CAP`` bytes,
  and the whole attempt is bounded by the webhook's timeout.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
from django.conf import settings

from events.catalog import EVENT_CATALOG
from hooks import netpolicy, signing

from . import HookError, Result

if TYPE_CHECKING:
    from hooks.models import WebhookConfig

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"x-sublarr-signature", "webhook-signature", "authorization"})


class GuardedBackend(httpcore.SyncBackend):
    """A network backend that connects only to addresses the webhook policy allows."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        addresses = netpolicy.resolve_checked(host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # httpx offers no public hook for the network backend; httpcore's pool does.
        self._pool._network_backend = GuardedBackend()


_client_lock = threading.Lock()
_client: tuple[int, httpx.Client] | None = None


def client() -> httpx.Client:
    """This process's HTTP client (a new one after fork: sockets must not be shared)."""
    global _client
    current = _client
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _client_lock:
        if _client is None or _client[0] != os.getpid():
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)
            _client = (
                os.getpid(),
                httpx.Client(
                    transport=GuardedTransport(limits=limits, retries=0),
                    follow_redirects=False,
                    trust_env=False,
                ),
            )
        return _client[1]


ENVELOPE_ORDER = ("id", "event_name", "version", "timestamp", "data")


def _sorted_objects(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_objects(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_objects(item) for item in value]
    return value


def canonical_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
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


def envelope_body(envelope: dict[str, Any]) -> bytes:
    """The request body: the envelope as compact UTF-8 JSON, the same bytes on every attempt."""
    return json.dumps(canonical_envelope(envelope), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build_request(webhook: WebhookConfig, envelope: dict[str, Any], *, now: float | None = None) -> tuple[bytes, dict]:
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


def redacted(headers: dict[str, str]) -> dict[str, str]:
    """Headers fit for the log: signatures and credentials replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


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


def _read_capped(response: httpx.Response, cap: int, deadline: float) -> str:
    kept = bytearray()
    for chunk in response.iter_raw():
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]
        if len(kept) >= cap or time.monotonic() > deadline:
            break
    return kept.decode("utf-8", errors="replace")


def deliver(webhook: WebhookConfig, envelope: dict[str, Any], *, attempt: int = 1) -> Result:
    """POST ``envelope`` to ``webhook``; return the Result of a 2xx, raise HookError otherwise.

    ``HookError.permanent`` is set when retrying cannot help: an invalid URL,
    a refused address, a redirect, or a 4xx other than 408/429. A 410 also
    sets ``result.extra["disable"]``.
    """
    started = time.monotonic()
    body, headers = build_request(webhook, envelope)
    result = Result(success=False, request_headers=redacted(headers))
    result.extra["attempt"] = attempt

    def fail(message: str, *, permanent: bool = False) -> HookError:
        result.duration_ms = int((time.monotonic() - started) * 1000)
        return HookError(message, permanent=permanent, result=result)

    try:
        netpolicy.parse_webhook_url(webhook.url)
    except netpolicy.AddressRefused as exc:
        raise fail(exc.message, permanent=True) from None

    timeout = float(webhook.timeout_seconds)
    deadline = started + timeout
    cap = int(settings.SUBLARR_WEBHOOK_RESPONSE_CAP)
    try:
        with client().stream("POST", webhook.url, content=body, headers=headers, timeout=timeout) as response:
            result.status_code = response.status_code
            result.response_body = _read_capped(response, cap, deadline)
            retry_after = response.headers.get("retry-after")
    except netpolicy.AddressRefused as exc:
        raise fail(exc.message, permanent=not exc.transient) from None
    except httpx.TimeoutException:
        result.extra["timed_out"] = True
        raise fail(f"Timed out after {webhook.timeout_seconds} s.") from None
    except httpx.HTTPError as exc:
        raise fail(f"Connection failed: {type(exc).__name__}: {exc}") from None
    result.duration_ms = int((time.monotonic() - started) * 1000)

    status = result.status_code
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

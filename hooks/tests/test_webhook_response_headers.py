"""A webhook attempt logs the receiver's response headers beside the body: redacted, bounded, in the API and admin."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from werkzeug import Response

from hooks import delivery
from hooks.models import HookLog
from hooks.tests.test_delivery_service import loopback, pending_delivery, webhook_for  # noqa: F401 - fixture
from hooks.transports.webhook import (
    OMITTED_KEY,
    RESPONSE_HEADER_VALUE_MAX,
    RESPONSE_HEADERS_MAX_BYTES,
    RESPONSE_HEADERS_MAX_COUNT,
)

pytestmark = pytest.mark.django_db

SECRET_LOOKING = [
    ("Set-Cookie", "session=s3cr3t-session; HttpOnly"),
    ("Set-Cookie", "csrftoken=s3cr3t-csrf"),
    ("Authorization", "Bearer s3cr3t-bearer"),
    ("Proxy-Authorization", "Basic s3cr3t-basic"),
    ("X-Auth-Token", "s3cr3t-token"),
    ("X-Api-Key", "s3cr3t-key"),
    ("X-Webhook-Secret", "s3cr3t-whsec"),
]


def _received_count(url: str, path: str) -> int:
    """How many header lines the receiver sends for ``path`` (asked with a plain client)."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("POST", path, body=b"{}")
    response = connection.getresponse()
    response.read()
    connection.close()
    return len({name.lower() for name, _ in response.getheaders()})


def _attempt_log(httpserver, headers: list[tuple[str, str]], status: int = 200) -> HookLog:
    httpserver.expect_request("/hook").respond_with_response(Response("ok", status=status, headers=headers))
    row = pending_delivery(webhook_for(httpserver))
    delivery.delivery_attempt(delivery_id=row.pk)
    return HookLog.objects.get(delivery=row)


def test_response_headers_are_logged_with_credentials_and_cookies_redacted(loopback, httpserver):  # noqa: F811
    log = _attempt_log(httpserver, [("X-Request-Id", "req-42"), *SECRET_LOOKING, ("Retry-After", "7")], status=503)

    headers = log.response_headers
    assert headers["X-Request-Id"] == "req-42"
    assert headers["Retry-After"] == "7"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Length"] == "2"
    for name in ("Set-Cookie", "Authorization", "Proxy-Authorization", "X-Auth-Token", "X-Api-Key", "X-Webhook-Secret"):
        assert headers[name] == "[redacted]"
    assert "s3cr3t" not in str(headers)
    assert OMITTED_KEY not in headers
    assert log.status_code == 503
    assert log.response_body == "ok"


def test_many_response_headers_are_cut_to_the_count_and_the_rest_counted(loopback, httpserver):  # noqa: F811
    # http.client (under urllib3) refuses a response of more than 100 header lines outright.
    many = [(f"X-Many-{i:03d}", "v") for i in range(80)]
    log = _attempt_log(httpserver, many)

    headers = log.response_headers
    received = _received_count(httpserver.url_for("/"), "/hook")
    assert received > 80
    assert len(headers) == RESPONSE_HEADERS_MAX_COUNT + 1
    assert headers[OMITTED_KEY] == str(received - RESPONSE_HEADERS_MAX_COUNT)
    kept_many = [name for name in headers if name.startswith("X-Many-")]
    assert kept_many == [f"X-Many-{i:03d}" for i in range(len(kept_many))]  # in the order received


def test_long_response_headers_are_cut_to_the_byte_budget(loopback, httpserver):  # noqa: F811
    long = [("X-Huge", "h" * 50_000)] + [(f"X-Long-{i:02d}", "l" * 900) for i in range(20)]
    log = _attempt_log(httpserver, long)

    headers = log.response_headers
    assert headers["X-Huge"] == "h" * (RESPONSE_HEADER_VALUE_MAX - 1) + "…"
    kept = {name: value for name, value in headers.items() if name != OMITTED_KEY}
    assert sum(len(n.encode()) + len(v.encode()) for n, v in kept.items()) <= RESPONSE_HEADERS_MAX_BYTES
    assert int(headers[OMITTED_KEY]) > 0
    assert len(kept) + int(headers[OMITTED_KEY]) == _received_count(httpserver.url_for("/"), "/hook")


def test_response_headers_are_shown_in_the_api_and_the_admin(loopback, httpserver, staff_client, admin_client):  # noqa: F811
    log = _attempt_log(httpserver, [("X-Request-Id", "req-42"), ("Set-Cookie", "session=s3cr3t")])

    body = staff_client.get(f"/api/hook-logs/{log.pk}/").json()
    assert body["response_headers"]["X-Request-Id"] == "req-42"
    assert body["response_headers"]["Set-Cookie"] == "[redacted]"
    page = admin_client.get(f"/admin/hooks/hooklog/{log.pk}/change/").content.decode()
    assert "req-42" in page
    assert "s3cr3t" not in page

"""What keeps the answer fast under ASGI: the work runs in the view's own thread pool (one database connection per
pool thread, not one per request), and on SQLite the request's BEGIN waits for the write lock by retrying itself."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time

import pytest
from django.core.asgi import get_asgi_application
from django.db import connection
from django.db.backends.signals import connection_created

from incoming import services, views
from incoming.models import IncomingRequest
from incoming.transactions import request_transaction

from .conftest import load

BODY = json.dumps(load("sonarr_download")["body"]).encode()


async def _asgi_post(application, path: str, key: str) -> int:
    """One POST through the project's ASGI application, as daphne hands it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
            (b"x-api-key", key.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": BODY, "more_body": False}]
    statuses: list[int] = []

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)  # no disconnect while the answer is sent
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await application(scope, receive, send)
    return statuses[0]


@pytest.mark.django_db(transaction=True)
def test_asgi_requests_reuse_the_pool_threads_connections():
    """Django's ASGI handler runs a request's sync code in a new thread: the view must not open a connection there."""
    # What sublarr.asgi serves HTTP with (the project package itself is above this app's layer).
    application = get_asgi_application()

    _source, key = services.source_create(name="sonarr", kind="sonarr", source="api")
    opened: list[str] = []

    def count(sender, connection, **kwargs) -> None:
        opened.append(connection.alias)

    connection_created.connect(count, weak=False)
    try:

        async def posts() -> list[int]:
            return [await _asgi_post(application, "/api/incoming/sonarr/", key) for _ in range(12)]

        statuses = asyncio.run(posts())
    finally:
        connection_created.disconnect(count)

    assert statuses == [202] * 12
    assert IncomingRequest.objects.filter(outcome="accepted").count() == 12
    # At most one per pool thread (none when the thread already had one); one per request before.
    assert opened.count("default") <= views._POOL_SIZE


@pytest.mark.django_db(transaction=True)
def test_the_request_transaction_waits_for_a_held_sqlite_write_lock_and_keeps_the_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: other databases wait for row locks in the server")
    connection.ensure_connection()
    held = threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(0.3)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(5)
    started = time.monotonic()
    with request_transaction():
        IncomingRequest.objects.create(source_name="x", outcome="rejected", status_code=400)
    waited = time.monotonic() - started
    holder.join()

    assert 0.25 <= waited < 5
    assert IncomingRequest.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        timeout_ms = cursor.fetchone()[0]
    assert timeout_ms == int(float(connection.settings_dict["OPTIONS"]["timeout"]) * 1000)

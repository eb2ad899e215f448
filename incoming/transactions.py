"""The request's transaction: ``transaction.atomic()``, whose BEGIN on SQLite waits for the write lock in short steps.

SQLite has one write lock per database file, shared here with the queue
workers (fan-out, attempts, log rows) and the server's own outbox doorbell.
With ``transaction_mode=IMMEDIATE`` a transaction takes it at BEGIN, and a
busy BEGIN waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15,
20, 25… ms between tries whatever the holder does: a lock held for 3 ms cost
a waiting request 8 ms, one held for 12 ms cost 18 ms (bench.incoming measured
BEGIN at p99 55 ms). Sonarr waits for the answer, so the request's BEGIN
tries again itself, every 0.1 ms at first and at most every 2 ms, until the
connection's own timeout (``OPTIONS["timeout"]``, 30 s here) — then fails as
before. Only the BEGIN: once the lock is held, nothing in the transaction
waits for it (WAL: readers never block a writer), and everything else keeps
SQLite's handler. Other databases wait in the server (row locks), and a
transaction already open (the caller's, a test's) is joined with a savepoint.
"""

from __future__ import annotations

import time
from types import TracebackType

from django.db import OperationalError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

FIRST_RETRY_SECONDS = 0.0001
MAX_RETRY_SECONDS = 0.002
DEFAULT_TIMEOUT_SECONDS = 5.0  # Python's sqlite3.connect default, when OPTIONS gives none


class request_transaction:  # noqa: N801 - used like transaction.atomic
    """``with request_transaction(): ...`` — ``transaction.atomic()`` on the default database, see the module."""

    def __init__(self) -> None:
        self._atomic = transaction.atomic()

    def __enter__(self) -> None:
        connection = transaction.get_connection()
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            self._atomic.__enter__()
            return
        _begin_polling(connection, self._atomic)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._atomic.__exit__(exc_type, exc, traceback)


def _begin_polling(connection: BaseDatabaseWrapper, atomic: transaction.Atomic) -> None:
    timeout = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", DEFAULT_TIMEOUT_SECONDS))
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + timeout
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                # A failed BEGIN leaves the connection in autocommit, outside any
                # atomic block (Atomic.__enter__ sets its state after it): retrying is clean.
                atomic.__enter__()
                return
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

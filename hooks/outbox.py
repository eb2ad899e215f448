"""The outbox between the producer and the queue workers: the producer's side, one row per event.

The producer stores the envelope as one row of ``PendingEvent``: inside its
own transaction when it emits in one (``store_in_transaction``, from
``hooks.receivers.on_event_accepted``: the row commits with the producer's
change), otherwise with one INSERT when the event is sent
(``hooks.receivers.on_event`` → ``push``) — all it waits for. After the
commit, a thread of its process rings the doorbell (``hooks.doorbell``): a
django-q2 task ``hooks.tasks.drain_events``, unless one is already queued and
not yet started. A worker's drain (``hooks.delivery.fanout.drain``) then fans
out batches of pending events until none is left — so events that arrive
while workers are busy are fanned out many per transaction, not one task and
two commits each.

Nothing depends on the doorbell arriving: the event is in the database before
the producer moves on. A doorbell lost with a crashed broker or worker only
delays the event until a worker's sweeper takes stale rows
(``SUBLARR_DELIVERY_SWEEP_SECONDS``), and a worker started after a stop takes
them at once. If the outbox cannot be written, the event is enqueued whole
(``hooks.tasks.deliver_event``), as before the outbox existed.
"""

from __future__ import annotations

import collections
import logging
import threading

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field

from events.types import Envelope

from . import doorbell
from .models import PendingEvent
from .queue import enqueue

logger = logging.getLogger(__name__)

DELIVER_TASK = "hooks.tasks.deliver_event"


class _Stored:
    """Ids of events this process stored inside their producer's transaction, until their commit is seen.

    Bounded: an event whose savepoint rolled back never reaches ``push``, so
    its id is only dropped when the oldest ones make room.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, event_id: str) -> None:
        with self._lock:
            self._ids[event_id] = None
            while len(self._ids) > self.LIMIT:
                self._ids.popitem(last=False)

    def take(self, event_id: str) -> bool:
        """Whether ``event_id`` was stored with its transaction (forgotten now)."""
        if event_id not in self._ids:  # the common case, without the lock
            return False
        with self._lock:
            return self._ids.pop(event_id, False) is None


_stored = _Stored()


def store_in_transaction(envelope: Envelope) -> None:
    """Write ``envelope``'s outbox row in the current transaction: it commits or rolls back with the producer's change.

    The row is then durable the moment the producer's transaction is — no
    window between that commit and a later one in which a crash loses the
    event — and a transaction that emits many events commits them with one
    WAL flush. One statement, no savepoint (two more round trips per event):
    like any other write in the transaction, a failure here is raised to the
    producer and fails its transaction, so the change and its event are kept
    or lost together.
    """
    row = PendingEvent(event_id=envelope["id"], event_name=envelope["event_name"], envelope=envelope)
    insert(row)
    _stored.add(envelope["id"])


def stored_with_transaction(envelope: Envelope) -> bool:
    """Whether ``store_in_transaction`` stored this event (its transaction has committed if it is being sent)."""
    return _stored.take(envelope["id"])


def push(envelope: Envelope) -> None:
    """Store ``envelope`` for fan-out and make sure a worker will take it (the producer's whole path)."""
    row = PendingEvent(event_id=envelope["id"], event_name=envelope["event_name"], envelope=envelope)
    try:
        insert(row)
    except DatabaseError:
        logger.warning("Cannot store event %s for delivery; enqueueing its fan-out directly", envelope["id"])
        enqueue(DELIVER_TASK, envelope, task_name=f"hooks-{envelope['id']}")
        return
    transaction.on_commit(doorbell.ringer.request)


def insert(row: PendingEvent) -> None:
    """One INSERT statement, nothing else; the same envelope pushed twice is one event (a no-op the second time).

    This is the producer's whole database cost per event, so it skips the
    ORM's per-save machinery: ``bulk_create(ignore_conflicts=True)`` costs a
    transaction around it (two more round trips) and ``save()`` raises on a
    duplicate. ``ON CONFLICT DO NOTHING`` is understood by SQLite and PostgreSQL.
    """
    connection = transaction.get_connection()
    statement = _statements.get(connection.vendor)
    if statement is None:
        statement = _statements[connection.vendor] = _insert_statement(connection)
    fields, sql = statement
    values = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


_statements: dict[str, tuple[list[Field], str]] = {}


def _insert_statement(connection: BaseDatabaseWrapper) -> tuple[list[Field], str]:
    meta = PendingEvent._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    fields = [by_name[name] for name in ("event_id", "event_name", "envelope", "created_at")]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[arg-type]  # concrete: has a column
    placeholders = ", ".join(["%s"] * len(fields))
    # Identifiers only, quoted by the backend; the values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({quote(by_name['event_id'].column)}) DO NOTHING"  # type: ignore[arg-type]  # concrete: has a column
    )
    return fields, sql

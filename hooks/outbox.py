"""The outbox between the producer and the queue workers: one row per event, a doorbell task to take them.

The producer stores the envelope as one row of ``PendingEvent``: inside its
own transaction when it emits in one (``store_in_transaction``, from
``hooks.receivers.on_event_accepted``: the row commits with the producer's
change), otherwise with one INSERT when the event is sent
(``hooks.receivers.on_event`` → ``push``) — all it waits for. After the
commit, a thread of its process (``Ringer``) calls ``ring``, which enqueues
the django-q2 task ``hooks.tasks.drain_events`` unless one is already queued
and not yet started (a flag: ``SET NX EX`` beside the Redis broker's queue,
or ``cache.add`` in the embedded profile). The worker's
``drain`` clears the flag first, then fans out batches of pending events
until none is left, ringing for a second worker while a burst lasts — so
events that arrive while workers are busy are fanned out many per
transaction, not one task and two commits each.

Nothing depends on the doorbell arriving: the event is in the database before
the producer moves on. A doorbell lost with a crashed broker or worker only
delays the event until a worker's sweeper takes stale rows
(``SUBLARR_DELIVERY_SWEEP_SECONDS``), and a worker started after a stop takes
them at once. If the outbox cannot be written, the event is enqueued whole
(``hooks.tasks.deliver_event``), as before the outbox existed.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from datetime import timedelta

import redis
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.utils import timezone

from events.bridge import redact
from events.types import Envelope

from .models import PendingEvent

logger = logging.getLogger(__name__)

DRAIN_TASK = "hooks.tasks.drain_events"
DELIVER_TASK = "hooks.tasks.deliver_event"
DOORBELL_KEY = "hooks:outbox:doorbell"
# A doorbell whose task never started (lost with a broker) stops muting new
# rings after this long.
DOORBELL_SECONDS = 10
# Events per fan-out transaction, at most; fewer when events have many targets.
BATCH = 100
BATCH_DELIVERIES = 200
# A drain hands its worker back after this long (another drain is rung if work is left).
DRAIN_SECONDS = 30.0
# Deliveries a worker process holds (running or waiting their turn) before its drain waits for room
# (bounded memory: ~2 KB each; a dead webhook is disabled after SUBLARR_WEBHOOK_DISABLE_AFTER failures).
MAX_BACKLOG = 10_000
# The sweeper takes events that have waited this long (their doorbell was lost).
STALE_SECONDS = 5.0


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
    _insert(row)
    _stored.add(envelope["id"])


def stored_with_transaction(envelope: Envelope) -> bool:
    """Whether ``store_in_transaction`` stored this event (its transaction has committed if it is being sent)."""
    return _stored.take(envelope["id"])


def push(envelope: Envelope) -> None:
    """Store ``envelope`` for fan-out and make sure a worker will take it (the producer's whole path)."""
    row = PendingEvent(event_id=envelope["id"], event_name=envelope["event_name"], envelope=envelope)
    try:
        _insert(row)
    except DatabaseError:
        logger.warning("Cannot store event %s for delivery; enqueueing its fan-out directly", envelope["id"])
        from hooks.queue import enqueue

        enqueue(DELIVER_TASK, envelope, task_name=f"hooks-{envelope['id']}")
        return
    transaction.on_commit(ringer.request)


def _insert(row: PendingEvent) -> None:
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


def _doorbell_redis() -> tuple[redis.Redis, str] | None:
    """The Redis broker's connection and the doorbell's key beside its queue; None on another broker."""
    from hooks.queue import broker

    current = broker()
    connection = getattr(current, "connection", None)
    return (connection, f"{current.list_key}:{DOORBELL_KEY}") if isinstance(connection, redis.Redis) else None


def _doorbell_add() -> bool:
    """Set the doorbell flag if it is not set; whether it was set now.

    On the Redis profile one ``SET NX EX`` on the broker's own connection
    (Django's RedisCache builds a client object on every call);
    otherwise Django's cache, shared by the machine's processes.
    """
    on_redis = _doorbell_redis()
    if on_redis is not None:
        connection, key = on_redis
        return bool(connection.set(key, 1, nx=True, ex=DOORBELL_SECONDS))
    return cache.add(DOORBELL_KEY, 1, DOORBELL_SECONDS)


# A broker that is down: one line per kind of failure a minute, not a traceback per ring.
OUTAGE_LOG_INTERVAL = 60.0
_outage_logged: dict[str, float] = {}


def _log_failure(message: str, exc: Exception) -> None:
    if not isinstance(exc, redis.ConnectionError | redis.TimeoutError | DatabaseError):
        logger.warning(message, exc_info=exc)
        return
    now = time.monotonic()
    if now - _outage_logged.get(message, float("-inf")) < OUTAGE_LOG_INTERVAL:
        return
    _outage_logged[message] = now
    lines = str(exc).strip().splitlines()
    logger.warning("%s (%s: %s)", message, type(exc).__name__, redact(lines[0]) if lines else "")


def ring(*, force: bool = False) -> None:
    """Enqueue a drain task unless one is already queued and not yet started (``force``: in any case)."""
    try:
        if not force and not _doorbell_add():
            return
    except Exception as exc:
        _log_failure("Cannot read the outbox doorbell; enqueueing a drain anyway", exc)
    from hooks.queue import enqueue

    try:
        enqueue(DRAIN_TASK, task_name="hooks-drain")
    except Exception as exc:
        # The event is stored: a worker's sweeper takes it within SUBLARR_DELIVERY_SWEEP_SECONDS.
        _log_failure("Cannot enqueue the fan-out of pending events; the workers' sweep will take them", exc)
        _silence_doorbell()


class Ringer:
    """Rings the doorbell from a thread of this process, so the producer waits for one round trip (its INSERT).

    ``request`` wakes the thread; one ``ring`` then answers every request
    made before it started (a burst of events costs one doorbell check, not
    one each). Nothing depends on it: a process that dies between its INSERT
    and the ring leaves the event to a worker's sweep. Requests left at exit
    are rung before the process ends.
    """

    def __init__(self) -> None:
        self._reset()
        # A child forked while another thread held the lock must not inherit it held.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._requested = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        with self._lock:
            self._requested += 1
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="sublarr-outbox-ringer", daemon=True)
                self._thread.start()
                atexit.register(self.flush)
            self._wake.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every request made so far has been rung; whether it was, within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._requested
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._pid != os.getpid():
                    return False
                self._wake.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._done >= self._requested:
                    self._wake.wait()
                answering = self._requested
            try:
                ring()
            except Exception:
                logger.exception("Ringing the outbox doorbell failed; the workers' sweep will take the events")
            finally:
                close_old_connections()
            with self._lock:
                self._done = answering
                self._wake.notify_all()


ringer = Ringer()


def _silence_doorbell() -> None:
    try:
        on_redis = _doorbell_redis()
        if on_redis is not None:
            connection, key = on_redis
            connection.delete(key)
        else:
            cache.delete(DOORBELL_KEY)
    except Exception as exc:
        _log_failure(f"Cannot clear the outbox doorbell; it expires within {DOORBELL_SECONDS} s", exc)


def drain(*, max_seconds: float = DRAIN_SECONDS, stale_only: bool = False) -> int:
    """Fan out pending events in batches until none is left, handing their deliveries to this process.

    Returns how many events were taken. Stops after ``max_seconds`` (ringing
    for another drain if events are left) and, while this process already
    holds ``MAX_BACKLOG`` deliveries, waits for room before taking more.
    ``stale_only`` (the sweeper): only if some event has waited ``STALE_SECONDS``.
    """
    from . import delivery

    if stale_only:
        cutoff = timezone.now() - timedelta(seconds=STALE_SECONDS)
        if not PendingEvent.objects.filter(created_at__lt=cutoff).exists():
            return 0
    else:
        _silence_doorbell()
    dispatcher = delivery.dispatcher()
    deadline = time.monotonic() + max_seconds
    total = 0
    limit = BATCH
    while True:
        room = dispatcher.wait_for_room(MAX_BACKLOG, max(0.0, deadline - time.monotonic()))
        if room:
            taken, rows = delivery.fan_out_pending(limit=limit)
            total += taken
            if rows:
                dispatcher.submit(delivery.Job.of(row) for row in rows)
            if not taken:
                return total
            if taken == limit:
                # More are waiting: let an idle worker drain beside this one
                # (disjoint batches) rather than one process taking them all.
                ring()
            # About BATCH_DELIVERIES deliveries per batch: 100 events with one
            # webhook each, 10 with twenty.
            limit = max(1, min(BATCH, BATCH_DELIVERIES * taken // max(1, len(rows))))
        if not room or time.monotonic() >= deadline:
            if not stale_only and PendingEvent.objects.exists():
                ring(force=True)
            return total

"""The outbox between the producer and the queue workers: one row per event, a doorbell task to take them.

The producer (``hooks.receivers.on_event``, when the event's transaction has
committed) calls ``push``: one INSERT of the envelope into ``PendingEvent``,
then ``ring``, which enqueues the django-q2 task ``hooks.tasks.drain_events``
unless one is already queued and not yet started (a flag in Django's cache,
set with ``add``). The worker's ``drain`` clears the flag first, then fans
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

import logging
import time
from datetime import timedelta
from typing import Any

import redis
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from .models import PendingEvent

logger = logging.getLogger(__name__)

DRAIN_TASK = "hooks.tasks.drain_events"
DELIVER_TASK = "hooks.tasks.deliver_event"
DOORBELL_KEY = "hooks:outbox:doorbell"
# A doorbell whose task never started (lost with a broker) stops muting new
# rings after this long.
DOORBELL_SECONDS = 10
# Events per fan-out transaction.
BATCH = 100
# A drain hands its worker back after this long (another drain is rung if work is left).
DRAIN_SECONDS = 30.0
# Deliveries a worker process holds (running or waiting their turn) before its drain waits for room.
MAX_BACKLOG = 2000
# The sweeper takes events that have waited this long (their doorbell was lost).
STALE_SECONDS = 5.0


def push(envelope: dict[str, Any]) -> None:
    """Store ``envelope`` for fan-out and make sure a worker will take it (the producer's whole path)."""
    row = PendingEvent(event_id=envelope["id"], event_name=envelope["event_name"], envelope=envelope)
    try:
        _insert(row)
    except DatabaseError:
        logger.warning("Cannot store event %s for delivery; enqueueing its fan-out directly", envelope["id"])
        from sublarr.queue import enqueue

        enqueue(DELIVER_TASK, envelope, task_name=f"hooks-{envelope['id']}")
        return
    transaction.on_commit(ring)


def _insert(row: PendingEvent) -> None:
    """One INSERT; the same envelope pushed twice is one event (the second insert is a no-op)."""
    if transaction.get_connection().in_atomic_block:
        PendingEvent.objects.bulk_create([row], ignore_conflicts=True)
        return
    # Autocommit, one statement: bulk_create would add a transaction around it (two more round trips).
    try:
        row.save(force_insert=True)
    except IntegrityError:
        if not PendingEvent.objects.filter(event_id=row.event_id).exists():
            raise


def _doorbell_redis() -> redis.Redis | None:
    """The Redis broker's connection (the doorbell lives beside the queue it rings), or None."""
    from sublarr.queue import broker

    connection = getattr(broker(), "connection", None)
    return connection if isinstance(connection, redis.Redis) else None


def _doorbell_key() -> str:
    from sublarr.queue import broker

    return f"{broker().list_key}:{DOORBELL_KEY}"


def _doorbell_add() -> bool:
    """Set the doorbell flag if it is not set; whether it was set now.

    On the Redis profile one ``SET NX EX`` on the broker's own connection
    (Django's RedisCache builds a client object on every call);
    otherwise Django's cache, shared by the machine's processes.
    """
    connection = _doorbell_redis()
    if connection is not None:
        return bool(connection.set(_doorbell_key(), 1, nx=True, ex=DOORBELL_SECONDS))
    return cache.add(DOORBELL_KEY, 1, DOORBELL_SECONDS)


def ring(*, force: bool = False) -> None:
    """Enqueue a drain task unless one is already queued and not yet started (``force``: in any case)."""
    try:
        if not force and not _doorbell_add():
            return
    except Exception:
        logger.warning("Cannot read the outbox doorbell; enqueueing a drain anyway", exc_info=True)
    from sublarr.queue import enqueue

    try:
        enqueue(DRAIN_TASK, task_name="hooks-drain")
    except Exception:
        # The event is stored: a worker's sweeper takes it within SUBLARR_DELIVERY_SWEEP_SECONDS.
        logger.warning("Cannot enqueue the fan-out of pending events; the workers' sweep will take them", exc_info=True)
        _silence_doorbell()


def _silence_doorbell() -> None:
    try:
        connection = _doorbell_redis()
        if connection is not None:
            connection.delete(_doorbell_key())
        else:
            cache.delete(DOORBELL_KEY)
    except Exception:
        logger.warning("Cannot clear the outbox doorbell; it expires within %s s", DOORBELL_SECONDS, exc_info=True)


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
    while True:
        room = dispatcher.wait_for_room(MAX_BACKLOG, max(0.0, deadline - time.monotonic()))
        if room:
            taken, rows = delivery.fan_out_pending(limit=BATCH)
            total += taken
            if rows:
                dispatcher.submit(delivery.Job.of(row) for row in rows)
            if not taken:
                return total
        if not room or time.monotonic() >= deadline:
            if not stale_only and PendingEvent.objects.exists():
                ring(force=True)
            return total

"""Drain and fan-out: events taken from the outbox become Delivery rows, handed to this process's dispatcher.

``drain`` (the django-q2 task ``hooks.tasks.drain_events``, rung by the
doorbell, and each worker's sweeper) takes batches of ``PendingEvent`` rows
(``fan_out_pending``): one transaction creates the Delivery rows of many
events — the first attempts already claimed by this process — and deletes
the events. The targets of an event come from ``hooks.subscriptions``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from events.catalog import HOOKABLE_EVENTS
from events.types import Envelope

from .. import bulk, doorbell, rollups
from ..models import Delivery, HookLog, HookType, NotificationConfig, PendingEvent, WebhookConfig
from ..subscriptions import Targets, load_targets, targets_for
from . import targets, worker
from .attempts import Job
from .holders import claimant_id

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


def _event_rows(envelope: Envelope, found: Targets, now: datetime) -> list[Delivery]:
    """The Delivery rows of one event, unsaved: pending per enabled target, skipped per auto-disabled webhook."""
    webhooks, hooks, notifications = found
    common = {
        "event_id": envelope["id"],
        "event_name": envelope["event_name"],
        "envelope": envelope,
        "next_attempt_at": now,
    }
    rows: list[Delivery] = []
    auto_disabling: list[WebhookConfig | NotificationConfig] = [*webhooks, *notifications]
    for target in auto_disabling:
        skipped = not target.enabled
        rows.append(
            Delivery(
                **common,
                hook_type=target.kind,
                **{target.target_field: target},
                max_attempts=target.attempt_budget,
                status=Delivery.Status.SKIPPED if skipped else Delivery.Status.PENDING,
                last_error=targets.skip_reason(target) if skipped else "",
                finished_at=now if skipped else None,
            )
        )
    rows.extend(Delivery(**common, hook_type=HookType.SCRIPT, hook=hook, max_attempts=1) for hook in hooks)
    return rows


def deliveries_create(*, envelope: Envelope, claim: bool = False) -> list[Delivery]:
    """Create the Delivery rows of one event (idempotent); return the ones to run (see ``deliveries_create_many``)."""
    return deliveries_create_many(envelopes=[envelope], claim=claim)


def deliveries_create_many(
    *, envelopes: list[Envelope], claim: bool = True, cached_targets: bool | None = None
) -> list[Delivery]:
    """Create the Delivery rows of these events (idempotent); return the ones to run, targets loaded.

    Every enabled script hook for each event, and every webhook for it or for
    ``*`` that is enabled or was disabled automatically — the latter get a
    ``skipped`` row and log entry, so the event can be redelivered later.

    With ``claim``, the rows to run are created already claimed for their
    first attempt (status running, attempt 1, a lease): the caller hands them
    to this process's dispatcher at once, and if this process dies they run
    elsewhere when the lease expires. Without, they are created pending and
    due. One INSERT for every row of every event.
    ``cached_targets`` (default: unless in a transaction) reads targets from
    the per-worker cache.
    """
    now = timezone.now()
    rows: list[Delivery] = []
    by_name: dict[str, Targets] = {}
    for envelope in envelopes:
        name = envelope["event_name"]
        if name not in HOOKABLE_EVENTS:
            continue
        if name not in by_name:  # one look-up per event name and batch
            by_name[name] = targets_for(name, cached=cached_targets)
        rows.extend(_event_rows(envelope, by_name[name], now))
    if not rows:
        return []
    pending = [row for row in rows if row.status == Delivery.Status.PENDING]
    holder = claimant_id() if claim else None
    for row in pending if claim else ():
        row.status = Delivery.Status.RUNNING
        row.attempts = 1
        row.lease_expires_at = now + timedelta(seconds=targets.lease_for(row.target))
        row.holder = holder
    try:
        with transaction.atomic():
            _insert_rows(rows)
            if len(pending) < len(rows):
                log_skipped([row for row in rows if row.status == Delivery.Status.SKIPPED], now)
    except IntegrityError:
        # Unique per (event, target): some fan-out ran before (the same event
        # queued twice, a task handed out again); create only what is
        # missing, unclaimed, and keep what exists.
        return [row for envelope in envelopes for row in _create_missing(envelope, now)]
    return pending


def _insert_rows(rows: list[Delivery]) -> None:
    """INSERT new Delivery rows and set their primary keys: on PostgreSQL one COPY with keys taken beforehand."""
    if not bulk.uses_copy():
        bulk.insert(Delivery, rows)  # keys set from the INSERT's RETURNING
        return
    # COPY returns nothing: the keys are taken from the table's sequence first
    # (one statement), not looked up afterwards by (event, target).
    for row, pk in zip(rows, bulk.next_ids(Delivery, len(rows)), strict=True):
        row.pk = pk
    bulk.insert(Delivery, rows, with_pk=True)
    for row in rows:
        row._state.adding = False
        row._state.db = Delivery.objects.db


def _create_missing(envelope: Envelope, now: datetime) -> list[Delivery]:
    """The idempotent path of one event's fan-out: its missing rows created pending; its pending rows."""
    name = envelope["event_name"]
    if name not in HOOKABLE_EVENTS:
        return []
    event_id = envelope["id"]
    rows = _event_rows(envelope, load_targets(name), now)
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        unlogged = Delivery.objects.filter(event_id=event_id, status=Delivery.Status.SKIPPED, logs__isnull=True)
        log_skipped(list(unlogged.select_related(*targets.FIELDS)), now)
    return list(
        Delivery.objects.select_related(*targets.FIELDS).filter(event_id=event_id, status=Delivery.Status.PENDING)
    )


def fan_out_pending(*, limit: int = 100) -> tuple[int, list[Delivery]]:
    """Take up to ``limit`` events from the outbox (``PendingEvent``), create their deliveries, delete them.

    One transaction: a worker killed half-way leaves the events in the
    outbox for the next one. On PostgreSQL concurrent workers take disjoint
    batches (``SKIP LOCKED``); SQLite runs one writer at a time. Returns
    (events taken, deliveries to run — created claimed, see ``deliveries_create_many``).
    """
    connection = transaction.get_connection()
    cached = not connection.in_atomic_block
    table = connection.ops.quote_name(PendingEvent._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with transaction.atomic(), connection.cursor() as cursor:
        # Two plain statements (the ORM's query building cost more than they do: issue #19).
        cursor.execute(f"SELECT id, envelope FROM {table} ORDER BY id LIMIT %s{lock}", [limit])  # noqa: S608 - identifiers only
        taken = cursor.fetchall()
        if not taken:
            return 0, []
        # JSON text on both databases (Django's psycopg connections load jsonb as text, for JSONField).
        envelopes: list[Envelope] = [json.loads(envelope) for _, envelope in taken]
        rows = deliveries_create_many(envelopes=envelopes, cached_targets=cached)
        ids = [pk for pk, _ in taken]
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)  # noqa: S608
    return len(taken), rows


def log_skipped(deliveries: list[Delivery], now: datetime) -> None:
    logs = HookLog.objects.bulk_create(
        [
            HookLog(
                hook_id=d.hook_id,
                webhook_id=d.webhook_id,
                notification_id=d.notification_id,
                delivery=d,
                hook_name=d.target.name,
                event_name=d.event_name,
                event_id=d.event_id,
                hook_type=d.hook_type,
                attempt=0,
                success=False,
                skipped=True,
                error=d.last_error,
                triggered_at=now,
            )
            for d in deliveries
        ]
    )
    rollups.hours_add(rollups.tally_logs(logs))  # counted for the health pages, in the same transaction


def drain(*, max_seconds: float = DRAIN_SECONDS, stale_only: bool = False) -> int:
    """Fan out pending events in batches until none is left, handing their deliveries to this process.

    Returns how many events were taken. Stops after ``max_seconds`` (ringing
    for another drain if events are left) and, while this process already
    holds ``MAX_BACKLOG`` deliveries, waits for room before taking more.
    ``stale_only`` (the sweeper): only if some event has waited ``STALE_SECONDS``.
    """
    if stale_only:
        cutoff = timezone.now() - timedelta(seconds=STALE_SECONDS)
        if not PendingEvent.objects.filter(created_at__lt=cutoff).exists():
            return 0
    else:
        doorbell.silence()
    dispatcher = worker.dispatcher()
    deadline = time.monotonic() + max_seconds
    total = 0
    limit = BATCH
    while True:
        room = dispatcher.wait_for_room(MAX_BACKLOG, max(0.0, deadline - time.monotonic()))
        if room:
            taken, rows = fan_out_pending(limit=limit)
            total += taken
            if rows:
                dispatcher.submit(Job.of(row) for row in rows)
            if not taken:
                return total
            if taken == limit:
                # More are waiting: let an idle worker drain beside this one
                # (disjoint batches) rather than one process taking them all.
                doorbell.ring()
            # About BATCH_DELIVERIES deliveries per batch: 100 events with one
            # webhook each, 10 with twenty.
            limit = max(1, min(BATCH, BATCH_DELIVERIES * taken // max(1, len(rows))))
        if not room or time.monotonic() >= deadline:
            if not stale_only and PendingEvent.objects.exists():
                doorbell.ring(force=True)
            return total

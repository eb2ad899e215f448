"""Test runs, redelivery and purge of finished deliveries (API, admin)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events.catalog import HOOKABLE_EVENTS
from events.errors import Conflict
from events.samples import sample_payload
from events.services import build_envelope

from ..models import Delivery, HookLog
from ..queue import enqueue
from . import targets
from .attempts import run_transport
from .record import result_fields

TEST_EVENT_FOR_ALL = "subtitle_downloaded"


class RedeliveryError(Conflict):
    """A redelivery that cannot be done now (the API's 409); the message is safe to show."""


def run_test(target: targets.AnyTarget) -> HookLog:
    """Deliver a sample event to ``target`` now, synchronously; log it with is_test=True.

    Uses ``events.samples.sample_payload`` of the target's first event (in
    catalog order; ``subtitle_downloaded`` for a ``*`` target). Neither the
    target's stats nor its failure count change; a disabled target is tested
    all the same, and a notification's quiet hours neither hold nor skip a
    test (``Transport.deliver_test``).
    """
    event = event_for_test(target)
    envelope = build_envelope(event, sample_payload(event))
    triggered_at = timezone.now()
    result, _error = run_transport(target, envelope, 1, test=True)
    return HookLog.objects.create(
        **{target.target_field: target},
        hook_name=target.name,
        event_name=event,
        event_id=envelope["id"],
        hook_type=target.kind,
        attempt=1,
        is_test=True,
        success=result.success,
        **result_fields(result),
        triggered_at=triggered_at,
    )


def event_for_test(target: targets.AnyTarget) -> str:
    """The event a test of ``target`` sends: its first event, ``subtitle_downloaded`` for ``*``."""
    listed = [name for name in target.event_names if name in HOOKABLE_EVENTS]
    return listed[0] if listed else TEST_EVENT_FOR_ALL


def _check_redeliverable(target: targets.AnyTarget | None) -> targets.AnyTarget:
    if target is None:
        raise RedeliveryError("The hook or webhook of this delivery no longer exists.")
    if not target.enabled:
        why = targets.disabled_reason(target)
        reason = f" ({why})" if why else ""
        raise RedeliveryError(f"{targets.label(target)} is disabled{reason}; enable it before redelivering.")
    return target


def _queued_again(budget: int, now: datetime) -> dict[str, Any]:
    """The fields of a delivery queued again, due now, with ``budget`` more attempts."""
    return {
        "status": Delivery.Status.PENDING,
        "next_attempt_at": now,
        "max_attempts": F("attempts") + budget,
        "lease_expires_at": None,
        "holder": None,
        "finished_at": None,
        "updated_at": now,
    }


def _kick_workers() -> None:
    enqueue("hooks.tasks.sweep_deliveries", task_name="hooks-sweep")


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Queue ``delivery`` again with a fresh retry budget (same event id, same ``webhook-id``)."""
    target = _check_redeliverable(delivery.webhook or delivery.hook or delivery.notification)
    now = timezone.now()
    updated = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status=Delivery.Status.RUNNING)
        .update(**_queued_again(target.attempt_budget, now))
    )
    if not updated:
        raise RedeliveryError("This delivery is being attempted right now; wait for its outcome.")
    transaction.on_commit(_kick_workers)
    delivery.refresh_from_db()
    return delivery


def redeliver_log(log: HookLog) -> Delivery:
    """Redeliver the event of one log entry to its hook or webhook."""
    if log.is_test:
        raise RedeliveryError("A test run cannot be redelivered; run the test again instead.")
    delivery = None
    if log.delivery_id is not None:
        delivery = Delivery.objects.select_related(*targets.FIELDS).filter(pk=log.delivery_id).first()
    if delivery is None:
        raise RedeliveryError("The delivery of this log entry no longer exists (deleted or purged).")
    return delivery_redeliver(delivery=delivery)


@transaction.atomic
def redeliver_target(target: targets.AnyTarget, *, since: datetime | None = None, until: datetime | None = None) -> int:
    """Queue again every failed or skipped delivery of ``target`` whose event arrived in [since, until].

    Returns how many were queued.
    """
    _check_redeliverable(target)
    if since and until and since > until:
        raise RedeliveryError("'since' must not be after 'until'.")
    deliveries = Delivery.objects.filter(
        **{target.target_field: target}, status__in=[Delivery.Status.FAILED, Delivery.Status.SKIPPED]
    )
    if since:
        deliveries = deliveries.filter(created_at__gte=since)
    if until:
        deliveries = deliveries.filter(created_at__lte=until)
    now = timezone.now()
    count = deliveries.update(**_queued_again(target.attempt_budget, now))
    if count:
        transaction.on_commit(_kick_workers)
    return count


def deliveries_purge(*, older_than_days: int | None = None, batch_size: int = 1000) -> int:
    """Delete finished deliveries older than SUBLARR_HOOK_LOG_RETENTION_DAYS; return how many.

    Their log rows stay (``HookLog.delivery`` becomes null: no longer redeliverable).
    Pending and running deliveries are never purged. Deleted in short batches.
    """
    days = older_than_days if older_than_days is not None else int(settings.SUBLARR_HOOK_LOG_RETENTION_DAYS)
    cutoff = timezone.now() - timedelta(days=days)
    finished = Delivery.objects.filter(
        status__in=[Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.SKIPPED],
        finished_at__lt=cutoff,
    )
    total = 0
    while True:
        ids = list(finished.values_list("id", flat=True)[:batch_size])
        if not ids:
            return total
        with transaction.atomic():
            HookLog.objects.filter(delivery_id__in=ids).update(delivery=None)
            total += Delivery.objects.filter(id__in=ids).delete()[0]

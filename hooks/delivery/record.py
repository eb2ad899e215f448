"""Recording outcomes: the HookLog row, the Delivery's new state, the target's stats, auto-disable, hook_executed.

The end of the chain: an attempt (``hooks.delivery.attempts``) produces an
``Outcome``; the dispatcher's writer thread records many in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events import emit_event

from .. import bulk, rollups, transports
from ..models import Delivery, HookLog, NotificationConfig, WebhookConfig
from ..subscriptions import subscriptions_changed
from ..transports import Result
from . import targets
from .holders import process_id

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """One finished attempt, waiting to be recorded."""

    delivery: Delivery
    target: targets.AnyTarget
    result: Result
    lease: datetime
    started_at: datetime
    finished_at: datetime
    status: str
    next_attempt_at: datetime
    skipped: bool = False
    # Put off by the target until then (``DeliveryHeld``: a notification's quiet hours).
    held_until: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status != Delivery.Status.PENDING

    @property
    def held(self) -> bool:
        """Put off by the target (a notification's quiet hours): not an attempt, not logged, no stats."""
        return self.held_until is not None


def deliveries_record(*, outcomes: list[Outcome]) -> datetime | None:
    """Record finished attempts in one transaction: log rows, delivery states, stats, hook_executed.

    Returns when the earliest retry among them is due (None if none is):
    the caller's dispatcher should look again then.

    Batching is what lets a worker keep up on SQLite: one commit, one log
    INSERT and one stats UPDATE per target for many attempts.
    """
    with transaction.atomic():
        bulk.insert(
            HookLog,
            [
                HookLog(
                    # Ids, not instances: the descriptors' checks cost more than the row's other fields.
                    hook_id=o.delivery.hook_id,
                    webhook_id=o.delivery.webhook_id,
                    notification_id=o.delivery.notification_id,
                    delivery_id=o.delivery.pk,
                    hook_name=o.target.name,
                    event_name=o.delivery.event_name,
                    event_id=o.delivery.event_id,
                    hook_type=o.delivery.hook_type,
                    attempt=o.delivery.attempts,
                    success=o.result.success,
                    will_retry=not o.final,
                    skipped=o.skipped,
                    **result_fields(o.result),
                    triggered_at=o.started_at,
                )
                for o in outcomes
                if not o.held
            ],
        )
        _roll_up(outcomes)
        plain = sorted((o for o in outcomes if o.status == Delivery.Status.SUCCEEDED), key=lambda o: o.delivery.pk)
        if plain:
            now = timezone.now()
            # Only rows this process still holds with these leases: a row handed
            # on (this process taken for dead) belongs to the attempt that replaced it.
            mine = _succeeded(plain, now)
            if mine != len(plain):
                logger.warning("%d deliveries: claim lost during the attempt; outcome logged only", len(plain) - mine)
        for o in outcomes:
            if o.status == Delivery.Status.SUCCEEDED:
                continue
            mine = Delivery.objects.filter(
                pk=o.delivery.pk, status=Delivery.Status.RUNNING, lease_expires_at=o.lease
            ).update(
                status=o.status,
                lease_expires_at=None,
                holder=None,
                next_attempt_at=o.next_attempt_at,
                last_error=o.result.error,
                finished_at=o.finished_at if o.final else None,
                updated_at=o.finished_at,
                **({"attempts": F("attempts") - 1} if o.held else {}),
            )
            if not mine:
                logger.warning("Delivery %s: lease lost during the attempt; its outcome is logged only", o.delivery.pk)
        by_target: dict[targets.Key, list[Outcome]] = {}
        for o in outcomes:
            if not o.skipped and not o.held:
                by_target.setdefault(targets.key_of(o.delivery), []).append(o)
        # In a fixed order: two workers' batches must lock the same rows in the same order (PostgreSQL deadlocks).
        for key in sorted(by_target):
            _update_stats(by_target[key])
        for o in outcomes:
            if o.final and not o.skipped:
                emit_event(
                    "hook_executed",
                    {
                        "hook_id": o.delivery.hook_id,
                        "webhook_id": o.delivery.webhook_id,
                        "notification_id": o.delivery.notification_id,
                        "hook_type": o.delivery.hook_type,
                        "event_name": o.delivery.event_name,
                        "success": o.result.success,
                        "duration_ms": o.result.duration_ms,
                    },
                )
    retries = [o.next_attempt_at for o in outcomes if not o.final]
    return min(retries) if retries else None


def _succeeded(plain: list[Outcome], now: datetime) -> int:
    """Mark these deliveries succeeded; how many were still this process's, with these leases.

    One plain UPDATE (the ORM's query building cost more than the statement:
    issue #19); values adapted by the backend as the ORM adapts them.
    """
    connection = transaction.get_connection()
    adapt = connection.ops.adapt_datetimefield_value
    ids = [o.delivery.pk for o in plain]
    leases = [adapt(lease) for lease in {o.lease for o in plain}]
    holder = Delivery._meta.get_field("holder").get_db_prep_value(process_id(), connection)
    marks = ", ".join
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Delivery._meta.db_table)} SET status = %s,"  # noqa: S608 - identifiers only
            " lease_expires_at = NULL, holder = NULL, last_error = '', finished_at = %s, updated_at = %s"
            f" WHERE id IN ({marks(['%s'] * len(ids))}) AND status = %s AND holder = %s"
            f" AND lease_expires_at IN ({marks(['%s'] * len(leases))})",
            [Delivery.Status.SUCCEEDED, adapt(now), adapt(now), *ids, Delivery.Status.RUNNING, holder, *leases],
        )
        return cursor.rowcount


def _roll_up(outcomes: list[Outcome]) -> None:
    """Count the attempts just logged into their targets' hours (``hooks.rollups``), in the same transaction."""
    tallies: dict[rollups.HourKey, rollups.Tally] = {}
    for o in outcomes:
        if o.held:
            continue
        kind, pk = targets.key_of(o.delivery)
        tally = tallies.setdefault((kind, pk, rollups.hour_of(o.started_at)), rollups.Tally())
        tally.add_row(
            success=o.result.success, skipped=o.skipped, duration_ms=max(0, o.result.duration_ms), at=o.started_at
        )
    rollups.hours_add(tallies)


def result_fields(result: Result) -> dict[str, Any]:
    return {
        "exit_code": result.exit_code,
        "status_code": result.status_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "error": result.error,
        "duration_ms": max(0, result.duration_ms),
        "request_headers": result.request_headers,
        "response_body": result.response_body,
        "response_headers": result.response_headers,
    }


def _failures_in_a_row(group: list[Outcome]) -> tuple[int, bool]:
    """(final failures since the last final success in ``group``, whether there was such a success)."""
    count, reset = 0, False
    for o in group:
        if not o.final:
            continue
        if o.result.success:
            count, reset = 0, True
        else:
            count += 1
    return count, reset


def _update_stats(group: list[Outcome]) -> None:
    """Per attempt: last_* and trigger_count. Per final outcome: consecutive_failures, auto-disable.

    ``group``: one target's outcomes, oldest first.
    """
    target, last = group[0].target, group[-1]
    failures, reset = _failures_in_a_row(group)
    in_a_row = failures if reset else F("consecutive_failures") + failures
    type(target).objects.filter(pk=target.pk).update(
        last_triggered_at=last.started_at,
        trigger_count=F("trigger_count") + len(group),
        consecutive_failures=in_a_row,
        **target.last_outcome_fields(last.result),
    )
    if failures and isinstance(target, WebhookConfig | NotificationConfig):
        _auto_disable(target, [o for o in group if o.final and not o.result.success])


def _auto_disable(target: WebhookConfig | NotificationConfig, final_failures: list[Outcome]) -> None:
    """Switch ``target`` off after a 410 Gone, or SUBLARR_WEBHOOK_DISABLE_AFTER final failures in a row."""
    reason = ""
    if any(o.result.extra.get("disable") for o in final_failures):
        reason = "Disabled automatically: the receiver answered 410 Gone."
    else:
        limit = int(settings.SUBLARR_WEBHOOK_DISABLE_AFTER)
        model = type(target)
        count = model.objects.filter(pk=target.pk).values_list("consecutive_failures", flat=True).first()
        if limit and count is not None and count >= limit:
            error = final_failures[-1].result.error
            reason = f"Disabled automatically after {count} failed deliveries in a row (last: {error})"
    if reason:
        disabled = (
            type(target)
            .objects.filter(pk=target.pk, enabled=True)
            .update(enabled=False, disabled_reason=reason[:255], disabled_at=timezone.now())
        )
        if disabled:
            logger.warning("%s %s disabled: %s", transports.for_target(target).label, target.pk, reason)
            transaction.on_commit(subscriptions_changed)

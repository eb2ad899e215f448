"""One attempt: claim the row, run the transport, record the outcome (log, state, stats, auto-disable)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events import emit_event
from events.types import Envelope

from .. import bulk
from ..models import Delivery, HookConfig, HookLog, WebhookConfig
from ..transports import HookError, Result
from .holders import claimant_id, process_id

logger = logging.getLogger(__name__)

# What the sweeper reads of a due delivery: (id, webhook id, hook id, webhook timeout, hook timeout).
Row = tuple[int, int | None, int | None, int | None, int | None]
ROW_FIELDS = ("id", "webhook_id", "hook_id", "webhook__timeout_seconds", "hook__timeout_seconds")


@dataclass(frozen=True)
class Job:
    """A delivery handed to the dispatcher; ``preloaded`` (fresh from the fan-out) saves a read."""

    delivery_id: int
    target: tuple[str, int]
    lease_seconds: float
    preloaded: Delivery | None = None
    # Created already claimed by the fan-out (status running, attempt 1, lease set).
    claimed: bool = False

    @classmethod
    def of(cls, delivery: Delivery) -> Job:
        target = delivery.target
        key = _target_key(delivery.webhook_id, delivery.hook_id)
        claimed = delivery.status == Delivery.Status.RUNNING
        return cls(delivery.pk, key, _lease_seconds(target), delivery, claimed)

    @classmethod
    def from_row(cls, row: Row) -> Job:
        delivery_id, webhook_id, hook_id, webhook_timeout, hook_timeout = row
        if webhook_id:
            return cls(delivery_id, _target_key(webhook_id, None), lease_seconds(webhook_timeout or 60, script=False))
        return cls(delivery_id, _target_key(None, hook_id), lease_seconds(hook_timeout or 300, script=True))


def _target_key(webhook_id: int | None, hook_id: int | None) -> tuple[str, int]:
    return ("webhook", webhook_id) if webhook_id else ("hook", hook_id or 0)


# --- Transports ------------------------------------------------------------


def _deliver(target: HookConfig | WebhookConfig, envelope: Envelope, *, attempt: int) -> Result:
    """Run the transport of ``target``'s kind; raise HookError on failure."""
    if isinstance(target, WebhookConfig):
        from ..transports import webhook

        return webhook.deliver(target, envelope, attempt=attempt)
    if importlib.util.find_spec("hooks.transports.script") is None:
        raise HookError("Script hooks cannot run: hooks.transports.script is not installed.", permanent=True)
    script = importlib.import_module("hooks.transports.script")
    return script.deliver(target, envelope, attempt=attempt)


def _run_transport(target: HookConfig | WebhookConfig, envelope: Envelope, attempt: int) -> tuple[Result, Any]:
    """(result, error) of one attempt; a bug in a transport is a failed attempt, not a lost one."""
    try:
        return _deliver(target, envelope, attempt=attempt), None
    except HookError as exc:
        return exc.result, exc
    except Exception as exc:
        logger.exception("Transport crashed delivering %s to %s", envelope.get("id"), target)
        error = HookError(f"Internal error: {type(exc).__name__}: {exc}")
        return error.result, error


def _target_label(target: HookConfig | WebhookConfig) -> str:
    return f"{'Webhook' if isinstance(target, WebhookConfig) else 'Script hook'} “{target.name}”"


def lease_seconds(timeout_seconds: int, *, script: bool) -> float:
    """How long a claimed attempt is protected: longer than the attempt can take."""
    # httpx bounds each phase (connect, write, read) by the timeout; a script
    # may wait for a free slot first. The grace covers logging and clock skew.
    slack = float(settings.SUBLARR_DELIVERY_LEASE_GRACE_SECONDS)
    if script:
        slack += float(getattr(settings, "SUBLARR_SCRIPT_SLOT_WAIT_SECONDS", 0))
    return 2 * float(timeout_seconds) + slack


def _lease_seconds(target: HookConfig | WebhookConfig) -> float:
    return lease_seconds(target.timeout_seconds, script=isinstance(target, HookConfig))


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before the attempt after ``attempt``: the schedule with ±20 % jitter, or longer if asked.

    A receiver's Retry-After (429/503) is honoured up to
    ``SUBLARR_WEBHOOK_RETRY_AFTER_MAX``; it never shortens the schedule.
    """
    schedule = settings.SUBLARR_WEBHOOK_RETRY_SCHEDULE
    base = float(schedule[min(attempt, len(schedule)) - 1]) if schedule else 0.0
    delay = base * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), float(settings.SUBLARR_WEBHOOK_RETRY_AFTER_MAX)))
    return delay


def _skip_reason(webhook: WebhookConfig) -> str:
    reason = f": {webhook.disabled_reason}" if webhook.disabled_reason else ""
    return f"Skipped: the webhook is disabled{reason}"


# --- One attempt -----------------------------------------------------------


def _claim(
    delivery_id: int, lease_seconds: float | None = None, preloaded: Delivery | None = None
) -> tuple[Delivery, datetime] | None:
    """Take ``delivery_id`` for one attempt; None when it is not due or someone else has it.

    ``lease_seconds`` and ``preloaded`` (the row as the fan-out just created
    it) save reads; the claim itself is always one conditional UPDATE.
    """
    if lease_seconds is None:
        row = Delivery.objects.select_related("webhook", "hook").filter(pk=delivery_id).first()
        if row is None:
            return None
        lease_seconds = _lease_seconds(row.target)
    now = timezone.now()
    lease = now + timedelta(seconds=lease_seconds)
    me = claimant_id()
    due = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    if preloaded is not None:
        due = due.filter(attempts=preloaded.attempts)
    claimed = due.update(
        status=Delivery.Status.RUNNING, lease_expires_at=lease, holder=me, attempts=F("attempts") + 1, updated_at=now
    )
    if claimed and preloaded is not None:
        preloaded.status = Delivery.Status.RUNNING
        preloaded.attempts += 1
        preloaded.lease_expires_at = lease
        preloaded.holder = me
        return preloaded, lease
    if not claimed:
        # The worker running this attempt died (its lease expired, or was
        # expired when it was found dead): run the same attempt again (same
        # number: it was never logged).
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=Delivery.Status.RUNNING, lease_expires_at__lt=now
        ).update(lease_expires_at=lease, holder=me, updated_at=now)
        if claimed:
            logger.warning("Delivery %s: its worker died or its lease expired, running its attempt again", delivery_id)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("webhook", "hook").get(pk=delivery_id)
    return delivery, lease


@dataclass
class Outcome:
    """One finished attempt, waiting to be recorded."""

    delivery: Delivery
    target: HookConfig | WebhookConfig
    result: Result
    lease: datetime
    started_at: datetime
    finished_at: datetime
    status: str
    next_attempt_at: datetime
    skipped: bool = False

    @property
    def final(self) -> bool:
        return self.status != Delivery.Status.PENDING


def _attempt(
    delivery_id: int, lease_seconds: float | None, preloaded: Delivery | None, *, claimed_already: bool = False
) -> Outcome | None:
    """Claim and run one attempt (nothing recorded yet); None if it was not ours to run."""
    if claimed_already and preloaded is not None and preloaded.lease_expires_at is not None:
        claimed: tuple[Delivery, datetime] | None = (preloaded, preloaded.lease_expires_at)
        now = timezone.now()
        if lease_seconds and preloaded.lease_expires_at - now < timedelta(seconds=lease_seconds / 2):
            # It waited for a free thread long enough to matter: renew the lease,
            # unless another worker already took the row over.
            renewed = now + timedelta(seconds=lease_seconds)
            if not Delivery.objects.filter(
                pk=delivery_id, status=Delivery.Status.RUNNING, lease_expires_at=preloaded.lease_expires_at
            ).update(lease_expires_at=renewed):
                return None
            preloaded.lease_expires_at = renewed
            claimed = (preloaded, renewed)
    else:
        claimed = _claim(delivery_id, lease_seconds, preloaded)
    if claimed is None:
        return None
    delivery, lease = claimed
    target = delivery.target
    started_at = timezone.now()
    if not target.enabled:
        reason = _skip_reason(target) if isinstance(target, WebhookConfig) else "Skipped: the script hook is disabled"
        result = Result(success=False, error=reason)
        status = Delivery.Status.SKIPPED
        return Outcome(delivery, target, result, lease, started_at, started_at, status, started_at, skipped=True)

    result, error = _run_transport(target, delivery.envelope, delivery.attempts)
    finished_at = timezone.now()
    next_at = finished_at
    if error is None:
        status = Delivery.Status.SUCCEEDED
    elif error.permanent or delivery.attempts >= delivery.max_attempts:
        status = Delivery.Status.FAILED
    else:
        status = Delivery.Status.PENDING
        next_at = finished_at + timedelta(seconds=retry_delay(delivery.attempts, result.retry_after))
    return Outcome(delivery, target, result, lease, started_at, finished_at, status, next_at)


def delivery_attempt(
    *, delivery_id: int, lease_seconds: float | None = None, preloaded: Delivery | None = None
) -> str | None:
    """Make and record one attempt of a due delivery; return its new status, or None if it was not ours."""
    outcome = _attempt(delivery_id, lease_seconds, preloaded)
    if outcome is None:
        return None
    deliveries_record(outcomes=[outcome])
    return outcome.status


def deliveries_record(*, outcomes: list[Outcome]) -> None:
    """Record finished attempts in one transaction: log rows, delivery states, stats, hook_executed.

    Batching is what lets a worker keep up on SQLite: one commit, one log
    INSERT and one stats UPDATE per target for many attempts.
    """
    with transaction.atomic():
        bulk.insert(
            HookLog,
            [
                HookLog(
                    hook=o.delivery.hook,
                    webhook=o.delivery.webhook,
                    delivery=o.delivery,
                    hook_name=o.target.name,
                    event_name=o.delivery.event_name,
                    event_id=o.delivery.event_id,
                    hook_type=o.delivery.hook_type,
                    attempt=o.delivery.attempts,
                    success=o.result.success,
                    will_retry=not o.final,
                    skipped=o.skipped,
                    **_result_fields(o.result),
                    triggered_at=o.started_at,
                )
                for o in outcomes
            ],
        )
        plain = sorted((o for o in outcomes if o.status == Delivery.Status.SUCCEEDED), key=lambda o: o.delivery.pk)
        if plain:
            now = timezone.now()
            # Only rows this process still holds with these leases: a row handed
            # on (this process taken for dead) belongs to the attempt that replaced it.
            mine = Delivery.objects.filter(
                pk__in=[o.delivery.pk for o in plain],
                status=Delivery.Status.RUNNING,
                holder=process_id(),
                lease_expires_at__in={o.lease for o in plain},
            ).update(
                status=Delivery.Status.SUCCEEDED,
                lease_expires_at=None,
                holder=None,
                last_error="",
                finished_at=now,
                updated_at=now,
            )
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
            )
            if not mine:
                logger.warning("Delivery %s: lease lost during the attempt; its outcome is logged only", o.delivery.pk)
        by_target: dict[tuple[str, int], list[Outcome]] = {}
        for o in outcomes:
            if not o.skipped:
                by_target.setdefault(_target_key(o.delivery.webhook_id, o.delivery.hook_id), []).append(o)
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
                        "hook_type": o.delivery.hook_type,
                        "event_name": o.delivery.event_name,
                        "success": o.result.success,
                        "duration_ms": o.result.duration_ms,
                    },
                )
    retries = [o.next_attempt_at for o in outcomes if not o.final]
    if retries:
        _wake_local(min(retries))


def _wake_local(when: datetime) -> None:
    """Tell this process's dispatcher, if it has one, about a retry it should not wait long for."""
    from . import worker

    current = worker._dispatcher
    if current is not None and current.pid == os.getpid():
        current.wake_at(when)


def _result_fields(result: Result) -> dict[str, Any]:
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
    if isinstance(target, HookConfig):
        if last.result.success:
            last_status = HookConfig.Status.SUCCESS
        elif last.result.extra.get("timed_out"):
            last_status = HookConfig.Status.TIMEOUT
        else:
            last_status = HookConfig.Status.FAILED
        HookConfig.objects.filter(pk=target.pk).update(
            last_triggered_at=last.started_at,
            last_status=last_status,
            trigger_count=F("trigger_count") + len(group),
            consecutive_failures=in_a_row,
        )
        return
    WebhookConfig.objects.filter(pk=target.pk).update(
        last_triggered_at=last.started_at,
        last_status_code=last.result.status_code,
        last_error=last.result.error,
        trigger_count=F("trigger_count") + len(group),
        consecutive_failures=in_a_row,
    )
    if not failures:
        return
    final_failures = [o for o in group if o.final and not o.result.success]
    reason = ""
    if any(o.result.extra.get("disable") for o in final_failures):
        reason = "Disabled automatically: the receiver answered 410 Gone."
    else:
        limit = int(settings.SUBLARR_WEBHOOK_DISABLE_AFTER)
        count = WebhookConfig.objects.filter(pk=target.pk).values_list("consecutive_failures", flat=True).first()
        if limit and count is not None and count >= limit:
            error = final_failures[-1].result.error
            reason = f"Disabled automatically after {count} failed deliveries in a row (last: {error})"
    if reason:
        disabled = WebhookConfig.objects.filter(pk=target.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:255], disabled_at=timezone.now()
        )
        if disabled:
            logger.warning("Webhook %s disabled: %s", target.pk, reason)
            from ..receivers import subscriptions_changed

            transaction.on_commit(subscriptions_changed)

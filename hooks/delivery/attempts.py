"""One attempt: claim the row, run the transport of its target's kind, and say what happened (an ``Outcome``).

Nothing is recorded here: the dispatcher's writer (``hooks.delivery.worker``)
hands outcomes to ``hooks.delivery.record``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from events.types import Envelope

from .. import transports
from ..models import Delivery, HookConfig, NotificationConfig, WebhookConfig
from ..transports import DeliveryHeld, DeliverySkipped, HookError, Result
from . import targets
from .holders import claimant_id
from .record import Outcome

logger = logging.getLogger(__name__)

# What the sweeper reads of a due delivery: (id, webhook id, hook id, notification id,
# webhook timeout, hook timeout, notification timeout).
Row = tuple[int, int | None, int | None, int | None, int | None, int | None, int | None]
ROW_FIELDS = (
    "id",
    "webhook_id",
    "hook_id",
    "notification_id",
    "webhook__timeout_seconds",
    "hook__timeout_seconds",
    "notification__timeout_seconds",
)


@dataclass(frozen=True)
class Job:
    """A delivery handed to the dispatcher; ``preloaded`` (fresh from the fan-out) saves a read."""

    delivery_id: int
    target: targets.Key
    lease_seconds: float
    preloaded: Delivery | None = None
    # Created already claimed by the fan-out (status running, attempt 1, lease set).
    claimed: bool = False

    @classmethod
    def of(cls, delivery: Delivery) -> Job:
        target = delivery.target
        key = targets.key_of(delivery)
        claimed = delivery.status == Delivery.Status.RUNNING
        return cls(delivery.pk, key, targets.lease_for(target), delivery, claimed)

    @classmethod
    def from_row(cls, row: Row) -> Job:
        delivery_id, webhook_id, hook_id, notification_id, webhook_timeout, hook_timeout, notification_timeout = row
        if webhook_id:
            lease = targets.lease_seconds(WebhookConfig.kind, webhook_timeout or 60)
            return cls(delivery_id, targets.key(webhook_id, None), lease)
        if notification_id:
            lease = targets.lease_seconds(NotificationConfig.kind, notification_timeout or 60)
            return cls(delivery_id, targets.key(None, None, notification_id), lease)
        return cls(delivery_id, targets.key(None, hook_id), targets.lease_seconds(HookConfig.kind, hook_timeout or 300))


# --- Transports ------------------------------------------------------------


def run_transport(
    target: targets.AnyTarget, envelope: Envelope, attempt: int, *, test: bool = False
) -> tuple[Result, HookError | None]:
    """(result, error) of one attempt (``test``: a test run's).

    A bug in a transport is a failed attempt, not a lost one.
    """
    transport = transports.for_target(target)
    try:
        if test:
            return transport.deliver_test(target, envelope), None
        return transport.deliver(target, envelope, attempt=attempt), None
    except HookError as exc:
        return exc.result, exc
    except Exception as exc:
        logger.exception("Transport crashed delivering %s to %s", envelope.get("id"), target)
        error = HookError(f"Internal error: {type(exc).__name__}: {exc}")
        return error.result, error


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


# --- One attempt -----------------------------------------------------------


def claim(
    delivery_id: int, lease_seconds: float | None = None, preloaded: Delivery | None = None
) -> tuple[Delivery, datetime] | None:
    """Take ``delivery_id`` for one attempt; None when it is not due or someone else has it.

    ``lease_seconds`` and ``preloaded`` (the row as the fan-out just created
    it) save reads; the claim itself is always one conditional UPDATE.
    """
    if lease_seconds is None:
        row = Delivery.objects.select_related(*targets.FIELDS).filter(pk=delivery_id).first()
        if row is None:
            return None
        lease_seconds = targets.lease_for(row.target)
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
    delivery = Delivery.objects.select_related(*targets.FIELDS).get(pk=delivery_id)
    return delivery, lease


def attempt(
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
        claimed = claim(delivery_id, lease_seconds, preloaded)
    if claimed is None:
        return None
    delivery, lease = claimed
    target = delivery.target
    started_at = timezone.now()
    if not target.enabled:
        result = Result(success=False, error=targets.skip_reason(target))
        status = Delivery.Status.SKIPPED
        return Outcome(delivery, target, result, lease, started_at, started_at, status, started_at, skipped=True)

    result, error = run_transport(target, delivery.envelope, delivery.attempts)
    finished_at = timezone.now()
    next_at = finished_at
    if isinstance(error, DeliveryHeld):
        # Held (a notification's quiet hours): due again when asked, this attempt not counted, nothing logged.
        status = Delivery.Status.PENDING
        until = error.until
        return Outcome(delivery, target, result, lease, started_at, finished_at, status, until, held_until=until)
    if isinstance(error, DeliverySkipped):
        status = Delivery.Status.SKIPPED
        return Outcome(delivery, target, result, lease, started_at, finished_at, status, finished_at, skipped=True)
    if error is None:
        status = Delivery.Status.SUCCEEDED
    elif error.permanent or delivery.attempts >= delivery.max_attempts:
        status = Delivery.Status.FAILED
    else:
        status = Delivery.Status.PENDING
        next_at = finished_at + timedelta(seconds=retry_delay(delivery.attempts, result.retry_after))
    return Outcome(delivery, target, result, lease, started_at, finished_at, status, next_at)

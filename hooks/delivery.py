"""Durable delivery of events to script hooks and webhooks (DESIGN.md §2, §4).

The unit of work is a ``Delivery`` row: one per (event, hook or webhook),
created by the worker-side fan-out of events waiting in the outbox
(``fan_out_pending``, many events per transaction; see ``hooks.outbox``). An
attempt:

1. holds a claim on the row — a lease longer than the attempt can take, so
   two workers never run the same attempt. First attempts are created
   already claimed by the fan-out; a retry (``pending`` and due) or an
   orphan (``running`` with an expired lease: its worker died) is claimed
   with a conditional UPDATE;
2. runs the transport (``hooks.transports.webhook`` or ``.script``);
3. records the outcome (``deliveries_record``), in one transaction: a HookLog
   row, the row moved to succeeded / failed / pending-with-``next_attempt_at``
   (the retry lives in the database, not in a sleeping worker), the target's
   stats, auto-disable (410, or ``SUBLARR_WEBHOOK_DISABLE_AFTER`` failed
   deliveries in a row), and ``hook_executed`` for a final outcome, sent on
   commit.

Each worker process runs a ``Dispatcher``: a bounded thread pool for the
attempts (at most ``SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY`` at once per hook
or webhook, so a hanging receiver cannot take every slot), one writer thread
that records outcomes as they come — many per transaction under load (group
commit) — and a sweeper thread that picks up due retries, expired leases and outbox
events whose drain task was lost.
The sweeper sleeps until the next due time it knows of, at most
``SUBLARR_DELIVERY_SWEEP_SECONDS``, and starts with every worker process
(django-q2's ``post_spawn``), so work that fell due while every process was
down runs as soon as a worker is back. Delivery is at-least-once: an attempt
cut short by a crash (before its outcome was committed) runs again once its
lease expires, with the same ``webhook-id``.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import logging
import multiprocessing.util
import os
import queue
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from events import emit_event
from events.catalog import HOOKABLE_EVENTS
from events.samples import sample_payload
from events.services import build_envelope

from .models import Delivery, HookConfig, HookLog, HookType, PendingEvent, WebhookConfig
from .transports import HookError, Result

logger = logging.getLogger(__name__)

TEST_EVENT_FOR_ALL = "subtitle_downloaded"
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
        target = delivery.webhook or delivery.hook
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


class RedeliveryError(ValueError):
    """A redelivery that cannot be done; the message is safe to show."""


# --- Transports ------------------------------------------------------------


def _deliver(target: HookConfig | WebhookConfig, envelope: dict[str, Any], *, attempt: int) -> Result:
    """Run the transport of ``target``'s kind; raise HookError on failure."""
    if isinstance(target, WebhookConfig):
        from .transports import webhook

        return webhook.deliver(target, envelope, attempt=attempt)
    if importlib.util.find_spec("hooks.transports.script") is None:
        raise HookError("Script hooks cannot run: hooks.transports.script is not installed.", permanent=True)
    script = importlib.import_module("hooks.transports.script")
    return script.deliver(target, envelope, attempt=attempt)


def _run_transport(target: HookConfig | WebhookConfig, envelope: dict[str, Any], attempt: int) -> tuple[Result, Any]:
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


# --- Fan-out ---------------------------------------------------------------


def _skip_reason(webhook: WebhookConfig) -> str:
    reason = f": {webhook.disabled_reason}" if webhook.disabled_reason else ""
    return f"Skipped: the webhook is disabled{reason}"


def _load_targets(name: str) -> tuple[list[WebhookConfig], list[HookConfig]]:
    webhooks = WebhookConfig.objects.filter(Q(event_name=name) | Q(event_name=WebhookConfig.ALL_EVENTS)).filter(
        Q(enabled=True) | ~Q(disabled_reason="")
    )
    return list(webhooks), list(HookConfig.objects.filter(event_name=name, enabled=True))


@dataclass
class _TargetCache:
    version: str | None = None
    loaded_at: float = float("-inf")
    by_event: dict[str, tuple[list[WebhookConfig], list[HookConfig]]] | None = None


_targets = _TargetCache()
TARGET_CACHE_MAX_AGE = 30.0


def _targets_for(name: str, *, cached: bool | None = None) -> tuple[list[WebhookConfig], list[HookConfig]]:
    """The webhooks and script hooks of event ``name``: a per-process cache validated on every call.

    The cache holds only what the fan-out reads (which targets, their settings);
    it is valid while the subscription version stamp in Django's cache — bumped
    on commit of every HookConfig / WebhookConfig save or delete and of every
    auto-disable — is the one it was loaded under, and for at most
    ``TARGET_CACHE_MAX_AGE`` seconds. One cache read per event instead of two
    queries. Inside a transaction (a caller's atomic block, the test suite)
    unless ``cached`` says otherwise, or when the stamp cannot be read, the
    database is read as before.
    """
    global _targets
    if cached is None:
        cached = not transaction.get_connection().in_atomic_block
    if not cached:
        return _load_targets(name)
    from .receivers import subscription_version

    version = subscription_version()
    if version is None:
        return _load_targets(name)
    now = time.monotonic()
    current = _targets
    if current.version != version or current.by_event is None or now - current.loaded_at > TARGET_CACHE_MAX_AGE:
        current = _targets = _TargetCache(version, now, {})
    assert current.by_event is not None
    found = current.by_event.get(name)
    if found is None:
        found = current.by_event[name] = _load_targets(name)
    return found


def _event_rows(
    envelope: dict[str, Any], targets: tuple[list[WebhookConfig], list[HookConfig]], now: datetime
) -> list[Delivery]:
    """The Delivery rows of one event, unsaved: pending per enabled target, skipped per auto-disabled webhook."""
    webhooks, hooks = targets
    common = {
        "event_id": envelope["id"],
        "event_name": envelope["event_name"],
        "envelope": envelope,
        "next_attempt_at": now,
    }
    rows: list[Delivery] = []
    for webhook in webhooks:
        skipped = not webhook.enabled
        rows.append(
            Delivery(
                **common,
                hook_type=HookType.WEBHOOK,
                webhook=webhook,
                max_attempts=webhook.retry_count + 1,
                status=Delivery.Status.SKIPPED if skipped else Delivery.Status.PENDING,
                last_error=_skip_reason(webhook) if skipped else "",
                finished_at=now if skipped else None,
            )
        )
    rows.extend(Delivery(**common, hook_type=HookType.SCRIPT, hook=hook, max_attempts=1) for hook in hooks)
    return rows


def deliveries_create(*, envelope: dict[str, Any], claim: bool = False) -> list[Delivery]:
    """Create the Delivery rows of one event (idempotent); return the ones to run (see ``deliveries_create_many``)."""
    return deliveries_create_many(envelopes=[envelope], claim=claim)


def deliveries_create_many(
    *, envelopes: list[dict[str, Any]], claim: bool = True, cached_targets: bool | None = None
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
    targets: dict[str, tuple[list[WebhookConfig], list[HookConfig]]] = {}
    for envelope in envelopes:
        name = envelope["event_name"]
        if name not in HOOKABLE_EVENTS:
            continue
        if name not in targets:  # one look-up per event name and batch
            targets[name] = _targets_for(name, cached=cached_targets)
        rows.extend(_event_rows(envelope, targets[name], now))
    if not rows:
        return []
    pending = [row for row in rows if row.status == Delivery.Status.PENDING]
    for row in pending if claim else ():
        row.status = Delivery.Status.RUNNING
        row.attempts = 1
        row.lease_expires_at = now + timedelta(seconds=_lease_seconds(row.webhook or row.hook))
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create(rows)
            _log_skipped([row for row in rows if row.status == Delivery.Status.SKIPPED], now)
    except IntegrityError:
        # Unique per (event, target): some fan-out ran before (the same event
        # queued twice, a task handed out again); create only what is
        # missing, unclaimed, and keep what exists.
        return [row for envelope in envelopes for row in _create_missing(envelope, now)]
    return pending


def _create_missing(envelope: dict[str, Any], now: datetime) -> list[Delivery]:
    """The idempotent path of one event's fan-out: its missing rows created pending; its pending rows."""
    name = envelope["event_name"]
    if name not in HOOKABLE_EVENTS:
        return []
    event_id = envelope["id"]
    rows = _event_rows(envelope, _load_targets(name), now)
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        unlogged = Delivery.objects.filter(event_id=event_id, status=Delivery.Status.SKIPPED, logs__isnull=True)
        _log_skipped(list(unlogged.select_related("webhook")), now)
    return list(
        Delivery.objects.select_related("webhook", "hook").filter(event_id=event_id, status=Delivery.Status.PENDING)
    )


def fan_out_pending(*, limit: int = 100) -> tuple[int, list[Delivery]]:
    """Take up to ``limit`` events from the outbox (``PendingEvent``), create their deliveries, delete them.

    One transaction: a worker killed half-way leaves the events in the
    outbox for the next one. On PostgreSQL concurrent workers take disjoint
    batches (``SKIP LOCKED``); SQLite runs one writer at a time. Returns
    (events taken, deliveries to run — created claimed, see ``deliveries_create_many``).
    """
    cached = not transaction.get_connection().in_atomic_block
    with transaction.atomic():
        events = PendingEvent.objects.order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            events = events.select_for_update(skip_locked=True)
        taken = list(events.values_list("id", "envelope")[:limit])
        if not taken:
            return 0, []
        rows = deliveries_create_many(envelopes=[envelope for _, envelope in taken], cached_targets=cached)
        PendingEvent.objects.filter(pk__in=[pk for pk, _ in taken]).delete()
    return len(taken), rows


def _log_skipped(deliveries: list[Delivery], now: datetime) -> None:
    HookLog.objects.bulk_create(
        [
            HookLog(
                webhook_id=d.webhook_id,
                delivery=d,
                hook_name=d.webhook.name,
                event_name=d.event_name,
                event_id=d.event_id,
                hook_type=HookType.WEBHOOK,
                attempt=0,
                success=False,
                skipped=True,
                error=d.last_error,
                triggered_at=now,
            )
            for d in deliveries
        ]
    )


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
        lease_seconds = _lease_seconds(row.webhook or row.hook)
    now = timezone.now()
    lease = now + timedelta(seconds=lease_seconds)
    due = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    if preloaded is not None:
        due = due.filter(attempts=preloaded.attempts)
    claimed = due.update(
        status=Delivery.Status.RUNNING, lease_expires_at=lease, attempts=F("attempts") + 1, updated_at=now
    )
    if claimed and preloaded is not None:
        preloaded.status = Delivery.Status.RUNNING
        preloaded.attempts += 1
        preloaded.lease_expires_at = lease
        return preloaded, lease
    if not claimed:
        # The worker running this attempt died: run the same attempt again
        # (same number: it was never logged).
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=Delivery.Status.RUNNING, lease_expires_at__lt=now
        ).update(lease_expires_at=lease, updated_at=now)
        if claimed:
            logger.warning("Delivery %s: lease expired, running its attempt again", delivery_id)
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
    target: HookConfig | WebhookConfig = delivery.webhook or delivery.hook
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
        HookLog.objects.bulk_create(
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
            ]
        )
        plain = sorted((o for o in outcomes if o.status == Delivery.Status.SUCCEEDED), key=lambda o: o.delivery.pk)
        if plain:
            now = timezone.now()
            Delivery.objects.filter(pk__in=[o.delivery.pk for o in plain], status=Delivery.Status.RUNNING).update(
                status=Delivery.Status.SUCCEEDED, lease_expires_at=None, last_error="", finished_at=now, updated_at=now
            )
        for o in outcomes:
            if o.status == Delivery.Status.SUCCEEDED:
                continue
            mine = Delivery.objects.filter(
                pk=o.delivery.pk, status=Delivery.Status.RUNNING, lease_expires_at=o.lease
            ).update(
                status=o.status,
                lease_expires_at=None,
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
    current = _dispatcher
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
            from .receivers import subscriptions_changed

            transaction.on_commit(subscriptions_changed)


# --- Test runs and redelivery (API, admin) ----------------------------------


def run_test(target: HookConfig | WebhookConfig) -> HookLog:
    """Deliver a sample event to ``target`` now, synchronously; log it with is_test=True.

    Uses ``events.samples.sample_payload`` (``subtitle_downloaded`` for a ``*``
    webhook). Neither the target's stats nor its failure count change, and a
    disabled target is tested all the same.
    """
    event = target.event_name
    if event == WebhookConfig.ALL_EVENTS or event not in HOOKABLE_EVENTS:
        event = TEST_EVENT_FOR_ALL
    envelope = build_envelope(event, sample_payload(event))
    triggered_at = timezone.now()
    result, _error = _run_transport(target, envelope, 1)
    is_webhook = isinstance(target, WebhookConfig)
    return HookLog.objects.create(
        hook=None if is_webhook else target,
        webhook=target if is_webhook else None,
        hook_name=target.name,
        event_name=event,
        event_id=envelope["id"],
        hook_type=HookType.WEBHOOK if is_webhook else HookType.SCRIPT,
        attempt=1,
        is_test=True,
        success=result.success,
        **_result_fields(result),
        triggered_at=triggered_at,
    )


def _check_redeliverable(target: HookConfig | WebhookConfig | None) -> HookConfig | WebhookConfig:
    if target is None:
        raise RedeliveryError("The hook or webhook of this delivery no longer exists.")
    if not target.enabled:
        reason = f" ({target.disabled_reason})" if getattr(target, "disabled_reason", "") else ""
        raise RedeliveryError(f"{_target_label(target)} is disabled{reason}; enable it before redelivering.")
    return target


def _attempt_budget(target: HookConfig | WebhookConfig) -> int:
    return target.retry_count + 1 if isinstance(target, WebhookConfig) else 1


def _kick_workers() -> None:
    from sublarr.queue import enqueue

    enqueue("hooks.tasks.sweep_deliveries", task_name="hooks-sweep")


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Queue ``delivery`` again with a fresh retry budget (same event id, same ``webhook-id``)."""
    target = _check_redeliverable(delivery.webhook or delivery.hook)
    now = timezone.now()
    updated = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status=Delivery.Status.RUNNING)
        .update(
            status=Delivery.Status.PENDING,
            next_attempt_at=now,
            max_attempts=F("attempts") + _attempt_budget(target),
            lease_expires_at=None,
            finished_at=None,
            updated_at=now,
        )
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
    delivery = Delivery.objects.select_related("webhook", "hook").filter(pk=log.delivery_id).first()
    if delivery is None:
        raise RedeliveryError("The delivery of this log entry no longer exists (deleted or purged).")
    return delivery_redeliver(delivery=delivery)


@transaction.atomic
def redeliver_webhook(webhook: WebhookConfig, *, since: datetime | None = None, until: datetime | None = None) -> int:
    """Queue again every failed or skipped delivery of ``webhook`` whose event arrived in [since, until].

    Returns how many were queued.
    """
    _check_redeliverable(webhook)
    if since and until and since > until:
        raise RedeliveryError("'since' must not be after 'until'.")
    deliveries = Delivery.objects.filter(webhook=webhook, status__in=[Delivery.Status.FAILED, Delivery.Status.SKIPPED])
    if since:
        deliveries = deliveries.filter(created_at__gte=since)
    if until:
        deliveries = deliveries.filter(created_at__lte=until)
    now = timezone.now()
    count = deliveries.update(
        status=Delivery.Status.PENDING,
        next_attempt_at=now,
        max_attempts=F("attempts") + _attempt_budget(webhook),
        lease_expires_at=None,
        finished_at=None,
        updated_at=now,
    )
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


# --- The per-process dispatcher -------------------------------------------


def due_deliveries(*, limit: int = 500) -> list[Row]:
    """Deliveries that may be claimed now: pending and due, or running with an expired lease."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Delivery.Status.RUNNING, lease_expires_at__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list(*ROW_FIELDS)[:limit]
    )


def next_due_at() -> datetime | None:
    """The earliest future time at which some delivery becomes claimable."""
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(t=Min("next_attempt_at"))["t"]
    leased = Delivery.objects.filter(status=Delivery.Status.RUNNING).aggregate(t=Min("lease_expires_at"))["t"]
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


class Dispatcher:
    """Runs delivery attempts in a bounded thread pool; a sweeper thread finds due work.

    At most ``SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY`` attempts per hook or
    webhook run at once in this process; the rest wait in that target's queue
    here. First attempts were claimed by the fan-out (if this process dies
    they run elsewhere once the lease expires); retries the sweeper found are
    claimed when they start, so another process may take them meanwhile.
    """

    MIN_SWEEP_GAP = 0.05
    MAX_BATCH = 200
    SWEEP_DRAIN_SECONDS = 5.0

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._executor = ThreadPoolExecutor(
            max_workers=int(settings.SUBLARR_DELIVERY_CONCURRENCY), thread_name_prefix="sublarr-delivery"
        )
        self._known: set[int] = set()
        self._running: Counter[tuple[str, int]] = Counter()
        self._waiting: dict[tuple[str, int], deque[Job]] = {}
        self._wake = threading.Event()
        self._wake_at: datetime | None = None
        self._sweeper: threading.Thread | None = None
        self._results: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._closed = False
        self._swept = False

    def start(self) -> None:
        """Start the sweeper and the writer threads (once); flush on process exit."""
        with self._lock:
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep_forever, name="sublarr-sweeper", daemon=True)
                self._sweeper.start()
                self._writer = threading.Thread(target=self._write_forever, name="sublarr-writer", daemon=True)
                self._writer.start()
                # django-q2 workers are multiprocessing children: they run
                # multiprocessing finalizers at exit, not atexit handlers.
                multiprocessing.util.Finalize(self, self.close, exitpriority=10)
                atexit.register(self.close)

    def close(self) -> None:
        """Finish the attempts under way and record every outcome (process exit, recycled worker)."""
        if self._closed or self.pid != os.getpid():
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        self._results.put(None)
        if self._writer is not None:
            self._writer.join(timeout=30)

    def submit(self, jobs: Iterable[Job]) -> int:
        """Run these deliveries here, each target's in order, at most N per target at once.

        Jobs over a target's limit wait in its queue here; claimed ones keep
        their lease (renewed when they start if they waited long).
        """
        cap = int(settings.SUBLARR_DELIVERY_PER_TARGET_CONCURRENCY)
        accepted = 0
        with self._lock:
            for job in jobs:
                if job.delivery_id in self._known:
                    continue
                self._known.add(job.delivery_id)
                accepted += 1
                if self._running[job.target] < cap:
                    self._running[job.target] += 1
                    self._executor.submit(self._run, job)
                else:
                    self._waiting.setdefault(job.target, deque()).append(job)
        return accepted

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Wait until fewer than ``limit`` deliveries are in hand (at most ``timeout`` s); whether they are."""
        deadline = time.monotonic() + timeout
        with self._room:
            while len(self._known) >= limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._room.wait(remaining)
        return True

    def wake_at(self, when: datetime | None = None) -> None:
        """Make the sweeper look for due work at ``when`` (now by default)."""
        with self._lock:
            if when is None or self._wake_at is None or when < self._wake_at:
                self._wake_at = when
        self._wake.set()

    def _run(self, job: Job) -> None:
        while True:
            try:
                outcome = _attempt(job.delivery_id, job.lease_seconds, job.preloaded, claimed_already=job.claimed)
                if outcome is not None:
                    self._results.put(outcome)
            except Exception:
                # The row keeps its lease and is retried when it expires.
                logger.exception("Delivery %s: attempt failed unexpectedly", job.delivery_id)
                close_old_connections()
            with self._lock:
                self._known.discard(job.delivery_id)
                self._room.notify_all()
                waiting = self._waiting.get(job.target)
                if not waiting:
                    self._waiting.pop(job.target, None)
                    self._running[job.target] -= 1
                    if self._running[job.target] <= 0:
                        del self._running[job.target]
                    return
                job = waiting.popleft()

    def _write_forever(self) -> None:
        """Record outcomes as they come, many per transaction when they come fast (group commit)."""
        while True:
            first = self._results.get()
            batch = [first] if first is not None else []
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    first = None
                    break
                batch.append(item)
            if batch:
                self._record(batch)
            if first is None:
                return

    def _record(self, batch: list[Outcome]) -> None:
        try:
            deliveries_record(outcomes=batch)
            return
        except Exception:
            logger.exception("Recording %d delivery outcomes failed; recording them one by one", len(batch))
            close_old_connections()
        for outcome in batch:
            try:
                deliveries_record(outcomes=[outcome])
            except Exception:
                # The row stays claimed: it runs again when its lease expires.
                logger.exception("Recording the outcome of delivery %s failed", outcome.delivery.pk)
                close_old_connections()

    def sweep(self) -> float:
        """Submit due deliveries and stale outbox events; return seconds until the sweeper should look again."""
        from . import outbox

        self.submit(Job.from_row(row) for row in due_deliveries())
        # The first sweep of a process takes every waiting event (left over from
        # a stop); later ones only events whose drain task was lost.
        outbox.drain(max_seconds=self.SWEEP_DRAIN_SECONDS, stale_only=self._swept)
        self._swept = True
        interval = float(settings.SUBLARR_DELIVERY_SWEEP_SECONDS)
        upcoming = next_due_at()
        with self._lock:
            if self._wake_at is not None and (upcoming is None or self._wake_at < upcoming):
                upcoming = self._wake_at
            self._wake_at = None
        if upcoming is None:
            return interval
        return min(interval, max(self.MIN_SWEEP_GAP, (upcoming - timezone.now()).total_seconds()))

    def _sweep_forever(self) -> None:
        while True:
            try:
                wait = self.sweep()
            except Exception:
                logger.exception("Delivery sweep failed; trying again shortly")
                wait = 1.0
            finally:
                close_old_connections()
            if self._wake.wait(wait):
                self._wake.clear()
                # Coalesce bursts of wake-ups into one query.
                time.sleep(self.MIN_SWEEP_GAP)


_dispatcher: Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def dispatcher() -> Dispatcher:
    """This process's dispatcher, created (and its sweeper started) on first use."""
    global _dispatcher
    current = _dispatcher
    if current is None or current.pid != os.getpid():
        with _dispatcher_lock:
            if _dispatcher is None or _dispatcher.pid != os.getpid():
                _dispatcher = Dispatcher()
                _dispatcher.start()
            current = _dispatcher
    return current

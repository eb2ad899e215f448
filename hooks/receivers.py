"""Event receivers: one durable outbox row per event that something is subscribed to.

The producer's path asks a per-process snapshot "is any hook or webhook
subscribed to this event?" and, only if so, queues the event once: one outbox
row, written before ``emit_event`` returns — inside the producer's
transaction when it emits in one (``on_event_accepted``, on
``events.signals.event_accepted``); then, when the catalog signal is sent on
commit (``on_event``), a drain task is rung if none is waiting, and a worker
fans out. With nothing
subscribed the answer costs a dict lookup: no query, no cache or broker round
trip.

Staleness of the snapshot, bounded:

* the process that saves a HookConfig / WebhookConfig drops its snapshot on
  commit and bumps a version stamp in Django's cache (shared by every process);
* other processes read that stamp at most once every
  ``SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS`` (1 s by default; 0 = on every
  event) and reload from the database when it changed. So an event emitted in
  *another* process less than that long after the first webhook for it was
  created may not be delivered to it. Stale in the other direction (a webhook
  just removed) costs only an outbox row: the worker's fan-out reads the database
  (or its per-worker cache, valid only while this same stamp is unchanged).

If the cache or database cannot be read, every event is treated as
subscribed (the worker decides), never silently dropped.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from events.bridge import redact
from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS
from events.signals import event_accepted
from events.types import Envelope

logger = logging.getLogger(__name__)

VERSION_KEY = "hooks:subscriptions:version"


@dataclass(frozen=True)
class Snapshot:
    events: frozenset[str] = frozenset()
    everything: bool = False
    version: str | None = None
    checked: float = float("-inf")
    loaded: bool = False


_snapshot = Snapshot()


@dataclass
class _Stats:
    refreshes: int = 0
    reloads: int = 0
    enqueued: int = 0


stats = _Stats()


def _load(version: str | None, now: float) -> Snapshot:
    from .models import HookConfig, WebhookConfig

    # Automatically disabled webhooks stay subscribed: their events are logged as skipped.
    names = set(
        WebhookConfig.objects.filter(Q(enabled=True) | ~Q(disabled_reason="")).values_list("event_name", flat=True)
    )
    names |= set(HookConfig.objects.filter(enabled=True).values_list("event_name", flat=True))
    everything = WebhookConfig.ALL_EVENTS in names
    stats.reloads += 1
    return Snapshot(frozenset(names), everything, version, now, True)


def _current_version() -> str | None:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(VERSION_KEY, version, None):
            version = cache.get(VERSION_KEY)
    return version


def subscription_version() -> str | None:
    """The version stamp of hook/webhook configuration (changes on commit of every change); None if unreadable."""
    try:
        return _current_version()
    except Exception:
        logger.warning("Cannot read the hook subscription version", exc_info=True)
        return None


def _refresh(now: float) -> Snapshot:
    global _snapshot
    stats.refreshes += 1
    current = _snapshot
    try:
        version = _current_version()
        if current.loaded and version == current.version:
            fresh = Snapshot(current.events, current.everything, version, now, True)
        else:
            fresh = _load(version, now)
    except Exception as exc:
        _log_unreadable(exc, now)
        fresh = Snapshot(frozenset(), True, None, now, False)
    _snapshot = fresh
    return fresh


# An outage is one line a minute per process, not a traceback per refresh.
UNREADABLE_LOG_INTERVAL = 60.0
_unreadable_logged = float("-inf")


def _log_unreadable(exc: Exception, now: float) -> None:
    global _unreadable_logged
    if now - _unreadable_logged < UNREADABLE_LOG_INTERVAL:
        return
    _unreadable_logged = now
    # A server that is down says so in one line; anything else gets its traceback.
    outage = isinstance(exc, OperationalError | InterfaceError | redis.ConnectionError | redis.TimeoutError)
    lines = str(exc).strip().splitlines()
    logger.warning(
        "Cannot read hook subscriptions (%s: %s); treating every event as subscribed until it works",
        type(exc).__name__,
        redact(lines[0]) if lines else "",
        exc_info=not outage,
    )


def has_subscribers(event_name: str) -> bool:
    """Whether any hook or webhook may want ``event_name`` (see the module docstring for staleness)."""
    snapshot = _snapshot
    now = time.monotonic()
    if now - snapshot.checked > settings.SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS / 1000:
        snapshot = _refresh(now)
    return snapshot.everything or event_name in snapshot.events


def subscriptions_changed() -> None:
    """Invalidate every process's snapshot (call after changing hooks or webhooks outside ``save()``)."""
    global _snapshot
    _snapshot = Snapshot()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("Cannot bump the hook subscription version; other processes see it within their refresh")


def on_event(sender: Any, envelope: Envelope, **kwargs: Any) -> None:
    """Queue the fan-out of ``envelope`` (``hooks.outbox.push``) if anything is subscribed to its event."""
    from . import outbox

    if outbox.stored_with_transaction(envelope):
        outbox.ringer.request()  # its row is stored (committed with the producer's transaction, if any)
    elif has_subscribers(envelope["event_name"]):
        outbox.push(envelope)
    else:
        return
    stats.enqueued += 1


def on_event_accepted(sender: Any, envelope: Envelope, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Store a subscribed event's outbox row before ``emit_event`` returns (``outbox``).

    Inside the producer's transaction the row commits or rolls back with it;
    outside one, the INSERT commits on its own. Either way a failed write is
    raised to the producer (``emit_event`` turns a lost connection into
    ``EventUnavailable``), so an event it returned is one that is kept. On
    another database than the outbox's, ``on_event`` stores the event when
    it is sent.
    """
    name = envelope["event_name"]
    # Cheapest first: with nothing subscribed, the producer pays a set and a dict lookup.
    if name not in HOOKABLE_EVENTS or not has_subscribers(name) or using != DEFAULT_DB_ALIAS:
        return
    from . import outbox

    outbox.store_in_transaction(envelope)


def _config_saved(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(subscriptions_changed)


def _worker_spawned(sender: Any, **kwargs: Any) -> None:
    """Start the delivery dispatcher of a new queue-worker process: it picks up due and orphaned work.

    Only in a real worker (a child of ``qcluster``): django-q2 also sends
    ``post_spawn`` when ``async_task(..., sync=True)`` runs a task inline, and
    that process (a web server, a shell, the test runner) must not start
    sweeping deliveries with its own settings.
    """
    if multiprocessing.parent_process() is None:
        return
    from . import delivery

    delivery.dispatcher()


def connect() -> None:
    """Connect the receivers to every hookable catalog signal (see AppConfig.ready)."""
    from django_q.signals import post_spawn

    from .models import HookConfig, WebhookConfig

    for name in HOOKABLE_EVENTS:
        EVENT_CATALOG[name].signal.connect(on_event, dispatch_uid=f"hooks.receivers.on_event.{name}")
    event_accepted.connect(on_event_accepted, dispatch_uid="hooks.receivers.on_event_accepted")
    for model in (HookConfig, WebhookConfig):
        post_save.connect(_config_saved, sender=model, dispatch_uid=f"hooks.receivers.saved.{model.__name__}")
        post_delete.connect(_config_saved, sender=model, dispatch_uid=f"hooks.receivers.deleted.{model.__name__}")
    post_spawn.connect(_worker_spawned, dispatch_uid="hooks.receivers.worker_spawned")

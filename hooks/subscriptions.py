"""Who is subscribed to what: the producer's snapshot, the fan-out's target cache, and their invalidation.

Both read the same version stamp in Django's cache (shared by every
process), bumped on commit of every HookConfig / WebhookConfig save or delete
(``connect``) and of every auto-disable (``subscriptions_changed``):

* ``has_subscribers`` (the producer's path) asks a per-process snapshot "is
  any hook or webhook subscribed to this event?". With nothing subscribed the
  answer costs a dict lookup: no query, no cache or broker round trip. Other
  processes read the stamp at most once every
  ``SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS`` (1 s by default; 0 = on every
  event) and reload from the database when it changed. So an event emitted
  in *another* process less than that long after the first webhook for it
  was created may not be delivered to it. Stale in the other direction (a
  webhook just removed) costs only an outbox row: the fan-out reads the
  database (or its per-worker cache, valid only while this same stamp is
  unchanged). If the cache or database cannot be read, every event is treated
  as subscribed (the worker decides), never silently dropped.
* ``targets_for`` (the worker's fan-out) returns the targets of an event
  from a per-process cache validated on every call against the stamp.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

from events.bridge import redact

from .models import HookConfig, NotificationConfig, WebhookConfig

logger = logging.getLogger(__name__)

VERSION_KEY = "hooks:subscriptions:version"

# The targets of one event: (webhooks, script hooks, notifications).
Targets = tuple[list[WebhookConfig], list[HookConfig], list[NotificationConfig]]


# --- The version stamp -------------------------------------------------------


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


def subscriptions_changed() -> None:
    """Invalidate every process's snapshot and target cache (after changing hooks or webhooks outside ``save()``)."""
    global _snapshot
    _snapshot = Snapshot()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("Cannot bump the hook subscription version; other processes see it within their refresh")


def _config_saved(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(subscriptions_changed)


def connect() -> None:
    """Bump the stamp on commit of every hook or webhook saved or deleted (see AppConfig.ready)."""
    for model in (HookConfig, WebhookConfig, NotificationConfig):
        post_save.connect(_config_saved, sender=model, dispatch_uid=f"hooks.subscriptions.saved.{model.__name__}")
        post_delete.connect(_config_saved, sender=model, dispatch_uid=f"hooks.subscriptions.deleted.{model.__name__}")


# --- The producer's snapshot -------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    events: frozenset[str] = frozenset()
    everything: bool = False
    version: str | None = None
    checked: float = float("-inf")
    loaded: bool = False


_snapshot = Snapshot()


@dataclass
class Stats:
    refreshes: int = 0
    reloads: int = 0


stats = Stats()


def _load(version: str | None, now: float) -> Snapshot:
    # Automatically disabled webhooks stay subscribed: their events are logged as skipped.
    names = set(
        WebhookConfig.objects.filter(Q(enabled=True) | ~Q(disabled_reason="")).values_list("event_name", flat=True)
    )
    names |= set(HookConfig.objects.filter(enabled=True).values_list("event_name", flat=True))
    notified = NotificationConfig.objects.filter(Q(enabled=True) | ~Q(disabled_reason=""))
    names |= {name for events in notified.values_list("events", flat=True) for name in events or ()}
    everything = WebhookConfig.ALL_EVENTS in names
    stats.reloads += 1
    return Snapshot(frozenset(names), everything, version, now, True)


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


# SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS in seconds, read once (and again when a test changes it):
# Django's lazy settings cost the producer's path a lookup per emit otherwise.
_refresh_seconds: float | None = None


def _refresh_interval() -> float:
    global _refresh_seconds
    if _refresh_seconds is None:
        _refresh_seconds = settings.SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS / 1000
    return _refresh_seconds


def _setting_changed(setting: str, **kwargs: Any) -> None:
    global _refresh_seconds
    if setting == "SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS":
        _refresh_seconds = None


setting_changed.connect(_setting_changed, dispatch_uid="hooks.subscriptions.refresh_interval")


def has_subscribers(event_name: str) -> bool:
    """Whether any hook or webhook may want ``event_name`` (see the module docstring for staleness)."""
    snapshot = _snapshot
    now = time.monotonic()
    if now - snapshot.checked > (_refresh_seconds if _refresh_seconds is not None else _refresh_interval()):
        snapshot = _refresh(now)
    return snapshot.everything or event_name in snapshot.events


# --- The fan-out's target cache ----------------------------------------------


def load_targets(name: str) -> Targets:
    """The targets of event ``name``, read from the database: every webhook for it or for ``*`` and every
    notification listing it or ``*`` that is enabled or was disabled automatically (its deliveries are logged
    as skipped), every enabled script hook.

    A notification's events are a JSON list, matched here in Python (SQLite has no JSON containment): the
    notification targets are read whole, a handful of rows, once per event name and version stamp.
    """
    webhooks = WebhookConfig.objects.filter(Q(event_name=name) | Q(event_name=WebhookConfig.ALL_EVENTS)).filter(
        Q(enabled=True) | ~Q(disabled_reason="")
    )
    notifications = NotificationConfig.objects.filter(Q(enabled=True) | ~Q(disabled_reason=""))
    return (
        list(webhooks),
        list(HookConfig.objects.filter(event_name=name, enabled=True)),
        [target for target in notifications if target.subscribes_to(name)],
    )


@dataclass
class _TargetCache:
    version: str | None = None
    loaded_at: float = float("-inf")
    by_event: dict[str, Targets] | None = None


_targets = _TargetCache()
TARGET_CACHE_MAX_AGE = 30.0


def targets_for(name: str, *, cached: bool | None = None) -> Targets:
    """The webhooks and script hooks of event ``name``: a per-process cache validated on every call.

    The cache holds only what the fan-out reads (which targets, their settings);
    it is valid while the subscription version stamp is the one it was loaded
    under, and for at most ``TARGET_CACHE_MAX_AGE`` seconds. One cache read per
    event instead of two queries. Inside a transaction (a caller's atomic
    block, the test suite) unless ``cached`` says otherwise, or when the stamp
    cannot be read, the database is read as before.
    """
    global _targets
    if cached is None:
        cached = not transaction.get_connection().in_atomic_block
    if not cached:
        return load_targets(name)
    version = subscription_version()
    if version is None:
        return load_targets(name)
    now = time.monotonic()
    current = _targets
    if current.version != version or current.by_event is None or now - current.loaded_at > TARGET_CACHE_MAX_AGE:
        current = _targets = _TargetCache(version, now, {})
    assert current.by_event is not None
    found = current.by_event.get(name)
    if found is None:
        found = current.by_event[name] = load_targets(name)
    return found

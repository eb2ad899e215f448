"""Event receivers: the head of the delivery chain, one durable outbox row per event something is subscribed to.

The producer's path asks ``hooks.subscriptions.has_subscribers`` (a
per-process snapshot: with nothing subscribed, a dict lookup) and, only if
something is, queues the event once: one outbox row (``hooks.outbox``),
written before ``emit_event`` returns — inside the producer's transaction
when it emits in one (``on_event_accepted``, on
``events.signals.event_accepted``); then, when the catalog signal is sent on
commit (``on_event``), the doorbell rings a drain task if none is waiting, and
a worker fans out (``hooks.delivery.fanout``).

The chain, each module importing only the ones after it (and the shared ones
below: ``subscriptions``, ``doorbell``, ``delivery.targets``, ``delivery.holders``,
``transports``): receivers → outbox → delivery.fanout → delivery.worker →
delivery.attempts → delivery.record (an import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django_q.signals import post_spawn

from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS
from events.signals import event_accepted
from events.types import Envelope

from . import doorbell, outbox, subscriptions
from .delivery import worker

_HOOKABLE = frozenset(HOOKABLE_EVENTS)  # a set test on the producer's path, not a tuple scan


@dataclass
class Stats:
    enqueued: int = 0


stats = Stats()


def on_event(sender: Any, envelope: Envelope, **kwargs: Any) -> None:
    """Queue the fan-out of ``envelope`` (``hooks.outbox.push``) if anything is subscribed to its event."""
    if outbox.stored_with_transaction(envelope):
        doorbell.ringer.request()  # its row is stored (committed with the producer's transaction, if any)
    elif subscriptions.has_subscribers(envelope["event_name"]):
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
    if name not in _HOOKABLE or not subscriptions.has_subscribers(name) or using != DEFAULT_DB_ALIAS:
        return
    outbox.store_in_transaction(envelope)


def _worker_spawned(sender: Any, **kwargs: Any) -> None:
    """Start the delivery dispatcher of a new queue-worker process: it picks up due and orphaned work.

    Only in a real worker (a child of ``qcluster``): django-q2 also sends
    ``post_spawn`` when ``async_task(..., sync=True)`` runs a task inline, and
    that process (a web server, a shell, the test runner) must not start
    sweeping deliveries with its own settings.
    """
    if multiprocessing.parent_process() is None:
        return
    worker.dispatcher()


def connect() -> None:
    """Connect the receivers to every hookable catalog signal (see AppConfig.ready)."""
    for name in HOOKABLE_EVENTS:
        EVENT_CATALOG[name].signal.connect(on_event, dispatch_uid=f"hooks.receivers.on_event.{name}")
    event_accepted.connect(on_event_accepted, dispatch_uid="hooks.receivers.on_event_accepted")
    subscriptions.connect()
    post_spawn.connect(_worker_spawned, dispatch_uid="hooks.receivers.worker_spawned")

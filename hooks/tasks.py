"""django-q2 tasks of the hooks app (enqueued by dotted path; thin: each calls one service)."""

from __future__ import annotations

from events.types import Envelope

from .delivery import fanout, worker
from .delivery.attempts import Job


def drain_events() -> int:
    """Fan out the events waiting in the outbox; their first attempts start in this worker."""
    return fanout.drain()


def deliver_event(envelope: Envelope) -> int:
    """Fan one event out (enqueued whole when the outbox could not be written)."""
    rows = fanout.deliveries_create(envelope=envelope, claim=True)
    return worker.dispatcher().submit(Job.of(row) for row in rows)


def sweep_deliveries() -> None:
    """Make this worker look for due deliveries now (after a redelivery, or from a schedule)."""
    worker.dispatcher().wake_at()

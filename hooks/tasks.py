"""django-q2 tasks of the hooks app (enqueued by dotted path; thin: each calls one service)."""

from __future__ import annotations

from events.types import Envelope

from . import delivery, outbox


def drain_events() -> int:
    """Fan out the events waiting in the outbox; their first attempts start in this worker."""
    return outbox.drain()


def deliver_event(envelope: Envelope) -> int:
    """Fan one event out (enqueued whole when the outbox could not be written)."""
    rows = delivery.deliveries_create(envelope=envelope, claim=True)
    return delivery.dispatcher().submit(delivery.Job.of(row) for row in rows)


def sweep_deliveries() -> None:
    """Make this worker look for due deliveries now (after a redelivery, or from a schedule)."""
    delivery.dispatcher().wake_at()

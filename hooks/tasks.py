"""django-q2 tasks of the hooks app (enqueued by dotted path; thin: each calls one service)."""

from __future__ import annotations

from typing import Any

from . import delivery


def deliver_event(envelope: dict[str, Any]) -> int:
    """Fan one event out: create its Delivery rows and start their first attempts in this worker."""
    pending = delivery.deliveries_create(envelope=envelope)
    return delivery.dispatcher().submit(delivery.Job.of(row) for row in pending)


def sweep_deliveries() -> None:
    """Make this worker look for due deliveries now (after a redelivery, or from a schedule)."""
    delivery.dispatcher().wake_at()

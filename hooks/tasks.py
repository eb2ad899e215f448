"""django-q2 tasks of the hooks app (enqueued by dotted path; thin: each calls one service)."""

from __future__ import annotations

from typing import Any

from . import delivery


def deliver_event(envelope: dict[str, Any]) -> int:
    """Fan one event out: create its Delivery rows and start their first attempts in this worker."""
    dispatcher = delivery.dispatcher()
    reserved: set = set()

    def reserve(targets: list) -> set:
        reserved.update(dispatcher.reserve(targets))
        return reserved

    try:
        rows = delivery.deliveries_create(envelope=envelope, reserve=reserve)
    except BaseException:
        dispatcher.release(reserved)
        raise
    jobs = [delivery.Job.of(row) for row in rows]
    dispatcher.release(reserved - {job.target for job in jobs if job.claimed})
    return dispatcher.submit(jobs)


def sweep_deliveries() -> None:
    """Make this worker look for due deliveries now (after a redelivery, or from a schedule)."""
    delivery.dispatcher().wake_at()

"""django-q2's Redis broker with its keys under SUBLARR_REDIS_PREFIX (Q_CLUSTER["broker_class"], scale-out)."""

from __future__ import annotations

from django.conf import settings
from django_q.brokers import redis_broker


class Redis(redis_broker.Redis):
    """Keep the queue at ``<prefix>:django_q:<cluster>:q``: upstream's ``django_q:<cluster>:q`` ignores the prefix.

    Every key this install writes starts with SUBLARR_REDIS_PREFIX, so several
    installs (or test runs) can share one Redis server and be told apart or
    cleaned up by prefix. Keys derived from the list key (the outbox doorbell)
    follow it; django-q2's cluster stats go through Django's cache, prefixed there.
    """

    list_key: str

    def __init__(self, list_key: str | None = None) -> None:
        super().__init__(list_key)
        self.list_key = f"{settings.REDIS_PREFIX}:{self.list_key}"

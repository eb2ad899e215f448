"""django-q2's Redis broker with its keys under SUBLARR_REDIS_PREFIX (Q_CLUSTER["broker_class"], scale-out)."""

from __future__ import annotations

from django.conf import settings
from django_q.brokers import redis_broker


class Redis(redis_broker.Redis):
    """Keep the queue at ``<prefix>:django_q:<cluster>:q``: upstream's ``django_q:<cluster>:q`` ignores the prefix.

    Every key this install writes starts with SUBLARR_REDIS_PREFIX, so several
    installs (or test runs) can share one Redis server and be told apart or
    cleaned up by prefix. Keys derived from the list key (the outbox doorbell)
    follow it, and so do the cluster stats each worker writes through the broker
    (``django_q:<cluster>:cluster:<id>``).
    """

    list_key: str

    def __init__(self, list_key: str | None = None) -> None:
        super().__init__(list_key)
        self.list_key = f"{settings.REDIS_PREFIX}:{self.list_key}"

    def _prefixed(self, key: str) -> str:
        return f"{settings.REDIS_PREFIX}:{key}"

    def set_stat(self, key: str, value: str, timeout: int) -> None:
        super().set_stat(self._prefixed(key), value, timeout)

    def get_stat(self, key: str) -> bytes | None:
        return super().get_stat(self._prefixed(key))

    def get_stats(self, pattern: str) -> list[bytes | None] | None:
        return super().get_stats(self._prefixed(pattern))

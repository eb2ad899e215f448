"""Every Redis key the queue writes starts with SUBLARR_REDIS_PREFIX (several installs or test runs share one Redis)."""

from __future__ import annotations

import pytest
import redis
from django_q.signing import SignedPackage

import testsupport
from hooks.queue import broker, enqueue

pytestmark = pytest.mark.scaleout


def test_queued_task_is_kept_under_the_redis_prefix(redis_url, settings):
    client = redis.Redis.from_url(redis_url)
    cluster = settings.Q_CLUSTER["name"]

    task_id = enqueue("sublarr.tests.tasks.touch", "/nonexistent/never-run", "")
    queue_keys = sorted(key.decode() for key in client.scan_iter(match=f"*django_q:{cluster}:q"))
    queued = {SignedPackage.loads(payload)["id"]: payload for payload in client.lrange(broker().list_key, 0, -1)}
    # No worker of a later test may run it.
    client.lrem(broker().list_key, 1, queued[task_id])  # type: ignore[arg-type]  # redis takes the bytes it returned; the stubs say str

    assert broker().list_key == f"{settings.REDIS_PREFIX}:django_q:{cluster}:q"
    assert queue_keys == [broker().list_key]


def test_a_running_workers_cluster_stats_are_kept_under_the_redis_prefix(redis_url, settings, start_worker):
    from django_q.conf import Conf
    from django_q.status import Stat

    client = redis.Redis.from_url(redis_url)
    start_worker()

    stats = testsupport.wait_for(lambda: Stat.get_all(), timeout=30, message="the worker's cluster stats")
    keys = [key.decode() for key in client.scan_iter(match=f"*{Conf.Q_STAT}:*")]

    assert keys, "the worker wrote no stats key"
    assert all(key.startswith(f"{settings.REDIS_PREFIX}:{Conf.Q_STAT}:") for key in keys), keys
    assert {str(stat.cluster_id) for stat in stats} <= {key.rsplit(":", 1)[1] for key in keys}

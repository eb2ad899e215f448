"""Scale-out profile: round trips through Redis for cache, channel layer and broker."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import channel_layers, get_channel_layer
from django.core.cache import cache
from django_q.brokers import get_broker

import testsupport

pytestmark = pytest.mark.scaleout


def test_cache_round_trip_is_shared_with_another_process(redis_url, proc_env):
    cache.set("wiring-probe", {"written_by": "pytest"}, 30)

    result = testsupport.manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.core.cache import cache; print(cache.get('wiring-probe')); cache.set('wiring-reply', 42, 30)",
        env=proc_env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'written_by': 'pytest'}"
    assert cache.get("wiring-reply") == 42


def test_channel_layer_group_round_trip(redis_url):
    assert type(get_channel_layer()).__module__ == "channels_redis.core"
    # A layer of this test's own: the process-wide one is bound to the events
    # bridge's event loop, and asyncio.run() below makes another.
    layer = channel_layers.make_backend("default")

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("wiring-probe", channel)
        await layer.group_send("wiring-probe", {"type": "probe.message", "n": 7})
        message = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await layer.group_discard("wiring-probe", channel)
        await layer.flush()
        return message

    assert asyncio.run(round_trip()) == {"type": "probe.message", "n": 7}


def test_broker_round_trip(redis_url, settings):
    broker = get_broker()
    assert type(broker).__name__ == "Redis"
    assert settings.REDIS_PREFIX in broker.list_key

    broker.enqueue("payload")
    # The run's queue is shared with the suite: an outbox doorbell rung by an earlier test may have queued a
    # drain task just before. Ours must come out, whatever else does (each blpop waits at most 1 s).
    payloads = []
    for _ in range(20):
        for task_id, payload in broker.dequeue() or []:
            broker.acknowledge(task_id)
            payloads.append(payload)
        if b"payload" in payloads:
            break

    assert b"payload" in payloads

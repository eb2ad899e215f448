"""The stream comes back after Redis restarts empty, and clients are told events may have been missed.

The server runs on a redis-server of the test's own (the database stays the
run's PostgreSQL); the shared Redis is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest

import testsupport

from .live import in_thread, post_event, receive_json, ws_connect

pytestmark = [pytest.mark.faults, pytest.mark.scaleout, pytest.mark.slow]

MISSED_UNKNOWN = {"type": "missed", "count": None}
# Acceptance bound: events flow again within this many seconds of Redis coming back.
RECOVERY_SECONDS = 5.0


async def emit(env: dict[str, str], source: str) -> dict:
    """Emit from a fresh process (``manage.py emit_event``): the stream's side alone, whatever the bridge holds.

    The server's own first send after a restart is pinned by its own test below.
    """
    data = json.dumps({"source": source})
    result = await in_thread(testsupport.manage, "emit_event", "config_updated", "--data", data, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def check_recovery(server, token: str, env: dict[str, str], break_redis, mend_redis, *, outage: bool) -> None:
    """Break Redis, mend it: every client hears of the gap, then gets events again (a newcomer too).

    With a real ``outage`` a client also connects while Redis is down.
    """
    async with contextlib.AsyncExitStack() as stack:
        before = await stack.enter_async_context(ws_connect(server, token))
        response = await in_thread(post_event, server, token, "config_updated", {"source": "before"})
        assert await receive_json(before) == response.json()

        await in_thread(break_redis)
        clients = [before]
        if outage:
            # Accepted while Redis is down; it waits for the layer like the others.
            clients.append(await stack.enter_async_context(ws_connect(server, token)))
        await in_thread(mend_redis)
        back = time.monotonic()

        for ws in clients:
            remaining = RECOVERY_SECONDS - (time.monotonic() - back)
            assert await receive_json(ws, timeout=max(remaining, 0.1)) == MISSED_UNKNOWN

        clients.append(await stack.enter_async_context(ws_connect(server, token)))
        again = await emit(env, "after")
        for ws in clients:
            assert await receive_json(ws) == again


@pytest.fixture
def server_on_own_redis(own_redis, start_server, proc_env):
    """A server whose channel layer, cache and queue broker are on ``own_redis``; and the env to emit there."""
    return start_server(REDIS_URL=own_redis.url), {**proc_env, "REDIS_URL": own_redis.url}


def test_stream_resumes_with_a_missed_notice_after_redis_is_down_and_comes_back_empty(
    server_on_own_redis, own_redis, staff_token
):
    server, env = server_on_own_redis

    def mend() -> None:
        time.sleep(8)  # down long enough for every retry of redis-py to give up
        own_redis.start()

    asyncio.run(check_recovery(server, staff_token, env, own_redis.kill, mend, outage=True))


def test_stream_resumes_with_a_missed_notice_after_a_quick_redis_restart(server_on_own_redis, own_redis, staff_token):
    server, env = server_on_own_redis
    asyncio.run(check_recovery(server, staff_token, env, own_redis.restart, lambda: None, outage=False))


def test_stream_resumes_with_a_missed_notice_when_the_group_vanishes_without_a_connection_error(
    server_on_own_redis, own_redis, staff_token
):
    """What the relay sees of a restart that redis-py's reconnects hide: no error, only the group is gone."""
    import redis

    server, env = server_on_own_redis

    def flush() -> None:
        redis.Redis.from_url(own_redis.url).flushall()

    asyncio.run(check_recovery(server, staff_token, env, flush, lambda: None, outage=False))


def test_the_servers_own_first_event_after_a_redis_restart_reaches_the_clients(
    server_on_own_redis, own_redis, staff_token
):
    """The server's bridge still holds a connection Redis closed: its first send after the restart goes through."""
    server, _env = server_on_own_redis

    async def run() -> None:
        async with ws_connect(server, staff_token) as ws:
            response = await in_thread(post_event, server, staff_token, "config_updated", {"source": "before"})
            assert await receive_json(ws) == response.json()

            await in_thread(own_redis.restart)
            assert await receive_json(ws, timeout=RECOVERY_SECONDS) == MISSED_UNKNOWN

            response = await in_thread(post_event, server, staff_token, "config_updated", {"source": "after"})
            assert response.status_code == 202
            assert await receive_json(ws) == response.json()

    asyncio.run(run())

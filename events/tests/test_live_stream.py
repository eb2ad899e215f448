"""A real `websockets` client on a running daphne server receives the events emitted anywhere."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

import testsupport
from events.catalog import EVENT_CATALOG
from events.consumers import CLOSE_UNAUTHENTICATED
from events.samples import sample_payload

from .live import in_thread, post_event, receive_json, subscribe, ws_connect

pytestmark = pytest.mark.slow

VALID_EVENTS = ", ".join(EVENT_CATALOG)


def emit_cli(env: dict[str, str], name: str, data: dict) -> dict:
    result = testsupport.manage("emit_event", name, "--data", json.dumps(data), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_client_receives_event_posted_via_rest(start_server, staff_token):
    server = start_server()

    async def main() -> None:
        async with ws_connect(server, staff_token) as ws:
            payload = sample_payload("subtitle_downloaded")
            response = await in_thread(post_event, server, staff_token, "subtitle_downloaded", payload)
            assert response.status_code == 202, response.text
            envelope = response.json()
            assert envelope["data"] == payload
            assert await receive_json(ws) == envelope

    asyncio.run(main())


@pytest.mark.embedded
def test_embedded_channel_layer_carries_cli_event_from_another_process_to_client_of_server(
    start_server, staff_token, proc_env
):
    """Foundation bar: the SQLite layer carries a group message between OS processes."""
    server = start_server()

    async def main() -> None:
        async with ws_connect(server, staff_token) as ws:
            envelope = await in_thread(emit_cli, proc_env, "config_updated", {"source": "cli", "changed_keys": ["x"]})
            assert await receive_json(ws) == envelope

    asyncio.run(main())


@pytest.mark.scaleout
def test_redis_client_on_one_server_receives_events_through_another(redis_url, start_server, staff_token, proc_env):
    listening, publishing = start_server(), start_server()

    async def main() -> None:
        async with ws_connect(listening, staff_token) as ws:
            response = await in_thread(post_event, publishing, staff_token, "batch_complete", {"total": 3})
            assert response.status_code == 202, response.text
            assert await receive_json(ws) == response.json()

            envelope = await in_thread(emit_cli, proc_env, "whisper_failed", {"job_id": "j1", "error": "boom"})
            assert await receive_json(ws) == envelope

    asyncio.run(main())


ROLLBACK_THEN_COMMIT = """
from django.db import transaction
from events import emit_event

class Rollback(Exception):
    pass

try:
    with transaction.atomic():
        emit_event("config_updated", {"source": "rolled-back"})
        raise Rollback
except Rollback:
    pass
with transaction.atomic():
    emit_event("config_updated", {"source": "committed"})
emit_event("config_updated", {"source": "after"})
"""


def test_rolled_back_event_is_never_sent_and_committed_one_exactly_once(start_server, staff_token, proc_env):
    server = start_server()

    async def main() -> None:
        async with ws_connect(server, staff_token) as ws:
            result = await in_thread(testsupport.manage, "shell", "-c", ROLLBACK_THEN_COMMIT, env=proc_env)
            assert result.returncode == 0, result.stderr
            # One producer's events arrive in order: "after" proves nothing else came between.
            first, second = await receive_json(ws), await receive_json(ws)
            assert [first["data"], second["data"]] == [{"source": "committed"}, {"source": "after"}]

    asyncio.run(main())


def test_anonymous_and_bad_token_connections_are_closed_with_4401(start_server):
    server = start_server()

    async def closed_code(token: str | None) -> int:
        async with ws_connect(server, token) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 30)
            assert closed.value.rcvd is not None, "closed without a close frame"
            return closed.value.rcvd.code

    assert asyncio.run(closed_code(None)) == CLOSE_UNAUTHENTICATED == 4401
    assert asyncio.run(closed_code("not-a-valid-token")) == 4401


def test_token_in_query_string_authenticates_a_plain_user(start_server, user_token, staff_token):
    server = start_server()

    async def main() -> None:
        async with ws_connect(server, query=f"?token={user_token}") as ws:
            response = await in_thread(post_event, server, staff_token, "wanted_scan_complete", {"total_items": 1})
            assert await receive_json(ws) == response.json()

    asyncio.run(main())


def test_subscription_narrows_the_stream_and_unknown_names_get_an_error(start_server, user_token, staff_token):
    server = start_server()

    async def main() -> None:
        async with ws_connect(server, user_token) as ws:
            assert await subscribe(ws, ["config_updated"]) == {"type": "subscribed", "events": ["config_updated"]}
            assert await subscribe(ws, ["nope", "config_updated"]) == {
                "type": "error",
                "message": f"Unknown event(s): nope. Valid events: {VALID_EVENTS}.",
                "events": ["nope"],
            }
            await ws.send("{not json")
            assert await receive_json(ws) == {"type": "error", "message": "Malformed JSON."}

            # The failed request left the subscription as it was: batch_complete is filtered out.
            skipped = await in_thread(post_event, server, staff_token, "batch_complete", {"total": 1})
            wanted = await in_thread(post_event, server, staff_token, "config_updated", {"source": "api"})
            assert skipped.status_code == wanted.status_code == 202
            assert await receive_json(ws) == wanted.json()

            assert await subscribe(ws, None) == {"type": "subscribed", "events": None}
            again = await in_thread(post_event, server, staff_token, "batch_complete", {"total": 2})
            assert await receive_json(ws) == again.json()

    asyncio.run(main())


def test_oversized_and_deeply_nested_requests_get_an_error_and_the_socket_stays_open(start_server, user_token):
    """Each of these closed the socket with 1011 (a traceback, or an error echo past the 1 MiB frame limit)."""
    server = start_server()
    unknown = [f"e{n}" for n in range(60_000)]  # ~0.5 MB: under daphne's 1 MiB message limit

    async def main() -> None:
        async with ws_connect(server, user_token) as ws:
            await ws.send("[" * 4096)
            assert await receive_json(ws) == {"type": "error", "message": "JSON nested deeper than 64 levels."}
            assert await subscribe(ws, unknown) == {
                "type": "error",
                "message": "Request too large: at most 65536 characters.",
            }
            assert await subscribe(ws, unknown[:300]) == {
                "type": "error",
                "message": '"events" may list at most 256 names.',
            }
            assert await subscribe(ws, ["config_updated"]) == {"type": "subscribed", "events": ["config_updated"]}

    asyncio.run(main())


@pytest.mark.scaleout
def test_redis_idle_client_stays_connected_for_30_seconds_then_receives(redis_url, start_server, staff_token):
    server = start_server()

    async def main() -> None:
        async with ws_connect(server, staff_token) as ws:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 31)
            response = await in_thread(post_event, server, staff_token, "provider_failed", {"error": "late"})
            assert await receive_json(ws) == response.json()

    asyncio.run(main())


def test_event_emitted_in_a_queue_worker_reaches_the_client(start_server, start_worker, staff_token):
    from django_q.tasks import async_task  # django-q2 itself: the events layer knows no hooks or project package

    server = start_server()
    start_worker()

    async def main() -> None:
        async with ws_connect(server, staff_token) as ws:
            await in_thread(async_task, "events.tests.tasks.emit", "wanted_item_processed", {"item_id": 7})
            envelope = await receive_json(ws, timeout=60)
            assert envelope["event_name"] == "wanted_item_processed"
            assert envelope["data"] == {"item_id": 7}

    asyncio.run(main())


def test_session_cookie_authenticates_a_browser_client(start_server, plain_user, staff_token, client):
    from websockets.asyncio.client import connect

    server = start_server()
    client.force_login(plain_user)
    session = client.cookies["sessionid"].value

    async def main() -> None:
        async with connect(
            f"{server.ws_url}/ws/events/",
            additional_headers={"Cookie": f"sessionid={session}"},
            origin=server.url,
            open_timeout=30,
        ) as ws:
            response = await in_thread(post_event, server, staff_token, "webhook_received", {"source": "radarr"})
            assert await receive_json(ws) == response.json()

    asyncio.run(main())

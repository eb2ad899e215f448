"""Every fixture posted to running servers: the normalized webhook_received reaches a WebSocket client,
a subscribed webhook and a script hook (run by a real queue worker).

Embedded: one daphne server. Scale-out: two servers on PostgreSQL + Redis,
the posts spread over both, the WebSocket client on the first. Hooks and
webhooks are configured through the servers' REST API, as a user would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import testsupport
from events.tests.live import in_thread, receive_json, subscribe, ws_connect
from incoming import services

from .conftest import FIXTURES, load
from .test_receive_fixtures import EXPECTED, MAPPINGS

pytestmark = [pytest.mark.slow]

ALL_FIXTURES = sorted(path.stem for path in FIXTURES.glob("*.json"))
EVENT_FIXTURES = [name for name in ALL_FIXTURES if EXPECTED[name]["outcome"] == "event"]
# Servers pick up a new subscription at once, not after the 1 s snapshot.
SERVER_ENV = {"SUBLARR_HOOKS_SUBSCRIPTION_REFRESH_MS": "0"}


@pytest.fixture
def staff_token(staff_user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=staff_user)[0].key


@pytest.fixture
def sink():
    """A local HTTP receiver recording every webhook body."""
    bodies: list[dict] = []
    lock = threading.Lock()

    def handle(request: Request) -> Response:
        with lock:
            bodies.append(json.loads(request.get_data()))
        return Response("ok", status=200)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    server.expect_request("/sink", method="POST").respond_with_handler(handle)
    yield server, bodies
    server.clear()
    server.stop()


def _post_fixture(server: testsupport.Server, name: str, key: str) -> requests.Response:
    fixture = load(name)
    kind = name.split("_")[0]
    url = f"{server.url}/api/incoming/{kind}/"
    text = json.dumps(fixture["body"])
    if fixture["content_type"] == "multipart/form-data":
        field = "payload" if kind == "plex" else "data"
        return requests.post(url, files={field: (None, text)}, headers={"X-Api-Key": key}, timeout=30)
    headers = {"X-Api-Key": key, "Content-Type": fixture["content_type"]}
    return requests.post(url, data=text.encode(), headers=headers, timeout=30)


def _configure(server: testsupport.Server, token: str, sink_url: str, hooks_dir: Path, seen_file: Path) -> None:
    auth = {"Authorization": f"Token {token}"}
    webhook = {"name": "sink", "event_name": "webhook_received", "url": sink_url}
    response = requests.post(f"{server.url}/api/webhooks/", json=webhook, headers=auth, timeout=30)
    assert response.status_code == 201, response.text
    script = hooks_dir / "on-incoming.sh"
    script.write_text(f'#!/bin/sh\necho "$SUBLARR_EVENT_ID $SUBLARR_SOURCE_KIND $SUBLARR_EVENT_TYPE" >> {seen_file}\n')
    script.chmod(0o755)
    hook = {"name": "on-incoming", "event_name": "webhook_received", "script_path": "on-incoming.sh"}
    response = requests.post(f"{server.url}/api/hooks/", json=hook, headers=auth, timeout=30)
    assert response.status_code == 201, response.text


def _run(servers: list[testsupport.Server], token: str, sink, hooks_dir: Path, tmp_path: Path) -> None:
    receiver, bodies = sink
    seen_file = tmp_path / "script-seen.txt"
    _configure(servers[0], token, receiver.url_for("/sink"), hooks_dir, seen_file)
    keys = {}
    for kind in sorted({name.split("_")[0] for name in ALL_FIXTURES}):
        _incoming, keys[kind] = services.source_create(name=kind, kind=kind, path_mappings=MAPPINGS, source="cli")

    async def main() -> dict[str, dict]:
        async with ws_connect(servers[0], token) as ws:
            await subscribe(ws, ["webhook_received"])
            expected: dict[str, dict] = {}
            for index, name in enumerate(ALL_FIXTURES):
                server = servers[index % len(servers)]
                response = await in_thread(_post_fixture, server, name, keys[name.split("_")[0]])
                assert response.status_code in (200, 202), (name, response.text)
                if EXPECTED[name]["outcome"] == "event":
                    assert response.status_code == 202
                    expected[response.json()["event_id"]] = EXPECTED[name]["data"]
                else:
                    assert response.json()["event_id"] is None
            received: dict[str, dict] = {}
            while len(received) < len(expected):
                envelope = await receive_json(ws)
                received[envelope["id"]] = envelope["data"]
            assert received == expected
            return expected

    expected = asyncio.run(main())
    assert len(expected) == len(EVENT_FIXTURES)

    testsupport.wait_for(lambda: len(bodies) >= len(expected), timeout=120, message="every webhook delivery")
    assert {body["id"]: body["data"] for body in bodies} == expected
    assert len(bodies) == len(expected)

    def script_lines() -> list[str] | None:
        lines = seen_file.read_text().splitlines() if seen_file.exists() else []
        return lines if len(lines) >= len(expected) else None

    lines = testsupport.wait_for(script_lines, timeout=120, message="every script run")
    assert sorted(lines) == sorted(
        f"{event_id} {data['source_kind']} {data['event_type']}" for event_id, data in expected.items()
    )


@pytest.mark.embedded
def test_every_fixture_reaches_websocket_webhook_and_script(
    start_server, start_worker, staff_token, sink, hooks_dir, tmp_path
):
    server = start_server(**SERVER_ENV)
    start_worker()

    _run([server], staff_token, sink, hooks_dir, tmp_path)


@pytest.mark.scaleout
def test_every_fixture_through_two_servers_reaches_websocket_webhook_and_script(
    redis_url, start_server, start_worker, staff_token, sink, hooks_dir, tmp_path
):
    servers = [start_server(**SERVER_ENV), start_server(**SERVER_ENV)]
    start_worker()

    _run(servers, staff_token, sink, hooks_dir, tmp_path)

"""Helpers for tests against a real daphne server with a real `websockets` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import requests
from websockets.asyncio.client import ClientConnection, connect

RECEIVE_TIMEOUT = 30.0


def ws_connect(server: Any, token: str | None = None, query: str = "") -> Any:
    """Open /ws/events/ on ``server`` the way a non-browser client does (token header, Origin)."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    return connect(
        f"{server.ws_url}/ws/events/{query}",
        additional_headers=headers,
        origin=server.url,
        open_timeout=30,
        # No client pings: an idle connection must survive on its own.
        ping_interval=None,
    )


async def receive_json(ws: ClientConnection, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def subscribe(ws: ClientConnection, events: list[str] | None) -> dict[str, Any]:
    await ws.send(json.dumps({"action": "subscribe", "events": events}))
    return await receive_json(ws)


def post_event(server: Any, token: str, name: str, data: Any) -> requests.Response:
    return requests.post(
        f"{server.url}/api/events/{name}/",
        json=data,
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )


async def in_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run blocking work (HTTP calls, subprocesses) without stalling the client's loop."""
    return await asyncio.to_thread(func, *args, **kwargs)

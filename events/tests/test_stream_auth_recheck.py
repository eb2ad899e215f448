"""An open WebSocket loses the stream, with close code 4401, once its token, session or user is no longer valid."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from events.consumers import CLOSE_UNAUTHENTICATED

from .live import in_thread, post_event, receive_json, ws_connect

pytestmark = pytest.mark.slow

RECHECK_SECONDS = 1
# How long a revoked socket may stay open here: many re-check intervals.
CLOSE_TIMEOUT = 20.0


def session_connect(server, session_key: str):
    return connect(
        f"{server.ws_url}/ws/events/",
        additional_headers={"Cookie": f"sessionid={session_key}"},
        origin=server.url,
        open_timeout=30,
        ping_interval=None,
    )


def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def delete_token(user) -> None:
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()


@pytest.mark.parametrize(
    ("login", "revoke"),
    [
        ("token", "delete_token"),
        ("token", "deactivate"),
        ("session", "logout"),
        ("session", "deactivate"),
        ("session", "change_password"),
    ],
)
def test_revoked_credential_closes_the_open_socket_with_4401_and_others_keep_streaming(
    start_server, plain_user, user_token, staff_token, client, login, revoke
):
    server = start_server(SUBLARR_WS_AUTH_RECHECK_SECONDS=str(RECHECK_SECONDS))
    client.force_login(plain_user)
    session_key = client.cookies["sessionid"].value

    def revoke_now() -> None:
        if revoke == "delete_token":
            delete_token(plain_user)
        elif revoke == "deactivate":
            deactivate(plain_user)
        elif revoke == "logout":
            client.logout()
        else:
            plain_user.set_password("a-new-password-2")
            plain_user.save(update_fields=["password"])

    async def main() -> int:
        revoked_socket = ws_connect(server, user_token) if login == "token" else session_connect(server, session_key)
        async with ws_connect(server, staff_token) as staff, revoked_socket as ws:
            # A valid credential passes the re-check: after a few of them, both still stream.
            await asyncio.sleep(3 * RECHECK_SECONDS)
            first = await in_thread(post_event, server, staff_token, "batch_complete", {"total": 1})
            assert await receive_json(ws) == await receive_json(staff) == first.json()

            await in_thread(revoke_now)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), CLOSE_TIMEOUT)

            later = await in_thread(post_event, server, staff_token, "batch_complete", {"total": 2})
            assert await receive_json(staff) == later.json()
            assert closed.value.rcvd is not None, "closed without a close frame"
            return closed.value.rcvd.code

    assert asyncio.run(main()) == CLOSE_UNAUTHENTICATED == 4401

"""WebSocket authentication: the session cookie, or a DRF API token.

A token is read from the ``Authorization: Token <key>`` header (non-browser
clients) or, for browsers that cannot set headers on a WebSocket, from the
``token`` query parameter. A token, when present, wins over the session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


def token_from_scope(scope: dict[str, Any]) -> str | None:
    """Return the API token a WebSocket handshake carries, if any."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return key.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    keys = query.get("token")
    return keys[0] if keys and keys[0] else None


class TokenAuthMiddleware(BaseMiddleware):
    """Set ``scope["user"]`` from an API token when the handshake carries one."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = token_from_scope(scope)
        if key is not None:
            scope = dict(scope, user=await _user_for_token(key))
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - mirrors AuthMiddlewareStack
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))

"""WebSocket authentication: the session cookie, or a DRF API token.

A token is read from the ``Authorization: Token <key>`` header (non-browser
clients) or, for browsers that cannot set headers on a WebSocket, from the
``token`` query parameter. A token, when present, wins over the session.

The handshake is not the only check: an open socket's credential is checked
again (``still_authenticated``, one query) every
``SUBLARR_WS_AUTH_RECHECK_SECONDS`` — see events.consumers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db.models import Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from asgiref.typing import ASGIReceiveCallable, ASGISendCallable
    from channels.consumer import _ChannelScope  # the stubs' scope type (stub-only)


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


def token_from_scope(scope: Mapping[str, Any]) -> str | None:
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

    async def __call__(self, scope: _ChannelScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Any:
        key = token_from_scope(scope)
        if key is not None:
            scope = {**scope, "user": await _user_for_token(key)}
        return await super().__call__(scope, receive, send)


class WebSocketSessionMiddleware(BaseMiddleware):
    """``scope["session"]`` from the session cookie, as channels' ``SessionMiddleware`` sets it, ``send`` unwrapped.

    channels' middleware wraps ``send`` to save a modified session with an
    HTTP response; a WebSocket sends no HTTP response, and this app never
    changes a session over one, yet its wrapper looked at the session (two
    lazy-object lookups and ``is_empty()``) on every frame sent — 15 % of
    the send path in a cProfile of ``bench.ws_fanout``'s server. The session is
    resolved the same way (``InstanceSessionWrapper.resolve_session``).
    """

    async def __call__(self, scope: _ChannelScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Any:
        if "session" not in scope:
            wrapper = InstanceSessionWrapper(scope, send)
            await wrapper.resolve_session()
            scope = wrapper.scope
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - mirrors AuthMiddlewareStack
    """channels' ``AuthMiddlewareStack`` (cookies, session, user), the session read-only, then the API token."""
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(TokenAuthMiddleware(inner))))


@dataclass(frozen=True)
class Credential:
    """What an open socket authenticated with: ``kind`` is "token", "session" or "user" (nothing else known)."""

    kind: str
    user_id: Any
    key: str = ""


def credential_from_scope(scope: Mapping[str, Any]) -> Credential:
    """Return what the handshake authenticated ``scope["user"]`` with (the token wins, as in the middleware)."""
    user_id = scope["user"].pk
    token = token_from_scope(scope)
    if token is not None:
        return Credential("token", user_id, token)
    session = scope.get("session")
    session_key = getattr(session, "session_key", None)
    if session_key:
        return Credential("session", user_id, session_key)
    return Credential("user", user_id)


@database_sync_to_async
def still_authenticated(credential: Credential) -> bool:
    """Whether the credential would still let its user in: one query, whatever its kind."""
    from rest_framework.authtoken.models import Token

    users = get_user_model()._default_manager.filter(pk=credential.user_id, is_active=True)
    if credential.kind == "token":
        return Token.objects.filter(key=credential.key, user__in=users).exists()
    if credential.kind == "user":
        return users.exists()
    # The session row and the user in one query (sessions live in the
    # database: the default engine, which sublarr keeps).
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    session_data = (
        store_class.get_model_class()
        .objects.filter(session_key=credential.key, expire_date__gt=timezone.now())
        .values("session_data")[:1]
    )
    user = users.annotate(session_data=Subquery(session_data)).first()
    if user is None or user.session_data is None:
        return False
    return _session_matches(store_class().decode(user.session_data), user)


def _session_matches(session: dict[str, Any], user: Any) -> bool:
    """Django's own test (django.contrib.auth.get_user): same user, known backend, current password hash."""
    if session.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return False
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return False
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(session_hash, candidate) for candidate in hashes)

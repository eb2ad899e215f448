"""One mode for Django's middleware chain under ASGI."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase


class SyncChainMiddleware:
    """Does nothing; listed last (innermost) in MIDDLEWARE, it keeps the whole chain synchronous under ASGI.

    Django runs each middleware in the mode of the one inside it when it can
    do both. WhiteNoise's middleware is sync-only, so without this the chain
    changed mode below it: the middlewares under it ran async, and Django's
    ``MiddlewareMixin`` runs each ``process_request``/``process_response`` of
    an async-mode middleware through ``sync_to_async`` — a dozen thread hops
    a request, ~7 ms of the server's CPU per request here (py-spy: asyncio and
    asgiref plumbing). Synchronous throughout, a request enters a thread once
    and the view is called from it (bench.incoming, docs/PERFORMANCE.md).
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

"""WebSocket routes of the events app (composed in sublarr/asgi.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from .consumers import EventStreamConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/events/", EventStreamConsumer.as_asgi()),  # type: ignore[arg-type]  # Channels routes ASGI apps with Django's path(); its stubs expect a view
]

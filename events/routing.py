"""WebSocket routes of the events app (composed in sublarr/asgi.py)."""

from __future__ import annotations

from django.urls import path

from .consumers import EventStreamConsumer

websocket_urlpatterns = [
    path("ws/events/", EventStreamConsumer.as_asgi()),
]

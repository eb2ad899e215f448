"""The event bus: a catalog of named events, emit_event(), and a WebSocket bridge.

Public API: ``emit_event``, ``aemit_event``, ``EventError`` (bad input) and
``EventUnavailable`` (the database is down: not accepted, retry); the catalog is
``events.catalog.EVENT_CATALOG`` / ``CATALOG_VERSION``; receivers that store
an event with its producer's transaction connect to
``events.signals.event_accepted``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EventError", "EventUnavailable", "aemit_event", "emit_event"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package does not import Django's ORM
    # machinery before the app registry is ready.
    if name in __all__:
        from . import services

        return getattr(services, name)
    raise AttributeError(name)

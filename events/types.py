"""The event envelope's type: one structure from ``emit_event`` to the transports."""

from __future__ import annotations

from typing import Any, TypedDict


class Envelope(TypedDict):
    """An emitted event as receivers, the outbox and the transports get it (a plain dict at run time)."""

    id: str
    event_name: str
    version: int
    timestamp: str
    data: dict[str, Any]

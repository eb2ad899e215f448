"""Tasks the events tests enqueue (dotted paths a real queue worker imports)."""

from __future__ import annotations

from typing import Any

from events import emit_event


def emit(name: str, data: dict[str, Any]) -> str:
    return emit_event(name, data)["id"]

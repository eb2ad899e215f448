"""Event receivers: enqueue deliveries for the hooks and webhooks subscribed to an event."""

from __future__ import annotations


def connect() -> None:
    """Connect the receivers to every hookable catalog signal (see AppConfig.ready)."""

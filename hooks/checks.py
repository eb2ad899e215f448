"""System checks for hook and webhook misconfiguration (ids hooks.W001…)."""

from __future__ import annotations


def register() -> None:
    """Register this app's system checks (see AppConfig.ready)."""

"""REST API for hook and webhook configuration and the hook log."""

from __future__ import annotations

urlpatterns: list = []

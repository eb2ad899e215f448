"""REST API for redelivery."""

from __future__ import annotations

urlpatterns: list = []

from __future__ import annotations

from django.apps import AppConfig


class IncomingConfig(AppConfig):
    name = "incoming"
    verbose_name = "Incoming webhooks"

    def ready(self) -> None:
        from . import schedules

        schedules.connect(self)

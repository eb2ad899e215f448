from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "hooks"
    verbose_name = "Hooks and webhooks"

    def ready(self) -> None:
        from . import checks, receivers, schedules

        receivers.connect()
        checks.register()
        schedules.connect(self)

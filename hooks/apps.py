from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "hooks"
    verbose_name = "Hooks and webhooks"

    def ready(self) -> None:
        from . import checks, receivers, schedules
        from .transports.script import protect_process

        protect_process()  # before any script can run: the environment holds the secrets
        receivers.connect()
        checks.register()
        schedules.connect(self)

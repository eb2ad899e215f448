from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "hooks"
    verbose_name = "Hooks and webhooks"

    def ready(self) -> None:
        # Imported here, not at the top: they use the models, which are loaded only now.
        from . import checks, receivers, schedules
        from .delivery import fanout, worker
        from .transports.isolation import protect_process

        protect_process()  # before any script can run: the environment holds the secrets
        # The worker's sweeper takes outbox events whose doorbell was lost; the drain comes before it in the chain.
        worker.install(drain=fanout.drain)
        receivers.connect()
        checks.register()
        schedules.connect(self)

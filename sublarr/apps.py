from __future__ import annotations

import contextlib
from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class SublarrConfig(AppConfig):
    name = "sublarr"
    verbose_name = "Sublarr"

    def ready(self) -> None:
        # Every entry point (manage.py's commands, daphne, qcluster) sets Django
        # up, so the hooks directory the README promises is there from the first
        # start. A path that cannot be a directory is left to check hooks.W001.
        with contextlib.suppress(OSError):
            Path(settings.HOOKS_DIR).mkdir(parents=True, exist_ok=True)

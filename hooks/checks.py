"""System checks for hook and webhook misconfiguration (ids hooks.W001…)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags
from django.core.checks import Warning as CheckWarning
from django.core.checks import register as register_check


def check_hooks_dir(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when SUBLARR_HOOKS_DIR is not a directory, or when anyone may plant scripts in it."""
    path = Path(settings.HOOKS_DIR)
    if not path.exists():
        # Normal on a fresh install: no script hooks yet.
        return []
    if not path.is_dir():
        return [
            CheckWarning(
                f"SUBLARR_HOOKS_DIR ({path}) is not a directory.",
                hint="Point SUBLARR_HOOKS_DIR at a directory that holds your hook scripts.",
                id="hooks.W001",
            )
        ]
    mode = os.stat(path).st_mode
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        return [
            CheckWarning(
                f"SUBLARR_HOOKS_DIR ({path}) is writable by every user: anyone on this machine could add a script.",
                hint=f"chmod o-w {path}",
                id="hooks.W002",
            )
        ]
    return []


def check_webhook_policy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when webhooks may reach loopback on a production (DEBUG off) install."""
    if settings.SUBLARR_WEBHOOK_ALLOW_LOOPBACK and not settings.DEBUG:
        return [
            CheckWarning(
                "SUBLARR_WEBHOOK_ALLOW_LOOPBACK is on: webhooks may post to services on this machine.",
                hint="Leave it off unless a webhook receiver runs on the same host.",
                id="hooks.W003",
            )
        ]
    return []


def register() -> None:
    """Register this app's system checks (see AppConfig.ready)."""
    register_check(Tags.security)(check_hooks_dir)
    register_check(Tags.security, deploy=True)(check_webhook_policy)

"""The django-q2 schedules of the hooks app: the daily purge of old log rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate
from django.utils import timezone
from django_q.models import Schedule

from .services import hook_logs_purge

PURGE_SCHEDULE_NAME = "sublarr: purge old hook logs"
PURGE_TASK = "hooks.schedules.purge_hook_logs"


def purge_hook_logs() -> int:
    """Task: delete log rows older than SUBLARR_HOOK_LOG_RETENTION_DAYS (see hooks.services)."""
    return hook_logs_purge()


def ensure_schedules(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the daily purge schedule if it is missing (post_migrate: runs after every migrate)."""
    if using != DEFAULT_DB_ALIAS:
        return
    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        # e.g. ``migrate hooks`` on a fresh database: django_q is not migrated yet.
        return
    schedule = Schedule.objects.using(using).filter(name=PURGE_SCHEDULE_NAME).first()
    if schedule is None:
        # First run a day from now, not at once: a fresh install has nothing
        # to purge, and a worker started right after migrate stays quiet.
        Schedule.objects.using(using).create(
            name=PURGE_SCHEDULE_NAME,
            func=PURGE_TASK,
            schedule_type=Schedule.DAILY,
            repeats=-1,
            next_run=timezone.now() + timedelta(days=1),
        )
    elif schedule.func != PURGE_TASK or schedule.schedule_type != Schedule.DAILY:
        schedule.func = PURGE_TASK
        schedule.schedule_type = Schedule.DAILY
        schedule.repeats = -1
        schedule.save(update_fields=["func", "schedule_type", "repeats"])


def connect(sender: Any) -> None:
    """Ensure the schedules after ``migrate`` (called from AppConfig.ready)."""
    post_migrate.connect(ensure_schedules, sender=sender, dispatch_uid="hooks.schedules.ensure_schedules")

"""The django-q2 schedule of the incoming app: the daily purge of old request records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate
from django.utils import timezone

PURGE_SCHEDULE_NAME = "sublarr: purge old incoming requests"
PURGE_TASK = "incoming.schedules.purge_incoming_requests"


def purge_incoming_requests() -> int:
    """Task: delete request records older than SUBLARR_INCOMING_LOG_RETENTION_DAYS."""
    from .services import incoming_requests_purge

    return incoming_requests_purge()


def ensure_schedules(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the daily purge schedule if it is missing (post_migrate)."""
    from django_q.models import Schedule

    if using != DEFAULT_DB_ALIAS or Schedule._meta.db_table not in connections[using].introspection.table_names():
        return
    Schedule.objects.using(using).get_or_create(
        name=PURGE_SCHEDULE_NAME,
        defaults={
            "func": PURGE_TASK,
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": timezone.now() + timedelta(days=1),
        },
    )


def connect(sender: Any) -> None:
    post_migrate.connect(ensure_schedules, sender=sender, dispatch_uid="incoming.schedules.ensure_schedules")

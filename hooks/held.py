"""Notifications held by quiet hours: the deliveries waiting for a window's end, shown where a user looks.

A held notification (docs/NOTIFICATIONS.md §3, mode ``hold``) is not an
attempt and has no log row while it waits: its ``Delivery`` stays pending,
due when the window ends (``next_attempt_at``), its ``last_error`` the
decision's reason (``held: <event> at 23:10 is inside the quiet hours …;
sent at …``, ``hooks.notify.quiet.HELD_PREFIX``). That row is what these
reads show — the API's ``held_count`` / ``held_until`` and the admin's list
column and change page — so nothing is logged twice and the run log, its
stats and health count only attempts. Once it is attempted the row is an
ordinary delivery again (its reason replaced by the attempt's outcome).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, IntegerField, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Delivery, NotificationConfig
from .notify.quiet import HELD_PREFIX

HELD = Q(status=Delivery.Status.PENDING, last_error__startswith=HELD_PREFIX)


def held_deliveries(target: NotificationConfig) -> QuerySet[Delivery]:
    """The deliveries of ``target`` held by its quiet hours, the first to be sent first."""
    return Delivery.objects.filter(HELD, notification=target).order_by("next_attempt_at", "id")


def with_held(queryset: QuerySet[NotificationConfig]) -> QuerySet[NotificationConfig]:
    """``queryset`` with ``held_count`` and ``held_until`` (the first release) annotated: one query for a list."""
    held = Delivery.objects.filter(HELD, notification=OuterRef("pk")).order_by().values("notification")
    return queryset.annotate(
        held_count=Coalesce(Subquery(held.annotate(n=Count("id")).values("n"), output_field=IntegerField()), Value(0)),
        held_until=Subquery(held.annotate(first=Min("next_attempt_at")).values("first")),
    )


def held_summary(target: NotificationConfig) -> tuple[int, datetime | None]:
    """(how many deliveries of ``target`` are held, when the first is sent): annotated by ``with_held``, else read."""
    if hasattr(target, "held_count"):
        return int(target.held_count), getattr(target, "held_until", None)
    found = Delivery.objects.filter(HELD, notification=target).aggregate(n=Count("id"), first=Min("next_attempt_at"))
    return int(found["n"]), found["first"]

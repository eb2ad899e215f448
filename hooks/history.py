"""A target's (any kind's) delivery history for the admin: deliveries with their attempts, filtered.

Reads only. A page costs three queries whatever its size (count, the page of
deliveries, their attempts in one prefetch). Redelivery goes through
hooks.delivery's services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from .delivery.targets import AnyTarget
from .models import Delivery, HookLog

PAGE_SIZE = 25
# What "redeliver everything failed" takes again: as hooks.delivery.redeliver_webhook does.
REDELIVERABLE = (Delivery.Status.FAILED, Delivery.Status.SKIPPED)
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class HistoryFilterForm(forms.Form):
    """Outcome and time range of the deliveries shown (the time a delivery was created: its event's arrival)."""

    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *Delivery.Status.choices])
    since = forms.DateTimeField(
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Enter a date and time like 2026-01-31T18:30."},
    )
    until = forms.DateTimeField(
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Enter a date and time like 2026-01-31T18:30."},
    )
    page = forms.IntegerField(required=False, min_value=1, error_messages={"min_value": "Pages start at 1."})

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "Must not be before 'since'.")
        return cleaned


class RangeForm(HistoryFilterForm):
    """The window of a "redeliver everything failed" request (outcome and page are ignored)."""


@dataclass
class HistoryPage:
    page: Page
    deliveries: list[Delivery]


def _deliveries_of(target: AnyTarget) -> QuerySet[Delivery]:
    return Delivery.objects.filter(**{target.target_field: target})


def _in_window(deliveries: QuerySet[Delivery], since: datetime | None, until: datetime | None) -> QuerySet[Delivery]:
    if since:
        deliveries = deliveries.filter(created_at__gte=since)
    if until:
        deliveries = deliveries.filter(created_at__lte=until)
    return deliveries


def delivery_history(
    target: AnyTarget,
    *,
    outcome: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
) -> HistoryPage:
    """Newest deliveries first, each with ``attempt_logs`` (its HookLog rows, first attempt first)."""
    deliveries = _in_window(_deliveries_of(target), since, until)
    if outcome:
        deliveries = deliveries.filter(status=outcome)
    deliveries = deliveries.order_by("-created_at", "-id").prefetch_related(
        Prefetch("logs", queryset=HookLog.objects.order_by("triggered_at", "id"), to_attr="attempt_logs")
    )
    paginator = Paginator(deliveries, PAGE_SIZE)
    current = paginator.get_page(page)
    return HistoryPage(page=current, deliveries=list(current.object_list))


def redeliverable_in_window(target: AnyTarget, *, since: datetime | None, until: datetime | None) -> QuerySet[Delivery]:
    """The failed and skipped deliveries a range redelivery would queue again."""
    return _in_window(_deliveries_of(target), since, until).filter(status__in=REDELIVERABLE)


# --- The hook log (the API's list and bulk delete) ---------------------------------

# A filter's name (HookLogFilterSerializer's fields) → its lookup on HookLog.
LOG_FILTERS = {
    "hook": "hook_id",
    "webhook": "webhook_id",
    "notification": "notification_id",
    "event_name": "event_name",
    "hook_type": "hook_type",
    "success": "success",
    "is_test": "is_test",
    "since": "triggered_at__gte",
    "until": "triggered_at__lt",
}


def log_rows(filters: Mapping[str, Any]) -> tuple[QuerySet[HookLog], bool]:
    """Log rows matching the validated ``filters`` (None: unset), newest first; and whether any filter applied."""
    lookups = {lookup: filters[name] for name, lookup in LOG_FILTERS.items() if filters.get(name) is not None}
    return HookLog.objects.filter(**lookups).order_by("-triggered_at", "-id"), bool(lookups)

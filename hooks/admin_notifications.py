"""The admin of notification targets: the URLs shown masked, never in a page, a search or a filter.

Registered by ``hooks.admin`` (imported at its end). Every check is
``hooks.notification_services``'s, as in the API; its messages land on the
form's fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils import timezone

from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS
from events.errors import Invalid

from . import held, notification_services, validators
from .admin_base import HealthFilter, TargetAdminActions
from .models import NotificationConfig
from .notify import urls as notify_urls

FORM_FIELDS = [
    "name",
    "events",
    "enabled",
    "urls_text",
    "title_template",
    "body_template",
    "body_format",
    "quiet_start",
    "quiet_end",
    "quiet_timezone",
    "quiet_passes",
    "quiet_mode",
    "retry_count",
    "timeout_seconds",
]
_MODEL_FIELDS = [name for name in FORM_FIELDS if name != "urls_text"]
_EVENT_CHOICES = [(name, f"{name} — {EVENT_CATALOG[name].label}") for name in HOOKABLE_EVENTS]


class EventFilter(admin.SimpleListFilter):
    """The targets that list an event (``*``: those on every event); matched in Python, as the API does."""

    title = "event"
    parameter_name = "event"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(validators.ALL_EVENTS, "* (every event)"), *((name, name) for name in HOOKABLE_EVENTS)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[NotificationConfig]) -> QuerySet[NotificationConfig]:
        name = self.value()
        if not name:
            return queryset
        return queryset.filter(
            pk__in=[pk for pk, events in queryset.values_list("pk", "events") if name in (events or ())]
        )


class NotificationConfigForm(forms.ModelForm):
    # Checkboxes: Tab moves between them, Space ticks one; the service refuses * beside names, with a message.
    events = forms.MultipleChoiceField(
        choices=[(validators.ALL_EVENTS, "* — every event, including ones added later"), *_EVENT_CHOICES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick the events to notify about, or * alone for every event.",
    )
    urls_text = forms.CharField(
        label="Apprise URLs",
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=(
            "One URL per line (at most 10). Shown masked: leave a masked line as it is to keep the stored URL; "
            "change anything in it and enter the URL in full."
        ),
    )
    quiet_passes = forms.MultipleChoiceField(
        choices=[(name, name) for name in HOOKABLE_EVENTS], required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = NotificationConfig
        fields = _MODEL_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warnings: list[str] = []
        self.cleaned_fields: dict[str, Any] = {}
        if self.instance.pk:
            # The stored URLs are never put in the page: masked, and the mask keeps them.
            self.initial["urls_text"] = "\n".join(notify_urls.mask_url(url) for url in self.instance.urls)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = {name: self.cleaned_data[name] for name in _MODEL_FIELDS if name in self.cleaned_data}
        data["urls"] = [line.strip() for line in self.cleaned_data.get("urls_text", "").splitlines() if line.strip()]
        data["quiet_passes"] = list(self.cleaned_data.get("quiet_passes") or [])
        if "events" in data:
            data["events"] = list(data["events"])
        try:
            instance = self.instance if self.instance.pk else None
            self.cleaned_fields, self.warnings = notification_services.notification_clean(data, instance=instance)
        except Invalid as exc:
            for field, field_messages in exc.errors.items():
                name = "urls_text" if field == "urls" else field
                self.add_error(name if name in self.fields else None, list(field_messages))
        return self.cleaned_data


@admin.register(NotificationConfig)
class NotificationConfigAdmin(TargetAdminActions):
    form = NotificationConfigForm
    HELD_SHOWN = 20
    list_display = [
        "name",
        "subscribed",
        "enabled",
        "services",
        "last_triggered_at",
        "trigger_count",
        "consecutive_failures",
        "held_now",
        "disabled_reason",
    ]
    list_filter = ["enabled", HealthFilter, EventFilter, "body_format"]
    # Never the urls column: a search or a filter on it would be an oracle for the secrets inside.
    search_fields = ["name", "disabled_reason"]
    search_help_text = "Name or disable reason (the URLs are never searched)."
    readonly_fields = ["held_now", "held_list", "services", *NotificationConfig.stats_fields]
    fieldsets = [
        (None, {"fields": ["name", "events", "enabled", "urls_text", "retry_count", "timeout_seconds"]}),
        ("Message", {"fields": ["title_template", "body_template", "body_format"]}),
        (
            "Quiet hours",
            {"fields": ["quiet_start", "quiet_end", "quiet_timezone", "quiet_mode", "quiet_passes", "held_list"]},
        ),
        ("Health", {"fields": ["services", *NotificationConfig.stats_fields]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationConfig]:
        return held.with_held(super().get_queryset(request))

    @admin.display(description="Held")
    def held_now(self, obj: NotificationConfig) -> str:
        count, until = held.held_summary(obj)
        return f"{count}, first sent {timezone.localtime(until):%Y-%m-%d %H:%M}" if count and until else "—"

    @admin.display(description="Held until the quiet hours end")
    def held_list(self, obj: NotificationConfig) -> str:
        if not obj.pk:
            return "—"
        rows = list(held.held_deliveries(obj)[: self.HELD_SHOWN + 1])
        if not rows:
            return "None: nothing is waiting."
        count = held.held_summary(obj)[0]
        lines = [
            f"{row.event_name} (event {row.event_id}): sent at {timezone.localtime(row.next_attempt_at):%Y-%m-%d %H:%M}"
            for row in rows[: self.HELD_SHOWN]
        ]
        if count > self.HELD_SHOWN:
            lines.append(f"… and {count - self.HELD_SHOWN} more")
        return "\n".join(lines)

    @admin.display(description="Events")
    def subscribed(self, obj: NotificationConfig) -> str:
        return ", ".join(obj.event_names)

    @admin.display(description="Services")
    def services(self, obj: NotificationConfig) -> str:
        return ", ".join(notify_urls.schemes(list(obj.urls)))

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] == "urls":
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NotificationConfig], search_term: str
    ) -> tuple[QuerySet[NotificationConfig], bool]:
        for term in search_term.split():
            queryset = queryset.filter(Q(name__icontains=term) | Q(disabled_reason__icontains=term))
        return queryset, False

    def save_model(
        self, request: HttpRequest, obj: NotificationConfig, form: NotificationConfigForm, change: bool
    ) -> None:
        if change:
            current = NotificationConfig.objects.get(pk=obj.pk)
            notification_services.notification_update(target=current, data=form.cleaned_fields, source="admin")
        else:
            target, _warnings = notification_services.notification_create(data=form.cleaned_fields, source="admin")
            obj.pk = target.pk
        obj.refresh_from_db()
        for warning in form.warnings:
            self.message_user(request, warning, messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: NotificationConfig) -> None:
        notification_services.notification_delete(target=obj, source="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[NotificationConfig]) -> None:
        for target in queryset:
            notification_services.notification_delete(target=target, source="admin")

    def target_set_enabled(self, target: NotificationConfig, *, enabled: bool) -> bool:
        return notification_services.notification_set_enabled(target=target, enabled=enabled, source="admin")

    def target_failures_reset(self, target: NotificationConfig) -> None:
        notification_services.notification_failures_reset(target=target, source="admin")

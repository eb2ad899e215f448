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

from events.catalog import HOOKABLE_EVENTS
from events.errors import Invalid

from . import notification_services, validators
from .admin_base import HealthFilter, TargetAdminActions
from .admin_pages import HEALTH_COLUMNS, TargetPagesMixin
from .models import NotificationConfig
from .notify import urls as notify_urls

FORM_FIELDS = [
    "name",
    "event_name",
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


class NotificationConfigForm(forms.ModelForm):
    event_name = forms.ChoiceField(
        choices=[(validators.ALL_EVENTS, "* (every event)"), *((name, name) for name in HOOKABLE_EVENTS)]
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
        try:
            instance = self.instance if self.instance.pk else None
            self.cleaned_fields, self.warnings = notification_services.notification_clean(data, instance=instance)
        except Invalid as exc:
            for field, field_messages in exc.errors.items():
                name = "urls_text" if field == "urls" else field
                self.add_error(name if name in self.fields else None, list(field_messages))
        return self.cleaned_data


@admin.register(NotificationConfig)
class NotificationConfigAdmin(TargetPagesMixin, TargetAdminActions):
    form = NotificationConfigForm
    list_display = [
        "name",
        "event_name",
        "enabled",
        "services",
        "last_triggered_at",
        "trigger_count",
        "consecutive_failures",
        "disabled_reason",
        *HEALTH_COLUMNS,
    ]
    list_filter = ["enabled", HealthFilter, "event_name", "body_format"]
    # Never the urls column: a search or a filter on it would be an oracle for the secrets inside.
    search_fields = ["name", "disabled_reason"]
    search_help_text = "Name or disable reason (the URLs are never searched)."
    readonly_fields = [
        "services",
        "last_triggered_at",
        "last_error",
        "consecutive_failures",
        "trigger_count",
        "disabled_reason",
        "disabled_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "event_name", "enabled", "urls_text", "retry_count", "timeout_seconds"]}),
        ("Message", {"fields": ["title_template", "body_template", "body_format"]}),
        ("Quiet hours", {"fields": ["quiet_start", "quiet_end", "quiet_timezone", "quiet_mode", "quiet_passes"]}),
        (
            "Health",
            {
                "fields": [
                    "services",
                    "last_triggered_at",
                    "last_error",
                    "consecutive_failures",
                    "trigger_count",
                    "disabled_reason",
                    "disabled_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

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

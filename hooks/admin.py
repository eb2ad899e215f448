"""Admin for script hooks, webhooks and the (read-only) run log.

Forms validate with ``hooks.validators`` and save through ``hooks.services``
(source ``admin``), like the API. A webhook's secret is never rendered: the
form has a write-only "new secret" field (blank keeps the stored one), a
"clear" and a "generate" checkbox; a generated secret is shown once.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from . import (
    admin_notifications,  # noqa: F401 - registers NotificationConfig
    delivery,
    services,
    validators,
)
from .admin_base import HealthFilter, TargetAdminActions
from .admin_forms import HOOK_FIELDS, WEBHOOK_FIELDS, HookConfigForm, WebhookConfigForm
from .admin_pages import HEALTH_COLUMNS, TargetPagesMixin
from .models import HookConfig, HookLog, PendingEvent, WebhookConfig
from .redaction import redact_headers

# Webhook columns that hold a secret (the URL may carry a password): never searched or filtered on.
SECRET_BEARING_FIELDS = frozenset({"secret", "url"})


@admin.register(HookConfig)
class HookConfigAdmin(TargetPagesMixin, TargetAdminActions):
    form = HookConfigForm
    list_display = [
        "name",
        "event_name",
        "enabled",
        "last_status",
        "last_triggered_at",
        "trigger_count",
        "consecutive_failures",
        *HEALTH_COLUMNS,
    ]
    list_filter = ["enabled", HealthFilter, "event_name", "last_status"]
    search_fields = ["name", "script_path"]
    readonly_fields = list(HookConfig.stats_fields)

    def save_model(self, request: HttpRequest, obj: HookConfig, form: HookConfigForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in HOOK_FIELDS}
        if change:
            current = HookConfig.objects.get(pk=obj.pk)
            changed = {name: fields[name] for name in form.changed_data if name in fields}
            services.hook_update(hook=current, data=changed, source="admin")
        else:
            obj.pk = services.hook_create(**fields, source="admin").pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: HookConfig) -> None:
        services.hook_delete(hook=obj, source="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[HookConfig]) -> None:
        for hook in queryset:
            services.hook_delete(hook=hook, source="admin")

    def target_set_enabled(self, target: HookConfig, *, enabled: bool) -> bool:
        return bool(services.hooks_set_enabled(hooks=[target], enabled=enabled, source="admin"))

    def target_failures_reset(self, target: HookConfig) -> None:
        services.hook_failures_reset(hook=target, source="admin")


@admin.register(WebhookConfig)
class WebhookConfigAdmin(TargetPagesMixin, TargetAdminActions):
    form = WebhookConfigForm
    list_display = [
        "name",
        "event_name",
        "enabled",
        "last_status_code",
        "last_triggered_at",
        "trigger_count",
        "consecutive_failures",
        "disabled_reason",
        "secret_set",
        *HEALTH_COLUMNS,
    ]
    list_filter = ["enabled", HealthFilter, "event_name", "last_status_code"]
    # The URL is searched too, as shown (get_search_results); never a column holding a secret.
    search_fields = ["name", "disabled_reason"]
    search_help_text = "Name, disable reason, or part of the URL as shown (a password in it never matches)."
    readonly_fields = ["secret_set", *WebhookConfig.stats_fields]
    fieldsets = [
        (None, {"fields": tuple(WEBHOOK_FIELDS)}),
        ("Signing secret", {"fields": ["secret_set", "new_secret", "clear_secret", "generate_secret"]}),
        ("Health", {"fields": list(WebhookConfig.stats_fields)}),
    ]

    @admin.display(boolean=True, description="Secret set")
    def secret_set(self, obj: WebhookConfig) -> bool:
        return obj.has_secret

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WebhookConfig], search_term: str
    ) -> tuple[QuerySet[WebhookConfig], bool]:
        """Search the name, the disable reason and the masked URL: a password is never a match.

        A database lookup on the url column would match inside the password
        (``?q=`` guesses it); the URL is matched in Python as the list would
        show it. Each word must match one of them, as in Django's own search.
        """
        terms = [
            unescape_string_literal(bit) if bit[:1] in "\"'" and bit[0] == bit[-1] else bit
            for bit in smart_split(search_term)
        ]
        if not terms:
            return queryset, False
        shown = {pk: validators.mask_url(url).casefold() for pk, url in queryset.values_list("pk", "url")}
        for term in terms:
            in_url = [pk for pk, url in shown.items() if term.casefold() in url]
            queryset = queryset.filter(Q(name__icontains=term) | Q(disabled_reason__icontains=term) | Q(pk__in=in_url))
        return queryset, False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # ?secret__startswith=a or ?url__contains=pw in the changelist's query string would be a guessing oracle.
        if lookup.split(LOOKUP_SEP, 1)[0] in SECRET_BEARING_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    def save_model(self, request: HttpRequest, obj: WebhookConfig, form: WebhookConfigForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in WEBHOOK_FIELDS}
        secret, generate = form.secret_change()
        if change:
            current = WebhookConfig.objects.get(pk=obj.pk)
            changed = {name: fields[name] for name in form.changed_data if name in fields}
            webhook = services.webhook_update(
                webhook=current, data={**changed, **secret}, generate_secret=generate, source="admin"
            )
        else:
            # Without a "secret" key the service generates one (generate is then True).
            webhook = services.webhook_create(**{**fields, **secret}, source="admin")
            obj.pk = webhook.pk
        obj.refresh_from_db()
        for warning in form.url_warnings:
            self.message_user(request, warning, messages.WARNING)
        if generate:
            self.message_user(
                request,
                format_html(
                    "New signing secret for {}: <code>{}</code> — copy it now, it will not be shown again.",
                    webhook.name,
                    webhook.secret,
                ),
                messages.WARNING,
            )

    def delete_model(self, request: HttpRequest, obj: WebhookConfig) -> None:
        services.webhook_delete(webhook=obj, source="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookConfig]) -> None:
        for webhook in queryset:
            services.webhook_delete(webhook=webhook, source="admin")

    def target_set_enabled(self, target: WebhookConfig, *, enabled: bool) -> bool:
        """Enabling also clears an automatic disable and resets the failure count."""
        if enabled:
            services.webhook_enable(webhook=target, source="admin")
        else:
            services.webhook_disable(webhook=target, source="admin")
        return True

    def target_failures_reset(self, target: WebhookConfig) -> None:
        services.webhook_failures_reset(webhook=target, source="admin")


_LOG_FIELDS = (
    "triggered_at",
    "hook_name",
    "hook_type",
    "hook",
    "webhook",
    "notification",
    "delivery",
    "event_name",
    "event_id",
    "attempt",
    "is_test",
    "success",
    "will_retry",
    "skipped",
    "exit_code",
    "status_code",
    "duration_ms",
    "error",
    "stdout",
    "stderr",
    "sent_headers",
    "response_body",
    "response_headers",
)


@admin.register(HookLog)
class HookLogAdmin(admin.ModelAdmin):
    """Read-only: log rows are written by the runner and delivery, deleted by retention or by hand."""

    list_display = [
        "triggered_at",
        "hook_name",
        "hook_type",
        "event_name",
        "success",
        "attempt",
        "is_test",
        "status_code",
        "exit_code",
        "duration_ms",
    ]
    list_filter = ["hook_type", "success", "is_test", "event_name"]
    search_fields = ["hook_name", "event_name", "error"]
    date_hierarchy = "triggered_at"
    fields = _LOG_FIELDS
    readonly_fields = _LOG_FIELDS
    actions = ["redeliver"]

    @admin.display(description="Request headers")
    def sent_headers(self, obj: HookLog) -> str:
        return format_html("<pre>{}</pre>", json.dumps(redact_headers(obj.request_headers), indent=2))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: HookLog | None = None) -> bool:
        return False

    @admin.action(description="Redeliver (webhooks: queue the event again)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[HookLog]) -> None:
        done = 0
        for log in queryset:
            try:
                delivery.redeliver_log(log)
            except ValueError as exc:
                self.message_user(request, f"{log}: {exc}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"Queued {done} redelivery(ies).", messages.SUCCESS)


@admin.register(PendingEvent)
class PendingEventAdmin(admin.ModelAdmin):
    """Events stored by producers and not yet fanned out: this list stays empty while queue workers run."""

    list_display = ["created_at", "event_name", "event_id"]
    list_filter = ["event_name"]
    search_fields = ["event_id"]
    fields = ("event_id", "event_name", "created_at", "envelope")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PendingEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PendingEvent | None = None) -> bool:
        # Deleting one would drop an event without a trace: they leave only by being delivered.
        return False

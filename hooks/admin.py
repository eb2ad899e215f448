"""Admin for script hooks, webhooks and the (read-only) run log.

Forms validate with ``hooks.validators`` and save through ``hooks.services``
(source ``admin``), like the API. A webhook's secret is never rendered: the
form has a write-only "new secret" field (blank keeps the stored one), a
"clear" and a "generate" checkbox; a generated secret is shown once.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from events.catalog import HOOKABLE_EVENTS

from . import delivery, services, validators
from .admin_pages import HEALTH_COLUMNS, TargetPagesMixin
from .models import HookConfig, HookLog, PendingEvent, WebhookConfig
from .redaction import redact_headers

# "Test now" runs synchronously in the request: keep a selection small.
MAX_TESTS_PER_ACTION = 10


# Webhook columns that hold a secret (the URL may carry a password): never searched or filtered on.
SECRET_BEARING_FIELDS = frozenset({"secret", "url"})

# The configuration fields the forms edit (the admin rebuilds Meta.fields from fieldsets).
HOOK_FIELDS = ["name", "event_name", "script_path", "enabled", "timeout_seconds"]
WEBHOOK_FIELDS = ["name", "event_name", "url", "enabled", "retry_count", "timeout_seconds"]


class _EventChoiceField(forms.ChoiceField):
    """A dropdown of events whose value is checked by hooks.validators (same messages as the API)."""

    def valid_value(self, value: Any) -> bool:
        return True


def _text(max_length: int, **kwargs: Any) -> forms.CharField:
    # No max_length on the field itself: hooks.validators gives the message.
    return forms.CharField(widget=forms.TextInput(attrs={"maxlength": max_length, "size": 60}), **kwargs)


def _number(initial: int, message: str) -> forms.IntegerField:
    # No bounds on the field itself: hooks.validators gives the message.
    return forms.IntegerField(initial=initial, error_messages={"invalid": message})


class HookConfigForm(forms.ModelForm):
    name = _text(validators.NAME_MAX_LENGTH)
    event_name = _EventChoiceField(choices=[(name, name) for name in HOOKABLE_EVENTS])
    script_path = _text(
        validators.SCRIPT_PATH_MAX_LENGTH, help_text=HookConfig._meta.get_field("script_path").help_text
    )
    timeout_seconds = _number(30, validators.HOOK_TIMEOUT_MESSAGE)

    class Meta:
        model = HookConfig
        fields = HOOK_FIELDS

    def clean_name(self) -> str:
        return validators.validate_name(self.cleaned_data.get("name", ""))

    def clean_event_name(self) -> str:
        return validators.validate_hook_event_name(self.cleaned_data.get("event_name", ""))

    def clean_script_path(self) -> str:
        return validators.validate_script_path(self.cleaned_data.get("script_path", ""))

    def clean_timeout_seconds(self) -> int:
        return validators.validate_hook_timeout(self.cleaned_data.get("timeout_seconds"))


class WebhookConfigForm(forms.ModelForm):
    name = _text(validators.NAME_MAX_LENGTH)
    url = _text(validators.URL_MAX_LENGTH)
    retry_count = _number(3, validators.RETRY_COUNT_MESSAGE)
    timeout_seconds = _number(10, validators.WEBHOOK_TIMEOUT_MESSAGE)
    event_name = _EventChoiceField(
        choices=[(validators.ALL_EVENTS, "* (every event)"), *((name, name) for name in HOOKABLE_EVENTS)]
    )
    new_secret = forms.CharField(
        required=False,
        strip=False,
        max_length=validators.SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Leave blank to keep the stored secret — or, for a new webhook, to have a whsec_ secret generated "
            "and shown once after saving. The stored secret is never shown."
        ),
    )
    clear_secret = forms.BooleanField(
        required=False,
        label="No secret",
        help_text="Remove the stored secret, or create the webhook without one: deliveries go unsigned.",
    )
    generate_secret = forms.BooleanField(
        required=False, help_text="Replace the secret with a new whsec_ one, shown once after saving."
    )

    class Meta:
        model = WebhookConfig
        fields = WEBHOOK_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set by clean_url: shown as admin messages once the webhook is saved.
        self.url_warnings: list[str] = []
        if self.instance.pk and "url" in self.initial:
            # The stored password is never put in the page; saving the mask keeps it.
            self.initial["url"] = validators.mask_url(self.initial["url"])

    def clean_name(self) -> str:
        return validators.validate_name(self.cleaned_data.get("name", ""))

    def clean_event_name(self) -> str:
        return validators.validate_webhook_event_name(self.cleaned_data.get("event_name", ""))

    def clean_url(self) -> str:
        url = validators.validate_url_syntax(self.cleaned_data.get("url", ""))
        # The mask keeps the stored password only for the same address; then check the real URL.
        url = validators.unmask_url(url, self.instance.url if self.instance.pk else None)
        url, warning = validators.check_url(url)
        self.url_warnings = [warning] if warning else []
        return url

    def clean_retry_count(self) -> int:
        return validators.validate_retry_count(self.cleaned_data.get("retry_count"))

    def clean_timeout_seconds(self) -> int:
        return validators.validate_webhook_timeout(self.cleaned_data.get("timeout_seconds"))

    def clean_new_secret(self) -> str:
        return validators.validate_secret(self.cleaned_data.get("new_secret", ""))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        chosen = [bool(cleaned.get("new_secret")), cleaned.get("clear_secret"), cleaned.get("generate_secret")]
        if sum(bool(choice) for choice in chosen) > 1:
            raise ValidationError("Choose only one of: a new secret, clear the secret, generate a secret.")
        return cleaned

    def secret_change(self) -> tuple[dict[str, str], bool]:
        """What the form asks of the secret: ({} | {"secret": value}, generate).

        A new webhook with nothing asked gets a generated secret (DESIGN.md §4);
        "No secret" is the explicit way to create it unsigned.
        """
        if self.cleaned_data.get("new_secret"):
            return {"secret": self.cleaned_data["new_secret"]}, False
        if self.cleaned_data.get("clear_secret"):
            return {"secret": ""}, False
        return {}, bool(self.cleaned_data.get("generate_secret")) or not self.instance.pk


class TargetAdminActions(admin.ModelAdmin):
    """The actions of every target kind's admin: test now, enable, disable, reset failures, redeliver.

    A kind's admin says how one of its targets is switched on or off and its
    failures reset, through ``hooks.services`` (source "admin"):
    ``target_set_enabled`` and ``target_failures_reset``.
    """

    actions = ["enable", "disable", "reset_failures", "test_now", "redeliver_failed"]

    def target_set_enabled(self, target: Any, *, enabled: bool) -> bool:
        """Switch ``target`` on or off; whether it changed."""
        raise NotImplementedError

    def target_failures_reset(self, target: Any) -> None:
        raise NotImplementedError

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet, *, enabled: bool) -> None:
        count = sum(self.target_set_enabled(target, enabled=enabled) for target in queryset)
        done = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{done} {count} {self.opts.verbose_name}(s).", messages.SUCCESS)

    @admin.action(description="Enable selected %(verbose_name_plural)s")
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected %(verbose_name_plural)s")
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, enabled=False)

    @admin.action(description="Reset consecutive failures")
    def reset_failures(self, request: HttpRequest, queryset: QuerySet) -> None:
        for target in queryset:
            self.target_failures_reset(target)
        self.message_user(request, "Failure counts reset.", messages.SUCCESS)

    @admin.action(description="Test now (sample payload)")
    def test_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        targets = list(queryset[: MAX_TESTS_PER_ACTION + 1])
        if len(targets) > MAX_TESTS_PER_ACTION:
            self.message_user(request, f"Select at most {MAX_TESTS_PER_ACTION} to test at once.", messages.ERROR)
            return
        for target in targets:
            log = delivery.run_test(target)
            if log.success:
                self.message_user(request, f"{target.name}: test succeeded ({log.duration_ms} ms).", messages.SUCCESS)
            else:
                self.message_user(request, f"{target.name}: test failed: {log.error}", messages.ERROR)

    @admin.action(description="Redeliver failed and skipped deliveries")
    def redeliver_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        for target in queryset:
            try:
                count = delivery.redeliver_target(target)
            except ValueError as exc:
                self.message_user(request, f"{target.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{target.name}: queued {count} delivery(ies) again.", messages.SUCCESS)


class HealthFilter(admin.SimpleListFilter):
    """Healthy, failing (consecutive failures), or disabled automatically (a disable reason is set)."""

    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        choices = [("healthy", "Healthy"), ("failing", "Failing")]
        if hasattr(model_admin.model, "disabled_reason"):
            choices.append(("auto_disabled", "Disabled automatically"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "healthy":
            return queryset.filter(consecutive_failures=0)
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "auto_disabled":
            return queryset.filter(enabled=False).exclude(disabled_reason="")
        return queryset


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
    readonly_fields = [
        "last_triggered_at",
        "last_status",
        "trigger_count",
        "consecutive_failures",
        "created_at",
        "updated_at",
    ]

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
    readonly_fields = [
        "secret_set",
        "last_triggered_at",
        "last_status_code",
        "last_error",
        "consecutive_failures",
        "trigger_count",
        "disabled_reason",
        "disabled_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": tuple(WEBHOOK_FIELDS)}),
        ("Signing secret", {"fields": ["secret_set", "new_secret", "clear_secret", "generate_secret"]}),
        (
            "Health",
            {
                "fields": [
                    "last_triggered_at",
                    "last_status_code",
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


from . import admin_notifications  # noqa: E402, F401 - registers NotificationConfig (it builds on the classes above)

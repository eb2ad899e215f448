"""The admin's forms for script hooks and webhooks: the fields they edit, the secrets they keep."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from events.catalog import HOOKABLE_EVENTS

from . import validators
from .models import HookConfig, WebhookConfig

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

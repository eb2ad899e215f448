"""DRF serializers for hook and webhook configuration and the hook log.

Field checks delegate to ``hooks.validators`` (shared with the admin); writes
go through ``hooks.services``. A webhook's secret is write-only: responses
carry ``has_secret`` and, only in the response to the request that generated
one, ``generated_secret``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.catalog import HOOKABLE_EVENTS

from . import validators
from .models import HookConfig, WebhookConfig


class TextField(serializers.CharField):
    """A CharField that refuses text no store accepts (a lone surrogate) before any other check runs.

    Field validators such as the script path or URL checks touch the file
    system and DNS, which raise on such text; refusing it first makes it a
    field message (400) on every text field alike.
    """

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return validators.validate_text(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None


class CheckedCharField(TextField):
    """A CharField whose length limit is checked (and worded) by hooks.validators; still in the schema."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, MaxLengthValidator)]


@extend_schema_field({"type": "string", "enum": list(HOOKABLE_EVENTS)})
class HookEventField(TextField):
    pass


@extend_schema_field({"type": "string", "enum": [*HOOKABLE_EVENTS, validators.ALL_EVENTS]})
class WebhookEventField(TextField):
    pass


def name_field() -> serializers.CharField:
    return TextField(
        max_length=validators.NAME_MAX_LENGTH,
        min_length=1,
        error_messages={
            "blank": validators.NAME_MESSAGE,
            "max_length": validators.NAME_MESSAGE,
            "min_length": validators.NAME_MESSAGE,
        },
        help_text="A name to recognise it by, 1 to 100 characters.",
    )


def bounded_int(bounds: tuple[int, int], default: int, message: str, help_text: str) -> serializers.IntegerField:
    low, high = bounds
    return serializers.IntegerField(
        min_value=low,
        max_value=high,
        default=default,
        error_messages={"min_value": message, "max_value": message, "invalid": message, "max_string_length": message},
        help_text=help_text,
    )


class HookConfigSerializer(serializers.ModelSerializer):
    """A script hook: an executable file in SUBLARR_HOOKS_DIR run on one event."""

    name = name_field()
    event_name = HookEventField(
        validators=[validators.validate_hook_event_name],  # type: ignore[list-item]  # DRF ignores the returned value
        help_text="The catalog event that runs the script (hook_executed is refused: it would loop).",
    )
    script_path = CheckedCharField(
        max_length=validators.SCRIPT_PATH_MAX_LENGTH,
        validators=[validators.validate_script_path],
        error_messages={"blank": validators.SCRIPT_PATH_REQUIRED_MESSAGE},
        help_text="Path of an executable regular file inside SUBLARR_HOOKS_DIR, relative to it or absolute.",
    )
    enabled = serializers.BooleanField(default=True, help_text="Whether the hook runs on its event.")
    last_status = serializers.ChoiceField(
        choices=HookConfig.Status.choices,
        allow_blank=True,
        read_only=True,
        help_text="Outcome of the last run: success, failed, timeout, or empty if never run.",
    )
    timeout_seconds = bounded_int(
        validators.HOOK_TIMEOUT_BOUNDS,
        30,
        validators.HOOK_TIMEOUT_MESSAGE,
        "Seconds before the script's whole process group is killed (1 to 300).",
    )

    class Meta:
        model = HookConfig
        fields = [
            "id",
            "name",
            "event_name",
            "enabled",
            "script_path",
            "timeout_seconds",
            *HookConfig.stats_fields,
        ]
        read_only_fields = list(HookConfig.stats_fields)
        extra_kwargs = {
            "id": {"help_text": "Identifier."},
            "last_triggered_at": {"help_text": "When the script last ran (null: never)."},
            "trigger_count": {"help_text": "How many times the script has run."},
            "consecutive_failures": {"help_text": "Failed runs since the last success."},
            "created_at": {"help_text": "When the hook was created."},
            "updated_at": {"help_text": "When the hook was last changed."},
        }


class WebhookConfigSerializer(serializers.ModelSerializer):
    """An HTTP endpoint that receives one event (or every event, ``*``) as signed JSON."""

    name = name_field()
    event_name = WebhookEventField(
        validators=[validators.validate_webhook_event_name],  # type: ignore[list-item]  # DRF ignores the returned value
        help_text="The catalog event to deliver, or * for every event (hook_executed is refused: it would loop).",
    )
    url = CheckedCharField(
        max_length=validators.URL_MAX_LENGTH,
        validators=[validators.validate_url_syntax],
        error_messages={"blank": validators.URL_SCHEME_MESSAGE, "max_length": validators.URL_LENGTH_MESSAGE},
        help_text=(
            "http:// or https:// URL (at most 2048 characters) that receives a POST per event. A password in it "
            "(https://user:password@host/) is shown as ********; sending the URL back with ******** keeps the "
            "stored password only if the scheme, host, port and user name are unchanged (else: 400, send the "
            "password again). Loopback is refused unless SUBLARR_WEBHOOK_ALLOW_LOOPBACK=true, private LAN "
            "addresses when SUBLARR_WEBHOOK_BLOCK_PRIVATE=true; a host name that does not resolve yet is saved "
            "with a warning (see warnings)."
        ),
    )
    secret = CheckedCharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=validators.SECRET_MAX_LENGTH,
        validators=[validators.validate_secret],
        error_messages={"max_length": validators.SECRET_LENGTH_MESSAGE},
        help_text=(
            "Write-only signing secret. On create: omit it and the server generates a whsec_ secret, returned "
            "once in generated_secret; send an empty string to create the webhook unsigned (explicitly). On "
            "update: omit it to keep the stored one; send an empty string to clear it. Never returned: see "
            "has_secret."
        ),
    )
    generate_secret = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text=(
            "Set true to have the server generate a new whsec_ secret, returned once in generated_secret "
            "(on update: replaces the stored one; on create it is what omitting secret does anyway)."
        ),
    )
    has_secret = serializers.BooleanField(read_only=True, help_text="Whether a signing secret is stored.")
    generated_secret = serializers.SerializerMethodField(
        help_text=(
            "The secret the server generated in this very request (a create without secret, generate_secret, "
            "or rotate-secret); null otherwise. Store it now: it is never shown again."
        )
    )
    warnings = serializers.SerializerMethodField(
        help_text=(
            "Things to know about what this very request saved, e.g. that the URL's host did not resolve "
            "(deliveries fail until it does); empty otherwise."
        )
    )
    enabled = serializers.BooleanField(default=True, help_text="Whether events are delivered to this URL.")
    retry_count = bounded_int(
        validators.RETRY_COUNT_BOUNDS,
        3,
        validators.RETRY_COUNT_MESSAGE,
        "Retries after a failed delivery (0 to 10), scheduled in the queue with backoff.",
    )
    timeout_seconds = bounded_int(
        validators.WEBHOOK_TIMEOUT_BOUNDS,
        10,
        validators.WEBHOOK_TIMEOUT_MESSAGE,
        "Seconds to wait for the receiver's answer (1 to 60).",
    )

    class Meta:
        model = WebhookConfig
        fields = [
            "id",
            "name",
            "event_name",
            "url",
            "secret",
            "generate_secret",
            "has_secret",
            "generated_secret",
            "warnings",
            "enabled",
            "retry_count",
            "timeout_seconds",
            *WebhookConfig.stats_fields,
        ]
        read_only_fields = list(WebhookConfig.stats_fields)
        extra_kwargs = {
            "id": {"help_text": "Identifier."},
            "last_triggered_at": {"help_text": "When a delivery was last attempted (null: never)."},
            "last_status_code": {"help_text": "HTTP status of the last attempt (null: none or no answer)."},
            "last_error": {"help_text": "Error of the last failed attempt, empty after a success."},
            "consecutive_failures": {"help_text": "Failed deliveries since the last success."},
            "trigger_count": {"help_text": "How many deliveries were attempted."},
            "disabled_reason": {"help_text": "Why the webhook was disabled automatically (e.g. HTTP 410), or empty."},
            "disabled_at": {"help_text": "When it was disabled automatically (null: not auto-disabled)."},
            "created_at": {"help_text": "When the webhook was created."},
            "updated_at": {"help_text": "When the webhook was last changed."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Set by validate_url: what the view should tell the client along with the saved webhook.
        self.url_warnings: list[str] = []

    def validate_url(self, value: str) -> str:
        # A client that PUTs back what it read sends the masked password: keep the stored
        # one (same address only), then check the address that will really be used.
        url = validators.unmask_url(value, self.instance.url if self.instance else None)
        url, warning = validators.check_url(url)
        self.url_warnings = [warning] if warning else []
        return url

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("generate_secret") and "secret" in attrs:
            raise serializers.ValidationError({"generate_secret": [validators.SECRET_CONFLICT_MESSAGE]})
        return attrs

    def to_representation(self, instance: WebhookConfig) -> dict[str, Any]:
        data = super().to_representation(instance)
        if data.get("url"):
            data["url"] = validators.mask_url(data["url"])
        return data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_generated_secret(self, obj: WebhookConfig) -> str | None:
        return self.context.get("generated_secret")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, obj: WebhookConfig) -> list[str]:
        return list(self.context.get("warnings", []))


class SecretSerializer(serializers.Serializer):
    """The response to a secret rotation: the only time the new secret is shown."""

    secret = CheckedCharField(help_text="The new whsec_ secret. Store it now: it is never shown again.")
    webhook = WebhookConfigSerializer(help_text="The webhook after the rotation.")


class QueryParamsSerializer(serializers.Serializer):
    """Query-string filters: a filter given without a value is an error, not silently ignored."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        blank = {
            name: ["This filter needs a value."]
            for name in self.fields
            if name in data and str(data.get(name, "")).strip() == ""
        }
        if blank:
            raise serializers.ValidationError(blank)  # type: ignore[arg-type]  # stubs: BindingDict yields fields; it yields names
        return super().to_internal_value(data)


class ConfigFilterSerializer(QueryParamsSerializer):
    """Filters of the hook and webhook lists."""

    event_name = TextField(
        required=False, help_text="Only those on this event (or * for webhooks and notifications on every event)."
    )
    enabled = serializers.BooleanField(required=False, help_text="true or false.")

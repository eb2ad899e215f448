"""DRF serializers for incoming sources and request records.

The API key is never readable: the response to a create or a rotation
carries ``api_key`` once. The Basic password is write-only (``has_basic_auth``
says whether one is set).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from . import validators
from .models import IncomingRequest, IncomingSource, SourceKind

# The services' rules (incoming.validators) as field validators too, so that the
# OpenAPI schema states them (a RegexValidator's pattern, max_length); the
# services still check every write (the admin, the CLI).
_NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"
_NOT_BLANK_NO_CONTROL = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


def _prefix_field(help_text: str) -> serializers.CharField:
    message = validators.PREFIX_MESSAGE
    return serializers.CharField(
        max_length=validators.PREFIX_MAX_LENGTH,
        validators=[RegexValidator(_NOT_BLANK_NO_CONTROL, message=message)],
        error_messages={"max_length": message, "blank": message},
        help_text=help_text,
    )


class PathMappingSerializer(serializers.Serializer):
    remote = _prefix_field("The path prefix as the app sees it, e.g. /tv or D:\\TV.")
    local = _prefix_field("The same place as sublarr sees it, e.g. /media/tv (no '..' component).")


class IncomingSourceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        max_length=validators.NAME_MAX_LENGTH,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", message=validators.NAME_MESSAGE)],
        error_messages={"max_length": validators.NAME_MESSAGE, "blank": validators.NAME_MESSAGE},
        help_text="Letters, digits, '-' and '_' (unique): the URL is /api/incoming/<name>/.",
    )
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    basic_username = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=validators.BASIC_USERNAME_MAX_LENGTH,
        validators=[RegexValidator(r"^[^:\x00-\x1f\x7f]+$", message=validators.BASIC_USERNAME_MESSAGE)],
        error_messages={"max_length": validators.BASIC_USERNAME_MESSAGE},
        help_text="HTTP Basic user name (no ':'); set with basic_password, or both empty for none.",
    )
    basic_password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        max_length=validators.BASIC_PASSWORD_MAX_LENGTH,
        validators=[RegexValidator(_NO_CONTROL, message=validators.BASIC_PASSWORD_MESSAGE)],
        error_messages={"max_length": validators.BASIC_PASSWORD_MESSAGE},
        help_text="Write-only.",
    )
    # At most MAX_PATH_MAPPINGS: the service checks it (a list serializer's max_length
    # would word and nest the message differently); incoming.api's schema states it.
    path_mappings = PathMappingSerializer(many=True, required=False)
    url = serializers.SerializerMethodField(help_text="Where the app posts (add the key: see docs/INCOMING.md).")

    class Meta:
        model = IncomingSource
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "url",
            "basic_username",
            "basic_password",
            "has_basic_auth",
            "path_mappings",
            "last_request_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "has_basic_auth", "last_request_at", "created_at", "updated_at"]

    def get_url(self, obj: IncomingSource) -> str:
        return f"/api/incoming/{obj.name}/"


class IncomingSourceCreatedSerializer(IncomingSourceSerializer):
    api_key = serializers.CharField(help_text="Shown in this response only; store it in the app now.")

    class Meta(IncomingSourceSerializer.Meta):
        fields = [*IncomingSourceSerializer.Meta.fields, "api_key"]


class ApiKeySerializer(serializers.Serializer):
    api_key = serializers.CharField(help_text="The new key, shown once; the old one stops working at once.")
    source = IncomingSourceSerializer()  # type: ignore[assignment]  # a field named like Field.source; DRF's metaclass takes it


class IncomingRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncomingRequest
        fields = [
            "id",
            "request_id",
            "source",
            "source_name",
            "source_kind",
            "app_event",
            "outcome",
            "status_code",
            "error",
            "event_id",
            "duration_ms",
            "received_at",
        ]
        read_only_fields = fields


class IncomingRequestFilterSerializer(serializers.Serializer):
    # A field named like Field.source; DRF's metaclass takes it. Bounded: SQLite and PostgreSQL ids are 64-bit.
    source = serializers.IntegerField(  # type: ignore[assignment]
        required=False, min_value=1, max_value=2**63 - 1, help_text="Only this source's requests."
    )
    outcome = serializers.ChoiceField(choices=IncomingRequest.Outcome.choices, required=False)


def mappings_as_dicts(value: Any) -> Any:
    """Validated nested mappings (OrderedDicts) as plain dicts for the service."""
    if isinstance(value, list):
        return [dict(item) for item in value]
    return value

"""DRF serializers for incoming sources and request records.

The API key is never readable: the response to a create or a rotation
carries ``api_key`` once. The Basic password is write-only (``has_basic_auth``
says whether one is set).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import IncomingRequest, IncomingSource, SourceKind


class PathMappingSerializer(serializers.Serializer):
    remote = serializers.CharField(help_text="The path prefix as the app sees it, e.g. /tv or D:\\TV.")
    local = serializers.CharField(help_text="The same place as sublarr sees it, e.g. /media/tv.")


class IncomingSourceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(help_text="Letters, digits, '-' and '_': the URL is /api/incoming/<name>/.")
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    basic_username = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    basic_password = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False, help_text="Write-only."
    )
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
    source = serializers.IntegerField(required=False, min_value=1, help_text="Only this source's requests.")  # type: ignore[assignment]  # a field named like Field.source; DRF's metaclass takes it
    outcome = serializers.ChoiceField(choices=IncomingRequest.Outcome.choices, required=False)


def mappings_as_dicts(value: Any) -> Any:
    """Validated nested mappings (OrderedDicts) as plain dicts for the service."""
    if isinstance(value, list):
        return [dict(item) for item in value]
    return value

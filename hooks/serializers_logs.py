"""Serializers of the hook log API (``hooks.api_logs``): a log row, the list's filters, the bulk delete."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import HookLog, HookType
from .redaction import redact_headers
from .serializers import QueryParamsSerializer


class HookLogSerializer(serializers.ModelSerializer):
    """One script run or webhook attempt and its outcome."""

    request_headers = serializers.SerializerMethodField(
        help_text="Webhooks: the request headers sent, with secrets and signatures redacted."
    )

    class Meta:
        model = HookLog
        fields = [
            "id",
            "hook",
            "webhook",
            "notification",
            "delivery",
            "hook_name",
            "event_name",
            "event_id",
            "hook_type",
            "attempt",
            "is_test",
            "success",
            "will_retry",
            "skipped",
            "exit_code",
            "status_code",
            "stdout",
            "stderr",
            "error",
            "duration_ms",
            "request_headers",
            "response_body",
            "response_headers",
            "triggered_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "Identifier."},
            "hook": {"help_text": "The script hook run (null for webhooks, or once the hook is deleted)."},
            "webhook": {"help_text": "The webhook called (null for scripts, or once the webhook is deleted)."},
            "notification": {"help_text": "The notification target (null for others, or once it is deleted)."},
            "delivery": {"help_text": "The delivery this attempt belongs to (null for test runs)."},
            "hook_name": {"help_text": "The hook's or webhook's name at the time (kept after deletion)."},
            "event_name": {"help_text": "The event delivered."},
            "event_id": {"help_text": "The event's envelope id (the same for every attempt of one event)."},
            "hook_type": {"help_text": "script, webhook or notification."},
            "attempt": {"help_text": "Attempt number, from 1."},
            "is_test": {"help_text": "Whether this was a test run with a sample payload."},
            "success": {"help_text": "Whether the run or delivery succeeded."},
            "will_retry": {"help_text": "Whether another attempt is scheduled after this failure."},
            "skipped": {"help_text": "Whether the delivery was skipped (webhook disabled)."},
            "exit_code": {"help_text": "Scripts: the exit code (null on timeout or for webhooks)."},
            "status_code": {"help_text": "Webhooks: the HTTP response status (null without an answer)."},
            "stdout": {"help_text": "Scripts: standard output, capped. Notifications: the title and body sent."},
            "stderr": {"help_text": "Scripts: standard error, capped. Notifications: a template's fallback reason."},
            "error": {"help_text": "What went wrong, empty on success."},
            "duration_ms": {"help_text": "How long the run or request took, in milliseconds."},
            "response_body": {"help_text": "Webhooks: a capped excerpt of the response body."},
            "triggered_at": {"help_text": "When the attempt started."},
        }

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": (
                "Webhooks: the request headers sent, with secrets and signatures redacted. "
                "Notifications: {schemes: the services' schemes} (never a URL)."
            ),
        }
    )
    def get_request_headers(self, obj: HookLog) -> dict[str, str]:
        return redact_headers(obj.request_headers)


# --- Query parameters --------------------------------------------------------


_MAX_ID = 2**63 - 1


class HookLogFilterSerializer(QueryParamsSerializer):
    """Filters of the hook log (list and bulk delete)."""

    hook = serializers.IntegerField(
        required=False, min_value=1, max_value=_MAX_ID, help_text="Only runs of this script hook (id)."
    )
    webhook = serializers.IntegerField(
        required=False, min_value=1, max_value=_MAX_ID, help_text="Only attempts of this webhook (id)."
    )
    notification = serializers.IntegerField(
        required=False, min_value=1, max_value=_MAX_ID, help_text="Only attempts of this notification target (id)."
    )
    event_name = serializers.CharField(required=False, help_text="Only this event.")
    hook_type = serializers.ChoiceField(
        choices=HookType.choices, required=False, help_text="script, webhook or notification."
    )
    success = serializers.BooleanField(required=False, help_text="true or false.")
    is_test = serializers.BooleanField(required=False, help_text="true or false.")
    since = serializers.DateTimeField(required=False, help_text="Only attempts at or after this time (ISO 8601).")
    until = serializers.DateTimeField(
        required=False, help_text="Only attempts before this time (ISO 8601); an empty window selects nothing."
    )


class HookLogBulkDeleteSerializer(HookLogFilterSerializer):
    """The hook log's filters, plus the switch that allows deleting everything."""

    all = serializers.BooleanField(
        required=False, default=False, help_text="Required (true) to delete every log row when no filter is given."
    )


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="How many log rows were deleted.")

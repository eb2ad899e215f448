"""REST API for redelivery (staff only).

``POST /api/hook-logs/{id}/redeliver/`` — the delivery of one log entry, again.
``POST /api/webhooks/{id}/redeliver/`` — every failed or skipped delivery of a
webhook, optionally only those whose event arrived in ``[since, until]``.
Both queue the work (202); the outcome shows up in the hook log. A request
the current state refuses (a test run, a vanished delivery, a disabled
webhook, an attempt in flight) is a 409: well formed, but not now.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.api_schema import error_responses, id_parameter

from . import delivery
from .models import HookLog, WebhookConfig


class RedeliverRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Only deliveries of events that arrived at or after this time."
    )
    # An until before since is an empty window, as in the hook log's filters:
    # it selects nothing (a rule across two fields no schema can state).
    until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Only deliveries of events that arrived at or before this time (before since: none).",
    )


class RedeliveredDeliverySerializer(serializers.Serializer):
    delivery_id = serializers.IntegerField(help_text="The delivery queued again.")
    event_id = serializers.UUIDField(help_text="The event's id: the webhook-id header, as in the first delivery.")
    status = serializers.CharField(help_text="The delivery's status now (pending).")


class RedeliveredCountSerializer(serializers.Serializer):
    redelivered = serializers.IntegerField(help_text="How many deliveries were queued again.")


_ERRORS = error_responses(
    401,
    403,
    404,
    409,
    descriptions={
        404: "No such log entry or webhook.",
        409: "Not redeliverable in its current state; detail says why.",
    },
)


class HookLogRedeliverView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["hook-logs"],
        operation_id="hook_logs_redeliver",
        summary="Redeliver one logged delivery",
        description=(
            "Queue the delivery this log entry belongs to again, with a fresh retry budget. The event and "
            "its id (the webhook-id header) are the original ones. 409 for a test run, a deleted delivery, "
            "a disabled target or a delivery being attempted right now."
        ),
        parameters=id_parameter("log entry"),
        request=None,
        responses={202: RedeliveredDeliverySerializer, **_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        log = get_object_or_404(HookLog, pk=pk)
        queued = delivery.redeliver_log(log)  # a RedeliveryError is a 409 (events.api_errors)
        body = {"delivery_id": queued.pk, "event_id": str(queued.event_id), "status": queued.status}
        return Response(RedeliveredDeliverySerializer(body).data, status=status.HTTP_202_ACCEPTED)


class WebhookRedeliverView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["webhooks"],
        operation_id="webhooks_redeliver",
        summary="Redeliver a webhook's failed and skipped deliveries",
        description=(
            "Queue again every failed or skipped delivery of this webhook whose event arrived in "
            "[since, until] (both optional, ISO 8601). 409 when the webhook is disabled: enable it first."
        ),
        parameters=id_parameter("webhook"),
        request=RedeliverRangeSerializer,
        responses={202: RedeliveredCountSerializer, **error_responses(400), **_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        webhook = get_object_or_404(WebhookConfig, pk=pk)
        serializer = RedeliverRangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        since, until = serializer.validated_data.get("since"), serializer.validated_data.get("until")
        if since and until and since > until:
            return Response({"redelivered": 0}, status=status.HTTP_202_ACCEPTED)
        count = delivery.redeliver_target(
            webhook, since=since, until=until
        )  # a RedeliveryError is a 409 (events.api_errors)
        return Response({"redelivered": count}, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("hook-logs/<int:pk>/redeliver/", HookLogRedeliverView.as_view(), name="hooklog-redeliver"),
    path("webhooks/<int:pk>/redeliver/", WebhookRedeliverView.as_view(), name="webhook-redeliver"),
]

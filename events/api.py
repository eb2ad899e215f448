"""REST API: the event catalog, and emitting an event (staff)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_schema import error_responses
from .catalog import EVENT_CATALOG, catalog_listing
from .services import emit_event


class EventSpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the catalog's key, named like Field.label; DRF's metaclass takes it
    description = serializers.CharField()
    payload_keys = serializers.ListField(child=serializers.CharField())
    meta = serializers.BooleanField(help_text="Meta-events reach WebSocket clients but never trigger hooks.")
    version = serializers.IntegerField(help_text="CATALOG_VERSION")
    schema = serializers.DictField(
        help_text=(
            "JSON Schema (draft 2020-12) of the event's envelope: each payload key's type and whether it may "
            "be null, no other key. Its $id ends in the catalog version (urn:sublarr:event:<name>:<version>)."
        )
    )


class EnvelopeSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="One per emitted event; the same in every copy (deduplicate on it).")
    event_name = serializers.CharField()
    version = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    data = serializers.DictField()  # type: ignore[assignment]  # the envelope's key, named like Serializer.data; DRF's metaclass takes it


# What an emit answers, documented once: the catch-all view and each event's own path (events/urls.py).
EMIT_RESPONSES: dict[int, Any] = {
    202: EnvelopeSerializer,
    **error_responses(
        400,
        403,
        413,
        503,
        descriptions={
            400: (
                "Malformed JSON, or nested deeper than 64 levels ({detail}); or a bad payload: an undeclared "
                "key, a value not of the key's type (see the catalog's schema), text that is not valid "
                "Unicode ({<key or non_field_errors>: [message]})."
            ),
            403: "Authenticated, but not a staff user.",
            413: "Body larger than SUBLARR_EVENT_MAX_BODY_BYTES.",
            503: "The database cannot be reached: nothing was emitted; retry after Retry-After seconds.",
        },
    ),
}
EMIT_PARAMETERS = [
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[503],
        description="Seconds to wait before emitting again.",
    )
]


class EventCatalogView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="events_catalog",
        summary="List the event catalog",
        responses={200: EventSpecSerializer(many=True)},
        tags=["events"],
    )
    def get(self, request: Request) -> Response:
        return Response(catalog_listing())


class EventEmitView(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        operation_id="events_emit",
        summary="Emit an event with the posted payload (staff only)",
        description=(
            "The body is the event's payload: a JSON object with only the event's declared payload keys, "
            "each value of its key's type (GET /api/events/ publishes a JSON Schema per event). "
            "The event goes to WebSocket clients, hooks and webhooks; the response is its envelope. "
            "Bodies above SUBLARR_EVENT_MAX_BODY_BYTES (64 KiB by default) are refused with 413."
        ),
        request=OpenApiTypes.OBJECT,
        responses={
            **EMIT_RESPONSES,
            **error_responses(404, descriptions={404: "Unknown event; the message lists the valid events."}),
        },
        parameters=EMIT_PARAMETERS,
        tags=["events"],
    )
    def post(self, request: Request, name: str) -> Response:
        if name not in EVENT_CATALOG:
            raise NotFound(f"Unknown event {name!r}. Valid events: {', '.join(EVENT_CATALOG)}.")
        too_large = _body_too_large(request)
        if too_large:
            return Response({"detail": too_large}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        # An EventError (bad payload) is a 400 with the key's message: events.api_errors answers it.
        envelope = emit_event(name, _payload(request))
        return Response(envelope, status=status.HTTP_202_ACCEPTED)


def _body_too_large(request: Request) -> str | None:
    """The 413 message for a body above SUBLARR_EVENT_MAX_BODY_BYTES, else None."""
    limit: int = settings.SUBLARR_EVENT_MAX_BODY_BYTES
    message = f"Request body too large: the limit is {limit} bytes (SUBLARR_EVENT_MAX_BODY_BYTES)."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Refused before reading when the client says so; checked again on what
    # was read, for a body sent without a length.
    if declared > limit or len(request.body) > limit:
        return message
    return None


def _payload(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = request.data
    except ParseError as exc:
        reason = str(exc.detail).removeprefix("JSON parse error - ")
        raise ParseError(f"Malformed JSON: {reason}") from None
    if not isinstance(data, dict):
        raise ValidationError(
            {"non_field_errors": [f"The body must be a JSON object of payload keys, not {type(data).__name__}."]}
        )
    return data

"""REST API for notification targets (staff only): ``/api/notifications/``.

CRUD, ``test/`` (a sample event sent now, its log row answered),
``enable/`` and ``redeliver/`` (failed and skipped deliveries again), like
webhooks. The URLs are write-only in substance: answered masked
(``hooks.notify.urls.mask_url``); a masked URL sent back exactly as shown
keeps the stored one. ``held_count`` / ``held_until``: the notifications
waiting for the quiet hours to end (``hooks.held``). Every check is
``hooks.notification_services``'s; its refusals are 400 with field →
messages (templates: ``line N: message``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.api_schema import error_responses, id_parameter
from events.catalog import HOOKABLE_EVENTS

from . import delivery, held, notification_services, validators
from .api_delivery import RedeliveredCountSerializer, RedeliverRangeSerializer
from .models import NotificationConfig
from .notify import urls as notify_urls
from .notify.templates import MAX_TEMPLATE_CHARS
from .serializers import ConfigFilterSerializer, TextField, bounded_int, name_field
from .serializers_logs import HookLogSerializer


@extend_schema_field({"type": "string", "description": f"One of: {', '.join(HOOKABLE_EVENTS)}."})
class _PassingEventField(TextField):
    """An event name (checked by the service; an enum here would be a second name for the hook events' set)."""


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string", "enum": ["*"]}, "minItems": 1, "maxItems": 1},
            {
                "type": "array",
                "items": {"type": "string", "enum": list(HOOKABLE_EVENTS)},
                "minItems": 1,
                "maxItems": len(HOOKABLE_EVENTS),
                "uniqueItems": True,
            },
        ]
    }
)
class _EventsField(serializers.ListField):
    """["*"], or catalog events (each once): checked by ``notification_services.validate_events``."""


class NotificationConfigSerializer(serializers.ModelSerializer):
    """A notification target: Apprise URLs that get a rendered title and body on its events (or every event)."""

    name = name_field()
    events = _EventsField(
        child=TextField(allow_blank=True),  # every problem a message of the list's own (validate_events)
        validators=[notification_services.validate_events],  # type: ignore[list-item]  # DRF ignores the returned value
        help_text=(
            'The catalog events to notify about (each once, stored in catalog order), or ["*"] for every event; '
            "hook_executed is refused (it would loop)."
        ),
    )
    urls = serializers.ListField(
        child=TextField(max_length=validators.URL_MAX_LENGTH),
        min_length=1,
        max_length=notify_urls.MAX_URLS,
        help_text=(
            "One to ten Apprise URLs (json://, ntfy://, gotify://, discord://, tgram://, mailto://… see "
            "docs/NOTIFICATIONS.md). Answered masked (tokens and passwords as ********); send a masked URL back "
            "exactly as shown to keep the stored one. Every host is checked by the webhooks' address policy."
        ),
    )
    title_template = TextField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_TEMPLATE_CHARS,
        help_text="Jinja2 (sandboxed) title; empty: the event's default. Refused at save with line and message.",
    )
    body_template = TextField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_TEMPLATE_CHARS,
        help_text="Jinja2 (sandboxed) body; empty: the event's default.",
    )
    body_format = serializers.ChoiceField(
        choices=NotificationConfig.BodyFormat.choices, default="text", help_text="text or markdown."
    )
    quiet_start = TextField(required=False, allow_blank=True, help_text="Quiet hours start, HH:MM; empty: none.")
    quiet_end = TextField(required=False, allow_blank=True, help_text="Quiet hours end, HH:MM (may cross midnight).")
    quiet_timezone = TextField(required=False, allow_blank=True, max_length=64, help_text="IANA time zone.")
    quiet_passes = serializers.ListField(
        child=_PassingEventField(), required=False, help_text="Events sent inside the quiet hours too."
    )
    quiet_mode = serializers.ChoiceField(
        choices=NotificationConfig.QuietMode.choices,
        default="hold",
        help_text="Inside the quiet hours: hold (send when they end) or skip.",
    )
    enabled = serializers.BooleanField(default=True, help_text="Whether events are notified.")
    retry_count = bounded_int(
        validators.RETRY_COUNT_BOUNDS, 3, validators.RETRY_COUNT_MESSAGE, "Retries after a failed notification (0-10)."
    )
    timeout_seconds = bounded_int(
        validators.WEBHOOK_TIMEOUT_BOUNDS, 10, validators.WEBHOOK_TIMEOUT_MESSAGE, "Seconds per attempt (1 to 60)."
    )
    warnings = serializers.SerializerMethodField(
        help_text="Things to know about what this request saved (a host that does not resolve now); else empty."
    )
    held_count = serializers.SerializerMethodField(
        help_text="Notifications held by the quiet hours (mode hold), waiting for the window to end; not yet logged."
    )
    held_until = serializers.SerializerMethodField(
        help_text="When the first held notification is sent (the window's end); null when none is held."
    )

    class Meta:
        model = NotificationConfig
        fields = [
            "id",
            "name",
            "events",
            "urls",
            "title_template",
            "body_template",
            "body_format",
            "quiet_start",
            "quiet_end",
            "quiet_timezone",
            "quiet_passes",
            "quiet_mode",
            "enabled",
            "retry_count",
            "timeout_seconds",
            "warnings",
            "held_count",
            "held_until",
            *NotificationConfig.stats_fields,
        ]
        read_only_fields = list(NotificationConfig.stats_fields)

    def to_representation(self, instance: NotificationConfig) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["urls"] = [notify_urls.mask_url(url) for url in instance.urls]
        return data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, obj: NotificationConfig) -> list[str]:
        return list(self.context.get("warnings", []))

    @extend_schema_field(serializers.IntegerField(min_value=0))
    def get_held_count(self, obj: NotificationConfig) -> int:
        return held.held_summary(obj)[0]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_held_until(self, obj: NotificationConfig) -> str | None:
        until = held.held_summary(obj)[1]
        return serializers.DateTimeField().to_representation(until) if until else None


_WHAT = "notification"


def _filter_targets(queryset: QuerySet[NotificationConfig], request: Request) -> QuerySet[NotificationConfig]:
    """``?enabled=``, and ``?event_name=``: the targets that list that event (``*``: those on every event)."""
    params = ConfigFilterSerializer(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    if params.validated_data.get("enabled") is not None:
        queryset = queryset.filter(enabled=params.validated_data["enabled"])
    if "event_name" in params.validated_data:
        # A JSON list is matched in Python (SQLite has no JSON containment): a handful of targets, two queries.
        name = params.validated_data["event_name"]
        listed = [pk for pk, events in queryset.values_list("pk", "events") if name in (events or ())]
        queryset = queryset.filter(pk__in=listed)
    return queryset


@extend_schema_view(
    list=extend_schema(
        summary="List notification targets",
        parameters=[ConfigFilterSerializer],
        responses={200: NotificationConfigSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    create=extend_schema(
        summary="Create a notification target",
        responses={201: NotificationConfigSerializer, **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get a notification target",
        parameters=id_parameter(_WHAT),
        responses={200: NotificationConfigSerializer, **error_responses(404, 401, 403)},
    ),
    update=extend_schema(
        summary="Replace a notification target",
        parameters=id_parameter(_WHAT),
        responses={200: NotificationConfigSerializer, **error_responses(400, 404, 401, 403)},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a notification target",
        parameters=id_parameter(_WHAT),
        responses={200: NotificationConfigSerializer, **error_responses(400, 404, 401, 403)},
    ),
    destroy=extend_schema(
        summary="Delete a notification target",
        parameters=id_parameter(_WHAT),
        responses={204: None, **error_responses(404, 401, 403)},
    ),
)
class NotificationViewSet(viewsets.ModelViewSet):
    """Notification targets: Apprise URLs that get a rendered message per event."""

    permission_classes = [IsAdminUser]
    serializer_class = NotificationConfigSerializer
    queryset = NotificationConfig.objects.all()

    def get_queryset(self) -> QuerySet[NotificationConfig]:
        queryset = held.with_held(NotificationConfig.objects.order_by("name", "id"))
        if self.action == "list":
            queryset = _filter_targets(queryset, self.request)
        return queryset

    def _respond(self, target: NotificationConfig, warnings: list[str], code: int = status.HTTP_200_OK) -> Response:
        context = {**self.get_serializer_context(), "warnings": warnings}
        return Response(NotificationConfigSerializer(target, context=context).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target, warnings = notification_services.notification_create(data=dict(serializer.validated_data), source="api")
        return self._respond(target, warnings, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self.get_object()
        serializer = self.get_serializer(target, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        target, warnings = notification_services.notification_update(
            target=target, data=dict(serializer.validated_data), source="api"
        )
        return self._respond(target, warnings)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notification_services.notification_delete(target=self.get_object(), source="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a sample event's notification once now",
        parameters=id_parameter(_WHAT),
        description=(
            "Renders and sends a realistic sample of the target's first event (in catalog order; subtitle_downloaded "
            "for *) synchronously, no retries, and now even inside the quiet hours; logs it (is_test=true) and "
            "returns the log row. A failure is still 200: see success."
        ),
        request=None,
        responses={200: HookLogSerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        return Response(HookLogSerializer(delivery.run_test(self.get_object())).data)

    @extend_schema(
        summary="Re-enable a notification target",
        parameters=id_parameter(_WHAT),
        description="Enables it, resets its consecutive failure count and clears the disable reason.",
        request=None,
        responses={200: NotificationConfigSerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        target = self.get_object()
        notification_services.notification_set_enabled(target=target, enabled=True, source="api")
        return self._respond(target, [])


class NotificationRedeliverView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["notifications"],
        operation_id="notifications_redeliver",
        summary="Redeliver a notification target's failed and skipped deliveries",
        description=(
            "Queue again every failed or skipped delivery of this target whose event arrived in [since, until] "
            "(both optional, ISO 8601). 409 when the target is disabled: enable it first."
        ),
        parameters=id_parameter(_WHAT),
        request=RedeliverRangeSerializer,
        responses={
            202: RedeliveredCountSerializer,
            **error_responses(400, 401, 403, 404, 409, descriptions={409: "Disabled: enable it first."}),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        target = get_object_or_404(NotificationConfig, pk=pk)
        serializer = RedeliverRangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        since, until = serializer.validated_data.get("since"), serializer.validated_data.get("until")
        if since and until and since > until:
            return Response({"redelivered": 0}, status=status.HTTP_202_ACCEPTED)
        count = delivery.redeliver_target(target, since=since, until=until)  # RedeliveryError: 409
        return Response({"redelivered": count}, status=status.HTTP_202_ACCEPTED)


_list: dict[str, Any] = {"get": "list", "post": "create"}
_detail: dict[str, Any] = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    path("notifications/", NotificationViewSet.as_view(_list), name="notification-list"),
    path("notifications/<int:pk>/", NotificationViewSet.as_view(_detail), name="notification-detail"),
    path("notifications/<int:pk>/test/", NotificationViewSet.as_view({"post": "test"}), name="notification-test"),
    path("notifications/<int:pk>/enable/", NotificationViewSet.as_view({"post": "enable"}), name="notification-enable"),
    path("notifications/<int:pk>/redeliver/", NotificationRedeliverView.as_view(), name="notification-redeliver"),
]

"""REST API for hook and webhook configuration and the hook log (staff only).

``/api/hooks/``, ``/api/webhooks/`` — CRUD, ``test/``; webhooks also
``enable/`` and ``rotate-secret/``. ``/api/hook-logs/`` — newest first,
filtered, paginated; ``DELETE`` on the collection deletes what the same
filters select and refuses to delete everything unless ``?all=true``.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from events.api_schema import error_responses, id_parameter

from . import delivery, services
from .models import HookConfig, HookLog, WebhookConfig
from .serializers import (
    ConfigFilterSerializer,
    DeletedSerializer,
    HookConfigSerializer,
    HookLogBulkDeleteSerializer,
    HookLogFilterSerializer,
    HookLogSerializer,
    SecretSerializer,
    WebhookConfigSerializer,
)

BULK_DELETE_REFUSED = "Refusing to delete every log row: add filters, or ?all=true to delete them all."


def _run_test(target: HookConfig | WebhookConfig) -> Response:
    """Run ``target`` once now with a sample payload; answer its log row."""
    return Response(HookLogSerializer(delivery.run_test(target)).data)


def _filter_configs(queryset: QuerySet, request: Request) -> QuerySet:
    params = ConfigFilterSerializer(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    if "event_name" in params.validated_data:
        queryset = queryset.filter(event_name=params.validated_data["event_name"])
    if params.validated_data.get("enabled") is not None:
        queryset = queryset.filter(enabled=params.validated_data["enabled"])
    return queryset


@extend_schema_view(
    list=extend_schema(
        summary="List script hooks",
        parameters=[ConfigFilterSerializer],
        responses={200: HookConfigSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    create=extend_schema(
        summary="Create a script hook", responses={201: HookConfigSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="Get a script hook",
        parameters=id_parameter("script hook"),
        responses={200: HookConfigSerializer, **error_responses(404, 401, 403)},
    ),
    update=extend_schema(
        summary="Replace a script hook",
        parameters=id_parameter("script hook"),
        responses={200: HookConfigSerializer, **error_responses(400, 404, 401, 403)},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a script hook",
        parameters=id_parameter("script hook"),
        responses={200: HookConfigSerializer, **error_responses(400, 404, 401, 403)},
    ),
    destroy=extend_schema(
        summary="Delete a script hook (its log rows stay)",
        parameters=id_parameter("script hook"),
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 401, 403)},
    ),
)
class HookViewSet(viewsets.ModelViewSet):
    """Script hooks: executables in SUBLARR_HOOKS_DIR run on one catalog event."""

    permission_classes = [IsAdminUser]

    serializer_class = HookConfigSerializer
    queryset = HookConfig.objects.all()

    def get_queryset(self) -> QuerySet[HookConfig]:
        queryset = HookConfig.objects.order_by("name", "id")
        if self.action == "list":
            queryset = _filter_configs(queryset, self.request)
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hook = services.hook_create(**serializer.validated_data, source="api")
        return Response(self.get_serializer(hook).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        hook = self.get_object()
        serializer = self.get_serializer(hook, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        hook = services.hook_update(hook=hook, data=serializer.validated_data, source="api")
        return Response(self.get_serializer(hook).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.hook_delete(hook=self.get_object(), source="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Run a script hook once now with a sample payload",
        parameters=id_parameter("script hook"),
        description=(
            "Runs the script synchronously with a realistic sample payload of its event, logs the run "
            "(is_test=true) and returns the log row. A failed run is still 200: see success."
        ),
        request=None,
        responses={200: HookLogSerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        return _run_test(self.get_object())


@extend_schema_view(
    list=extend_schema(
        summary="List webhooks",
        parameters=[ConfigFilterSerializer],
        responses={200: WebhookConfigSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    create=extend_schema(
        summary='Create a webhook (signed by a generated secret unless secret is sent; "" for none)',
        responses={201: WebhookConfigSerializer, **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get a webhook",
        parameters=id_parameter("webhook"),
        responses={200: WebhookConfigSerializer, **error_responses(404, 401, 403)},
    ),
    update=extend_schema(
        summary="Replace a webhook (an omitted secret is kept)",
        parameters=id_parameter("webhook"),
        responses={200: WebhookConfigSerializer, **error_responses(400, 404, 401, 403)},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a webhook",
        parameters=id_parameter("webhook"),
        responses={200: WebhookConfigSerializer, **error_responses(400, 404, 401, 403)},
    ),
    destroy=extend_schema(
        summary="Delete a webhook (its log rows stay)",
        parameters=id_parameter("webhook"),
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 401, 403)},
    ),
)
class WebhookViewSet(viewsets.ModelViewSet):
    """Outgoing webhooks: signed JSON POSTs of one event, or of every event (``*``)."""

    permission_classes = [IsAdminUser]

    serializer_class = WebhookConfigSerializer
    queryset = WebhookConfig.objects.all()

    def get_queryset(self) -> QuerySet[WebhookConfig]:
        queryset = WebhookConfig.objects.order_by("name", "id")
        if self.action == "list":
            queryset = _filter_configs(queryset, self.request)
        return queryset

    def _respond(
        self,
        webhook: WebhookConfig,
        *,
        generated: bool,
        warnings: list[str] | None = None,
        status_code: int = status.HTTP_200_OK,
    ) -> Response:
        context = {
            **self.get_serializer_context(),
            "generated_secret": webhook.secret if generated else None,
            "warnings": warnings or [],
        }
        return Response(WebhookConfigSerializer(webhook, context=context).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = cast(WebhookConfigSerializer, self.get_serializer(data=request.data))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("generate_secret", False)
        # No secret given: the service generates one, shown in this response only; "" asks for none.
        generated = "secret" not in data
        webhook = services.webhook_create(**data, source="api")
        warnings = serializer.url_warnings
        return self._respond(webhook, generated=generated, warnings=warnings, status_code=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhook = self.get_object()
        serializer = cast(
            WebhookConfigSerializer,
            self.get_serializer(webhook, data=request.data, partial=kwargs.get("partial", False)),
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        generate = data.pop("generate_secret", False)
        webhook = services.webhook_update(webhook=webhook, data=data, generate_secret=generate, source="api")
        return self._respond(webhook, generated=generate, warnings=serializer.url_warnings)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_delete(webhook=self.get_object(), source="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Deliver a sample event to a webhook once now",
        parameters=id_parameter("webhook"),
        description=(
            "Posts a realistic sample payload of the webhook's event synchronously (no retries), logs the "
            "attempt (is_test=true) and returns the log row. A failed delivery is still 200: see success."
        ),
        request=None,
        responses={200: HookLogSerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        return _run_test(self.get_object())

    @extend_schema(
        summary="Re-enable a webhook",
        parameters=id_parameter("webhook"),
        description="Enables the webhook, resets its consecutive failure count and clears the disable reason.",
        request=None,
        responses={200: WebhookConfigSerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        webhook = services.webhook_enable(webhook=self.get_object(), source="api")
        return self._respond(webhook, generated=False)

    @extend_schema(
        summary="Replace a webhook's secret with a generated one",
        parameters=id_parameter("webhook"),
        description="Returns the new whsec_ secret once; it is never shown again.",
        request=None,
        responses={200: SecretSerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        webhook = self.get_object()
        secret = services.webhook_secret_rotate(webhook=webhook, source="api")
        return Response({"secret": secret, "webhook": WebhookConfigSerializer(webhook).data})


class HookLogPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    page_size_message = "Enter a page size from 1 to 500 (larger values are capped at 500)."

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [self.page_size_message]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Rows per page (default {self.page_size}; capped at {self.max_page_size})."
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = "Page number, from 1 (past the last page: 404)."
        return parameters


class WebhookConfigSchema(OpenApiSerializerExtension):
    """A webhook body may not carry a secret, even "", with generate_secret=true (the serializer refuses it)."""

    target_class = WebhookConfigSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction != "request":
            return schema
        both = {
            "required": ["secret", "generate_secret"],
            "properties": {"generate_secret": {"enum": [True]}},
        }
        return {**schema, "not": both}


# The bulk delete's query parameters as one exploded object (?hook=1&success=false),
# so that the schema can say what the server requires: at least one filter, or all=true.
_LOG_SELECTION = OpenApiParameter(
    "selection",
    HookLogBulkDeleteSerializer,
    OpenApiParameter.QUERY,
    required=True,
    style="form",
    explode=True,
    description="The filters (as separate query parameters): at least one, or all=true to delete every row.",
)


class HookLogSelectionSchema(OpenApiSerializerExtension):
    """The bulk delete's parameters: at least one filter, or all=true (what ``bulk_destroy`` refuses otherwise)."""

    target_class = HookLogBulkDeleteSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        filters = [{"required": [name]} for name in HookLogFilterSerializer().fields]
        everything = {"required": ["all"], "properties": {"all": {"type": "boolean", "enum": [True]}}}
        return {**schema, "anyOf": [*filters, everything]}


class HookLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The run log: one row per script run or webhook attempt, newest first."""

    permission_classes = [IsAdminUser]

    serializer_class = HookLogSerializer
    pagination_class = HookLogPagination
    queryset = HookLog.objects.all()

    def _filtered(self) -> tuple[QuerySet[HookLog], bool]:
        params = HookLogFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        lookups = {
            "hook": "hook_id",
            "webhook": "webhook_id",
            "notification": "notification_id",
            "event_name": "event_name",
            "hook_type": "hook_type",
            "success": "success",
            "is_test": "is_test",
            "since": "triggered_at__gte",
            "until": "triggered_at__lt",
        }
        filters = {
            lookup: params.validated_data[name]
            for name, lookup in lookups.items()
            if params.validated_data.get(name) is not None
        }
        return HookLog.objects.filter(**filters).order_by("-triggered_at", "-id"), bool(filters)

    def get_queryset(self) -> QuerySet[HookLog]:
        if self.action == "list":
            return self._filtered()[0]
        return HookLog.objects.all()

    @extend_schema(
        summary="List log rows, newest first",
        parameters=[HookLogFilterSerializer],
        responses={200: HookLogSerializer(many=True), **error_responses(400, 404, 401, 403)},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Get a log row",
        parameters=id_parameter("log row"),
        responses={200: HookLogSerializer, **error_responses(404, 401, 403)},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Delete the log rows the filters select",
        description=(
            "Takes the list's filters as query parameters. Without any filter it refuses (400) unless "
            "all=true is given, so a bare DELETE never empties the log by accident."
        ),
        parameters=[_LOG_SELECTION],
        request=None,
        responses={200: DeletedSerializer, **error_responses(400, 401, 403)},
    )
    def bulk_destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        logs, filtered = self._filtered()
        params = HookLogBulkDeleteSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        if not filtered and not params.validated_data["all"]:
            return Response({"detail": BULK_DELETE_REFUSED}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"deleted": services.hook_logs_delete(logs=logs)})


_hooks: dict[str, Any] = {"get": "list", "post": "create"}
_detail: dict[str, Any] = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    path("hooks/", HookViewSet.as_view(_hooks), name="hook-list"),
    path("hooks/<int:pk>/", HookViewSet.as_view(_detail), name="hook-detail"),
    path("hooks/<int:pk>/test/", HookViewSet.as_view({"post": "test"}), name="hook-test"),
    path("webhooks/", WebhookViewSet.as_view(_hooks), name="webhook-list"),
    path("webhooks/<int:pk>/", WebhookViewSet.as_view(_detail), name="webhook-detail"),
    path("webhooks/<int:pk>/test/", WebhookViewSet.as_view({"post": "test"}), name="webhook-test"),
    path("webhooks/<int:pk>/enable/", WebhookViewSet.as_view({"post": "enable"}), name="webhook-enable"),
    path(
        "webhooks/<int:pk>/rotate-secret/",
        WebhookViewSet.as_view({"post": "rotate_secret"}),
        name="webhook-rotate-secret",
    ),
    path("hook-logs/", HookLogViewSet.as_view({"get": "list", "delete": "bulk_destroy"}), name="hooklog-list"),
    path("hook-logs/<int:pk>/", HookLogViewSet.as_view({"get": "retrieve"}), name="hooklog-detail"),
]

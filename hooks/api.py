"""REST API for hook and webhook configuration (staff only), and the URLs of the hooks app's API.

``/api/hooks/``, ``/api/webhooks/`` — CRUD, ``test/``; webhooks also
``enable/`` and ``rotate-secret/``. The hook log's viewset is in
``hooks.api_logs`` (``/api/hook-logs/``), notifications' in
``hooks.api_notifications``.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from events.api_schema import crud_schema, error_responses, id_parameter

from . import delivery, services
from .api_logs import HookLogViewSet
from .models import HookConfig, WebhookConfig
from .serializers import (
    ConfigFilterSerializer,
    HookConfigSerializer,
    SecretSerializer,
    WebhookConfigSerializer,
)
from .serializers_logs import HookLogSerializer


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


@crud_schema(
    HookConfigSerializer,
    noun="script hook",
    plural="script hooks",
    filters=ConfigFilterSerializer,
    destroy="Delete a script hook (its log rows stay)",
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


@crud_schema(
    WebhookConfigSerializer,
    noun="webhook",
    plural="webhooks",
    filters=ConfigFilterSerializer,
    create='Create a webhook (signed by a generated secret unless secret is sent; "" for none)',
    update="Replace a webhook (an omitted secret is kept)",
    destroy="Delete a webhook (its log rows stay)",
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

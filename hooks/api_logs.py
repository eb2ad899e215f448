"""REST API for the hook log (staff only): ``/api/hook-logs/``.

Newest first, filtered (``history.log_rows``), paginated; ``DELETE`` on the
collection deletes what the same filters select and refuses to delete
everything unless ``?all=true``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from events.api_schema import error_responses, id_parameter

from . import history, services
from .models import HookLog
from .serializers_logs import DeletedSerializer, HookLogBulkDeleteSerializer, HookLogFilterSerializer, HookLogSerializer

BULK_DELETE_REFUSED = "Refusing to delete every log row: add filters, or ?all=true to delete them all."


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
        return history.log_rows(params.validated_data)

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

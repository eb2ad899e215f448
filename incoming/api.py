"""REST API (staff only): ``/api/incoming-sources/`` (CRUD, ``rotate-key/``) and ``/api/incoming-requests/``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from events.api_schema import crud_schema, error_responses, id_parameter

from . import selectors, services, validators
from .models import IncomingRequest, IncomingSource
from .serializers import (
    ApiKeySerializer,
    IncomingRequestFilterSerializer,
    IncomingRequestSerializer,
    IncomingSourceCreatedSerializer,
    IncomingSourceSerializer,
    mappings_as_dicts,
)


def _service_data(validated: dict[str, Any]) -> dict[str, Any]:
    data = dict(validated)
    if "path_mappings" in data:
        data["path_mappings"] = mappings_as_dicts(data["path_mappings"])
    return data


@crud_schema(
    IncomingSourceSerializer,
    noun="incoming source",
    plural="incoming sources",
    create="Create an incoming source (its API key is in this response only)",
    created=IncomingSourceCreatedSerializer,
    update="Replace an incoming source (the key is kept)",
    destroy="Delete an incoming source (its request records stay)",
)
class IncomingSourceViewSet(viewsets.ModelViewSet):
    """Apps allowed to post to /api/incoming/<name>/: kind, key, Basic credentials, path mappings."""

    permission_classes = [IsAdminUser]
    serializer_class = IncomingSourceSerializer
    queryset = IncomingSource.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incoming, key = services.source_create(**_service_data(serializer.validated_data), source="api")
        body = {**IncomingSourceSerializer(incoming).data, "api_key": key}
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = self.get_object()
        serializer = self.get_serializer(incoming, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        incoming = services.source_update(
            incoming=incoming, data=_service_data(serializer.validated_data), source="api"
        )
        return Response(self.get_serializer(incoming).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.source_delete(incoming=self.get_object(), source="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Replace the source's API key with a new generated one (shown once)",
        parameters=id_parameter("incoming source"),
        request=None,
        responses={200: ApiKeySerializer, **error_responses(404, 401, 403)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, pk: str | None = None) -> Response:
        incoming = self.get_object()
        key = services.source_key_rotate(incoming=incoming, source="api")
        return Response({"api_key": key, "source": IncomingSourceSerializer(incoming).data})


class IncomingSourceSchema(OpenApiSerializerExtension):
    """Basic credentials in a body: both set or neither; at most 50 path mappings (as the services check).

    Stricter than the server only for a PUT/PATCH that renames the user of a
    stored password (a username alone): the schema cannot know what is stored.
    """

    target_class = IncomingSourceSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction != "request":
            return schema
        neither = {"properties": {"basic_username": {"maxLength": 0}, "basic_password": {"maxLength": 0}}}
        both = {
            "required": ["basic_username", "basic_password"],
            "properties": {"basic_username": {"minLength": 1}, "basic_password": {"minLength": 1}},
        }
        # drf-spectacular leaves a list serializer's max_length out.
        schema["properties"]["path_mappings"]["maxItems"] = validators.MAX_PATH_MAPPINGS
        return {**schema, "anyOf": [neither, both]}


class IncomingRequestPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Records per page (default {self.page_size}, also for a size below 1; capped at "
                    f"{self.max_page_size})."
                )
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = "Page number, from 1 (past the last page: 404)."
        return parameters


@extend_schema_view(
    list=extend_schema(
        summary="List incoming requests, newest first",
        parameters=[IncomingRequestFilterSerializer],
        responses={200: IncomingRequestSerializer(many=True), **error_responses(400, 404, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="Get one incoming request record",
        parameters=id_parameter("request record"),
        responses={200: IncomingRequestSerializer, **error_responses(404, 401, 403)},
    ),
)
class IncomingRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every request to an incoming endpoint: time, source, app event, outcome, duration, request id."""

    permission_classes = [IsAdminUser]
    serializer_class = IncomingRequestSerializer
    pagination_class = IncomingRequestPagination
    queryset = IncomingRequest.objects.all()

    def get_queryset(self) -> QuerySet[IncomingRequest]:
        if self.action != "list":
            return IncomingRequest.objects.all()
        params = IncomingRequestFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        return selectors.request_list(
            source_id=params.validated_data.get("source"), outcome=params.validated_data.get("outcome")
        )

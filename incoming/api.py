"""REST API (staff only): ``/api/incoming-sources/`` (CRUD, ``rotate-key/``) and ``/api/incoming-requests/``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from . import selectors, services
from .models import IncomingRequest, IncomingSource
from .serializers import (
    ApiKeySerializer,
    IncomingRequestFilterSerializer,
    IncomingRequestSerializer,
    IncomingSourceCreatedSerializer,
    IncomingSourceSerializer,
    mappings_as_dicts,
)


@contextlib.contextmanager
def _service_errors() -> Iterator[None]:
    """Turn a service's Django ValidationError into a 400 with field messages."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError(as_serializer_error(exc)) from None


def _service_data(validated: dict[str, Any]) -> dict[str, Any]:
    data = dict(validated)
    if "path_mappings" in data:
        data["path_mappings"] = mappings_as_dicts(data["path_mappings"])
    return data


@extend_schema_view(
    list=extend_schema(summary="List incoming sources"),
    create=extend_schema(
        summary="Create an incoming source (its API key is in this response only)",
        responses={201: IncomingSourceCreatedSerializer, 400: OpenApiResponse(description="Field messages.")},
    ),
    retrieve=extend_schema(summary="Get an incoming source"),
    update=extend_schema(summary="Replace an incoming source (the key is kept)"),
    partial_update=extend_schema(summary="Change some fields of an incoming source"),
    destroy=extend_schema(summary="Delete an incoming source (its request records stay)"),
)
class IncomingSourceViewSet(viewsets.ModelViewSet):
    """Apps allowed to post to /api/incoming/<name>/: kind, key, Basic credentials, path mappings."""

    permission_classes = [IsAdminUser]
    serializer_class = IncomingSourceSerializer
    queryset = IncomingSource.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with _service_errors():
            incoming, key = services.source_create(**_service_data(serializer.validated_data), source="api")
        body = {**IncomingSourceSerializer(incoming).data, "api_key": key}
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = self.get_object()
        serializer = self.get_serializer(incoming, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with _service_errors():
            incoming = services.source_update(
                incoming=incoming, data=_service_data(serializer.validated_data), source="api"
            )
        return Response(self.get_serializer(incoming).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.source_delete(incoming=self.get_object(), source="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Replace the source's API key with a new generated one (shown once)",
        request=None,
        responses={200: ApiKeySerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, pk: str | None = None) -> Response:
        incoming = self.get_object()
        key = services.source_key_rotate(incoming=incoming, source="api")
        return Response({"api_key": key, "source": IncomingSourceSerializer(incoming).data})


class IncomingRequestPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema_view(
    list=extend_schema(summary="List incoming requests, newest first", parameters=[IncomingRequestFilterSerializer]),
    retrieve=extend_schema(summary="Get one incoming request record"),
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

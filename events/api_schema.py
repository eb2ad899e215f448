"""The API's error responses and id parameter, documented once for every app's OpenAPI operations.

Every error answer is one of two shapes: ``ErrorDetail`` (``{"detail": "…"}``:
authentication, permission, not found, conflict, unavailable) or ``FieldErrors``
(a 400: field name, ``non_field_errors`` or ``detail`` → messages). Views list
their status codes with ``error_responses(…)``; events is the bottom layer, so
hooks, scoring and incoming all import it from here. ``crud_schema`` documents
a ``ModelViewSet``'s six actions in the words every one of them uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    """What every non-400 error answers: one message."""

    detail = serializers.CharField(help_text="What went wrong.")


class FieldErrorsSerializer(serializers.Serializer):
    """What a 400 answers: messages per offending field (schema in ``FieldErrorsSchema``)."""


class FieldErrorsSchema(OpenApiSerializerExtension):
    """Field name → messages: DRF's validation error, which no declared field can describe."""

    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        # A nested field (a list of objects, an object) answers its own field → messages inside.
        return {
            "type": "object",
            "description": (
                "Field name (or non_field_errors / detail) → messages; a nested field's entry holds its own "
                "field → messages."
            ),
            "additionalProperties": {
                "oneOf": [
                    {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}]}},
                    {"type": "string"},
                    {"type": "object"},
                ]
            },
        }


DESCRIPTIONS = {
    400: "Invalid input: messages per offending field. Nothing was changed.",
    401: "Not authenticated (send a token or a session cookie).",
    403: "Authenticated, but not allowed (a staff user is required).",
    404: "No such object (or page).",
    409: "Well formed, but refused in the current state; detail says why.",
    413: "The request body is too large.",
    503: "A service (the database, the broker) cannot be reached; retry after Retry-After seconds.",
}


def error_responses(*codes: int, descriptions: Mapping[int, str] | None = None) -> dict[int, OpenApiResponse]:
    """The documented error responses ``codes``: 400 is ``FieldErrors``, every other ``ErrorDetail``."""
    described = {**DESCRIPTIONS, **(descriptions or {})}
    return {
        code: OpenApiResponse(FieldErrorsSerializer if code == 400 else ErrorDetailSerializer, described[code])
        for code in codes
    }


def id_parameter(kind: str) -> list[OpenApiParameter]:
    """The ``{id}`` path parameter of one ``kind`` of object."""
    return [OpenApiParameter("id", int, OpenApiParameter.PATH, description=f"The {kind}'s id.")]


V = TypeVar("V", bound=Callable[..., Any])  # a view class, as extend_schema_view takes it


def crud_schema(
    serializer: type[serializers.Serializer],
    *,
    noun: str,
    plural: str,
    filters: type[serializers.Serializer] | None = None,
    create: str = "",
    created: type[serializers.Serializer] | None = None,
    update: str = "",
    destroy: str = "",
) -> Callable[[V], V]:
    """The schema of a ``ModelViewSet`` of ``noun``s: list (with ``filters``), create, get, replace, change, delete.

    ``create``, ``update`` and ``destroy`` replace the plain summaries where
    an action does more than its name says; ``created`` is what a create
    answers when it is not ``serializer`` (a key shown once).
    """
    a = "an" if noun[0] in "aeiou" else "a"
    one = id_parameter(noun)
    listed: dict[str, Any] = {"parameters": [filters]} if filters else {}
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {plural}",
            **listed,
            responses={200: serializer(many=True), **error_responses(*((400,) if filters else ()), 401, 403)},
        ),
        create=extend_schema(
            summary=create or f"Create {a} {noun}",
            responses={201: created or serializer, **error_responses(400, 401, 403)},
        ),
        retrieve=extend_schema(
            summary=f"Get {a} {noun}", parameters=one, responses={200: serializer, **error_responses(404, 401, 403)}
        ),
        update=extend_schema(
            summary=update or f"Replace {a} {noun}",
            parameters=one,
            responses={200: serializer, **error_responses(400, 404, 401, 403)},
        ),
        partial_update=extend_schema(
            summary=f"Change some fields of {a} {noun}",
            parameters=one,
            responses={200: serializer, **error_responses(400, 404, 401, 403)},
        ),
        destroy=extend_schema(
            summary=destroy or f"Delete {a} {noun}",
            parameters=one,
            responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 401, 403)},
        ),
    )

"""The API's error responses and id parameter, documented once for every app's OpenAPI operations.

Every error answer is one of two shapes: ``ErrorDetail`` (``{"detail": "…"}``:
authentication, permission, not found, conflict, unavailable) or ``FieldErrors``
(a 400: field name, ``non_field_errors`` or ``detail`` → messages). Views list
their status codes with ``error_responses(…)``; events is the bottom layer, so
hooks, scoring and incoming all import it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
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

"""What the scoring API's modules share: who may read and write, input validation, errors, the weights' shape."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from events.api_schema import error_responses

from .scores import DEFAULT_SCORES, PROVIDER_NAME_RE, SCORE_TYPES
from .serializers import StrictSerializer, weight_field
from .validators import check_score_type

SOURCE = "api"


class ReadAuthenticatedWriteStaff(BasePermission):
    """Safe methods for any authenticated user; everything else for staff only."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def checked_type(score_type: str) -> str:
    return check_score_type(score_type=score_type)


READ_ERRORS = error_responses(401, descriptions={401: "Not authenticated."})
WRITE_ERRORS = {
    **error_responses(400),
    **READ_ERRORS,
    **error_responses(403, descriptions={403: "Not a staff user."}),
}
PROVIDER_PARAM = OpenApiParameter(
    "provider_name",
    str,
    OpenApiParameter.PATH,
    pattern=f"^{PROVIDER_NAME_RE.pattern}$",
    description="1-64 characters of [a-z0-9_-].",
)


def _type_weights(score_type: str) -> type[StrictSerializer]:
    keys = {
        key: weight_field(required=False, help_text=f"Integer 0-10000 (default {default}).")
        for key, default in DEFAULT_SCORES[score_type].items()
    }
    return type(f"{score_type.title()}Weights", (StrictSerializer,), keys)


# The weights of each type as a serializer (EpisodeWeights, MovieWeights): one class each, shared by the
# weights API and the configuration document.
TYPE_WEIGHTS = {score_type: _type_weights(score_type) for score_type in SCORE_TYPES}

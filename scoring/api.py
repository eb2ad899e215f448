"""REST API for scoring weights, provider modifiers and a what-if preview; the scoring URLs.

Backups, presets, minimum scores and hash trust are in ``scoring.api_config``;
what both share in ``scoring.api_common``.

Reads: any authenticated user. Writes: staff. Every write goes through
``scoring.services`` (validated, all or nothing, cache invalidated on commit,
``config_updated`` emitted with source "api").
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import URLPattern, path
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.api_schema import error_responses

from . import selectors, services
from .api_common import (
    PROVIDER_PARAM,
    READ_ERRORS,
    SOURCE,
    TYPE_WEIGHTS,
    WRITE_ERRORS,
    ReadAuthenticatedWriteStaff,
    checked_type,
    validated,
)
from .api_config import (
    ExportView,
    HashTrustDetailView,
    HashTrustListView,
    ImportView,
    PresetApplyView,
    PresetDetailView,
    PresetListView,
    ThresholdListView,
    threshold_type_view,
)
from .engine import STORED
from .preview import scoring_preview
from .scores import DEFAULT_SCORES, EPISODE, MOVIE, SCORE_TYPES
from .serializers import (
    ModifierSerializer,
    ModifierValueSerializer,
    PreviewRequestSerializer,
    PreviewResponseSerializer,
    StrictIntegerField,
    StrictSerializer,
    WeightsStateSerializer,
    WeightsUpdateSerializer,
    WeightTypeStateSerializer,
)


def _type_state(score_type: str) -> dict[str, Any]:
    overrides = selectors.weight_overrides(score_type)
    defaults = dict(DEFAULT_SCORES[score_type])
    return {
        "score_type": score_type,
        "effective": selectors.effective_weights(score_type, overrides),
        "defaults": defaults,
        "overridden": [key for key in defaults if key in overrides],
    }


class WeightsView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Scoring weights of every type",
        operation_id="scoring_weights_list",
        description="Per score type: the effective weights, the defaults, and which keys are overridden.",
        responses={200: WeightsStateSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({score_type: _type_state(score_type) for score_type in SCORE_TYPES})


# One score type's weights; routed once per type (_weight_type_view) so that
# the schema can say exactly which keys each type takes.
class WeightTypeView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    def get(self, request: Request, score_type: str) -> Response:
        return Response(_type_state(checked_type(score_type)))

    def put(self, request: Request, score_type: str) -> Response:
        return self._update(request, score_type, replace=True)

    def patch(self, request: Request, score_type: str) -> Response:
        return self._update(request, score_type, replace=False)

    def _update(self, request: Request, score_type: str, *, replace: bool) -> Response:
        score_type = checked_type(score_type)
        data = validated(WeightsUpdateSerializer, request.data)
        services.scoring_weights_update(
            score_type=score_type,
            weights=data["weights"],
            replace=replace,
            source=SOURCE,
        )
        return Response(_type_state(score_type))

    def delete(self, request: Request, score_type: str) -> Response:
        score_type = checked_type(score_type)
        services.scoring_weights_reset_type(score_type=score_type, source=SOURCE)
        return Response(_type_state(score_type))


class WeightKeyView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    def delete(self, request: Request, score_type: str, weight_key: str) -> Response:
        score_type = checked_type(score_type)
        services.scoring_weight_reset(score_type=score_type, weight_key=weight_key, source=SOURCE)
        return Response(_type_state(score_type))


# Any other score type: a 400 naming the valid ones (not in the schema, which
# lists the real types' paths).
class UnknownScoreTypeView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]
    schema = None

    def get(self, request: Request, score_type: str, weight_key: str | None = None) -> Response:
        checked_type(score_type)  # raises: each known type has routes of its own, ahead of this view's
        raise Http404

    put = patch = delete = get


# The schema of each score type's weights: exactly its keys, as the server
# refuses any other (which keys a type has cannot be said of one {score_type}
# path; one path per type can).
class WeightsUpdateBody(StrictSerializer):
    pass


class WeightsUpdateBodySchema(OpenApiSerializerExtension):
    """``weights`` is required in PATCH bodies too (an absent one is a 400, not an empty change)."""

    target_class = WeightsUpdateBody
    match_subclasses = True
    priority = 1

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        return {**schema, "required": ["weights"], "additionalProperties": False}


def _weights_body(score_type: str) -> type[WeightsUpdateBody]:
    weights = TYPE_WEIGHTS[score_type](help_text=f"Weight key -> integer 0-10000; only the {score_type} keys.")
    return type(f"{score_type.title()}WeightsUpdate", (WeightsUpdateBody,), {"weights": weights})


# A query with integer season and episode is an episode query (VideoQuery.score_type).
_EPISODE_QUERY = {
    "required": ["season", "episode"],
    "properties": {"season": {"type": "integer"}, "episode": {"type": "integer"}},
}


class PreviewRequestSchema(OpenApiSerializerExtension):
    """Trial weights take the keys of the query's type: one variant per type, told apart by the query."""

    target_class = PreviewRequestSerializer
    priority = 1

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        variants = {EPISODE: _EPISODE_QUERY, MOVIE: {"not": _EPISODE_QUERY}}
        weights = {name: auto_schema.resolve_serializer(body, direction).ref for name, body in TYPE_WEIGHTS.items()}
        one_of = [{"properties": {"query": variants[name], "weights": weights[name]}} for name in SCORE_TYPES]
        # Not stateable in OpenAPI 3.0 (no propertyNames), so said in words.
        modifiers = schema["properties"]["modifiers"]
        modifiers["description"] += " Keys: provider names, 1-64 characters of [a-z0-9_-]."
        return {**schema, "additionalProperties": False, "oneOf": one_of}


class StrictIntegerSchema(OpenApiSerializerFieldExtension):
    """A StrictIntegerField without bounds of its own still takes only 64-bit integers (integer_error)."""

    target_class = StrictIntegerField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {"minimum": -(2**63), "maximum": 2**63 - 1, **schema}


def _weight_type_view(score_type: str) -> type[WeightTypeView]:
    body = _weights_body(score_type)
    view = type(f"{score_type.title()}WeightsView", (WeightTypeView,), {})
    common: dict[str, Any] = {"tags": ["scoring"], "responses": {200: WeightTypeStateSerializer, **WRITE_ERRORS}}
    return extend_schema_view(
        get=extend_schema(
            summary=f"Scoring weights of the {score_type} type",
            operation_id=f"scoring_weights_{score_type}_retrieve",
            tags=["scoring"],
            responses={200: WeightTypeStateSerializer, **READ_ERRORS},
        ),
        put=extend_schema(
            summary=f"Replace the {score_type} weights",
            description="Keys not given are reset to their defaults. All or nothing.",
            operation_id=f"scoring_weights_{score_type}_update",
            request=body,
            **common,
        ),
        patch=extend_schema(
            summary=f"Change some {score_type} weights",
            description="Keys not given keep their values. All or nothing.",
            operation_id=f"scoring_weights_{score_type}_partial_update",
            request=body,
            **common,
        ),
        delete=extend_schema(
            summary=f"Reset every {score_type} weight to its default",
            operation_id=f"scoring_weights_{score_type}_reset",
            request=None,
            **common,
        ),
    )(view)


def _weight_key_view(score_type: str) -> type[WeightKeyView]:
    view = type(f"{score_type.title()}WeightKeyView", (WeightKeyView,), {})
    key_param = OpenApiParameter(
        "weight_key",
        str,
        OpenApiParameter.PATH,
        enum=list(DEFAULT_SCORES[score_type]),
        description=f"One of the {score_type} weight keys.",
    )
    return extend_schema_view(
        delete=extend_schema(
            tags=["scoring"],
            summary=f"Reset one {score_type} weight to its default",
            operation_id=f"scoring_weight_{score_type}_reset",
            parameters=[key_param],
            request=None,
            responses={200: WeightTypeStateSerializer, **WRITE_ERRORS},
        )
    )(view)


def _modifier_list() -> list[dict[str, Any]]:
    return [{"provider_name": name, "modifier": value} for name, value in selectors.provider_modifiers().items()]


class ModifierListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Provider score modifiers",
        responses={200: ModifierSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(_modifier_list())

    @extend_schema(
        tags=["scoring"],
        summary="Set a provider's score modifier",
        description="Creates or changes it; 0 removes it.",
        request=ModifierSerializer,
        responses={200: ModifierSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = validated(ModifierSerializer, request.data)
        services.provider_modifier_set(**data, source=SOURCE)
        return Response(data)


class ModifierDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="One provider's score modifier",
        parameters=[PROVIDER_PARAM],
        responses={200: ModifierSerializer, **error_responses(404, descriptions={404: "No modifier."}), **READ_ERRORS},
    )
    def get(self, request: Request, provider_name: str) -> Response:
        modifiers = selectors.provider_modifiers()
        if provider_name not in modifiers:
            raise Http404
        return Response({"provider_name": provider_name, "modifier": modifiers[provider_name]})

    @extend_schema(
        tags=["scoring"],
        summary="Set one provider's score modifier",
        description="Creates or changes it; 0 removes it.",
        parameters=[PROVIDER_PARAM],
        request=ModifierValueSerializer,
        responses={200: ModifierSerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request, provider_name: str) -> Response:
        data = validated(ModifierValueSerializer, request.data)
        services.provider_modifier_set(provider_name=provider_name, modifier=data["modifier"], source=SOURCE)
        return Response({"provider_name": provider_name, "modifier": data["modifier"]})

    @extend_schema(
        tags=["scoring"],
        summary="Remove one provider's score modifier",
        parameters=[PROVIDER_PARAM],
        request=None,
        responses={204: None, **error_responses(404, descriptions={404: "No modifier."}), **WRITE_ERRORS},
    )
    def delete(self, request: Request, provider_name: str) -> Response:
        if not services.provider_modifier_delete(provider_name=provider_name, source=SOURCE):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreviewView(APIView):
    # Writes nothing: any authenticated user may try weights out.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["scoring"],
        summary="Preview scoring",
        description=(
            "Score and rank candidate results for a query with the saved weights and modifiers, or with trial "
            "values laid over them (not saved). With trial values, each result also shows its score and rank "
            "with the saved ones ('before')."
        ),
        request=PreviewRequestSerializer,
        responses={
            200: PreviewResponseSerializer,
            400: OpenApiResponse(description="Invalid input: field -> messages."),
            **error_responses(404, descriptions={404: "No preset of that name."}),
            **READ_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(PreviewRequestSerializer, request.data)
        return Response(
            scoring_preview(
                query=data["query"],
                candidates=data["results"],
                weights=data.get("weights"),
                modifiers=data.get("modifiers"),
                min_score=data.get("min_score", STORED),
                preset=data.get("preset"),
            )
        )


def _weight_patterns(score_type: str) -> list[URLPattern]:
    kwargs = {"score_type": score_type}
    return [
        path(f"scoring/weights/{score_type}/", _weight_type_view(score_type).as_view(), kwargs),
        path(f"scoring/weights/{score_type}/<str:weight_key>/", _weight_key_view(score_type).as_view(), kwargs),
    ]


urlpatterns = [
    path("scoring/weights/", WeightsView.as_view(), name="weights"),
    *(pattern for score_type in SCORE_TYPES for pattern in _weight_patterns(score_type)),
    path("scoring/weights/<str:score_type>/", UnknownScoreTypeView.as_view(), name="weights-type"),
    path("scoring/weights/<str:score_type>/<str:weight_key>/", UnknownScoreTypeView.as_view(), name="weights-key"),
    path("scoring/modifiers/", ModifierListView.as_view(), name="modifiers"),
    path("scoring/modifiers/<str:provider_name>/", ModifierDetailView.as_view(), name="modifier"),
    path("scoring/export/", ExportView.as_view(), name="export"),
    path("scoring/import/", ImportView.as_view(), name="import"),
    path("scoring/presets/", PresetListView.as_view(), name="presets"),
    path("scoring/presets/<str:name>/", PresetDetailView.as_view(), name="preset"),
    path("scoring/presets/<str:name>/apply/", PresetApplyView.as_view(), name="preset-apply"),
    path("scoring/min-scores/", ThresholdListView.as_view(), name="min-scores"),
    *(
        path(f"scoring/min-scores/{score_type}/", threshold_type_view(score_type).as_view(), {"score_type": score_type})
        for score_type in SCORE_TYPES
    ),
    path("scoring/min-scores/<str:score_type>/", UnknownScoreTypeView.as_view(), name="min-score"),
    path("scoring/hash-trust/", HashTrustListView.as_view(), name="hash-trust"),
    path("scoring/hash-trust/<str:provider_name>/", HashTrustDetailView.as_view(), name="hash-trust-detail"),
    path("scoring/preview/", PreviewView.as_view(), name="preview"),
]

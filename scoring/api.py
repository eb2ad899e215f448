"""REST API for scoring weights, provider modifiers and a what-if preview.

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
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.api_schema import error_responses

from . import selectors, services
from .engine import STORED
from .preview import scoring_preview
from .scores import DEFAULT_SCORES, EPISODE, MOVIE, PROVIDER_NAME_RE, SCORE_TYPES
from .serializers import (
    HashTrustSerializer,
    HashTrustValueSerializer,
    ImportQuerySerializer,
    ImportResultSerializer,
    ModifierSerializer,
    ModifierValueSerializer,
    PresetAppliedSerializer,
    PresetCreateSerializer,
    PresetSerializer,
    PreviewRequestSerializer,
    PreviewResponseSerializer,
    ProviderNameField,
    StrictIntegerField,
    StrictSerializer,
    TextKeyDictField,
    ThresholdSerializer,
    ThresholdsSerializer,
    ThresholdUpdateSerializer,
    WeightsStateSerializer,
    WeightsUpdateSerializer,
    WeightTypeStateSerializer,
    modifier_field,
    weight_field,
)
from .validators import check_score_type

SOURCE = "api"


class ReadAuthenticatedWriteStaff(BasePermission):
    """Safe methods for any authenticated user; everything else for staff only."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _type_state(score_type: str) -> dict[str, Any]:
    overrides = selectors.weight_overrides(score_type)
    defaults = dict(DEFAULT_SCORES[score_type])
    return {
        "score_type": score_type,
        "effective": selectors.effective_weights(score_type, overrides),
        "defaults": defaults,
        "overridden": [key for key in defaults if key in overrides],
    }


def _checked_type(score_type: str) -> str:
    return check_score_type(score_type=score_type)


_READ_ERRORS = error_responses(401, descriptions={401: "Not authenticated."})
_WRITE_ERRORS = {
    **error_responses(400),
    **_READ_ERRORS,
    **error_responses(403, descriptions={403: "Not a staff user."}),
}
_PROVIDER_PARAM = OpenApiParameter(
    "provider_name",
    str,
    OpenApiParameter.PATH,
    pattern=f"^{PROVIDER_NAME_RE.pattern}$",
    description="1-64 characters of [a-z0-9_-].",
)


class WeightsView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Scoring weights of every type",
        operation_id="scoring_weights_list",
        description="Per score type: the effective weights, the defaults, and which keys are overridden.",
        responses={200: WeightsStateSerializer, **_READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({score_type: _type_state(score_type) for score_type in SCORE_TYPES})


# One score type's weights; routed once per type (_weight_type_view) so that
# the schema can say exactly which keys each type takes.
class WeightTypeView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    def get(self, request: Request, score_type: str) -> Response:
        return Response(_type_state(_checked_type(score_type)))

    def put(self, request: Request, score_type: str) -> Response:
        return self._update(request, score_type, replace=True)

    def patch(self, request: Request, score_type: str) -> Response:
        return self._update(request, score_type, replace=False)

    def _update(self, request: Request, score_type: str, *, replace: bool) -> Response:
        score_type = _checked_type(score_type)
        data = _validated(WeightsUpdateSerializer, request.data)
        services.scoring_weights_update(
            score_type=score_type,
            weights=data["weights"],
            replace=replace,
            source=SOURCE,
        )
        return Response(_type_state(score_type))

    def delete(self, request: Request, score_type: str) -> Response:
        score_type = _checked_type(score_type)
        services.scoring_weights_reset_type(score_type=score_type, source=SOURCE)
        return Response(_type_state(score_type))


class WeightKeyView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    def delete(self, request: Request, score_type: str, weight_key: str) -> Response:
        score_type = _checked_type(score_type)
        services.scoring_weight_reset(score_type=score_type, weight_key=weight_key, source=SOURCE)
        return Response(_type_state(score_type))


# Any other score type: a 400 naming the valid ones (not in the schema, which
# lists the real types' paths).
class UnknownScoreTypeView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]
    schema = None

    def get(self, request: Request, score_type: str, weight_key: str | None = None) -> Response:
        _checked_type(score_type)  # raises: each known type has routes of its own, ahead of this view's
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


def _type_weights(score_type: str) -> type[StrictSerializer]:
    keys = {
        key: weight_field(required=False, help_text=f"Integer 0-10000 (default {default}).")
        for key, default in DEFAULT_SCORES[score_type].items()
    }
    return type(f"{score_type.title()}Weights", (StrictSerializer,), keys)


_TYPE_WEIGHTS = {score_type: _type_weights(score_type) for score_type in SCORE_TYPES}


def _weights_body(score_type: str) -> type[WeightsUpdateBody]:
    weights = _TYPE_WEIGHTS[score_type](help_text=f"Weight key -> integer 0-10000; only the {score_type} keys.")
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
        weights = {name: auto_schema.resolve_serializer(body, direction).ref for name, body in _TYPE_WEIGHTS.items()}
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
    common: dict[str, Any] = {"tags": ["scoring"], "responses": {200: WeightTypeStateSerializer, **_WRITE_ERRORS}}
    return extend_schema_view(
        get=extend_schema(
            summary=f"Scoring weights of the {score_type} type",
            operation_id=f"scoring_weights_{score_type}_retrieve",
            tags=["scoring"],
            responses={200: WeightTypeStateSerializer, **_READ_ERRORS},
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
            responses={200: WeightTypeStateSerializer, **_WRITE_ERRORS},
        )
    )(view)


def _modifier_list() -> list[dict[str, Any]]:
    return [{"provider_name": name, "modifier": value} for name, value in selectors.provider_modifiers().items()]


class ModifierListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Provider score modifiers",
        responses={200: ModifierSerializer(many=True), **_READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(_modifier_list())

    @extend_schema(
        tags=["scoring"],
        summary="Set a provider's score modifier",
        description="Creates or changes it; 0 removes it.",
        request=ModifierSerializer,
        responses={200: ModifierSerializer, **_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _validated(ModifierSerializer, request.data)
        services.provider_modifier_set(**data, source=SOURCE)
        return Response(data)


class ModifierDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="One provider's score modifier",
        parameters=[_PROVIDER_PARAM],
        responses={200: ModifierSerializer, **error_responses(404, descriptions={404: "No modifier."}), **_READ_ERRORS},
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
        parameters=[_PROVIDER_PARAM],
        request=ModifierValueSerializer,
        responses={200: ModifierSerializer, **_WRITE_ERRORS},
    )
    def put(self, request: Request, provider_name: str) -> Response:
        data = _validated(ModifierValueSerializer, request.data)
        services.provider_modifier_set(provider_name=provider_name, modifier=data["modifier"], source=SOURCE)
        return Response({"provider_name": provider_name, "modifier": data["modifier"]})

    @extend_schema(
        tags=["scoring"],
        summary="Remove one provider's score modifier",
        parameters=[_PROVIDER_PARAM],
        request=None,
        responses={204: None, **error_responses(404, descriptions={404: "No modifier."}), **_WRITE_ERRORS},
    )
    def delete(self, request: Request, provider_name: str) -> Response:
        if not services.provider_modifier_delete(provider_name=provider_name, source=SOURCE):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)


# The configuration document (manage.py scoring export's file), stated as exactly as OpenAPI 3.0 can: what it
# cannot state — the modifiers' keys must be provider names, and a minimum score may not exceed the highest score
# the document's weights reach — is refused with a field message. The server checks it all in
# services.clean_config; these serializers document it.
class ConfigMinScores(StrictSerializer):
    episode = StrictIntegerField(
        min_value=0, required=False, help_text="Points; at most the highest score the episode weights reach."
    )
    movie = StrictIntegerField(
        min_value=0, required=False, help_text="Points; at most the highest score the movie weights reach."
    )


ConfigWeights = type(
    "ConfigWeights",
    (StrictSerializer,),
    {
        score_type: _TYPE_WEIGHTS[score_type](required=False, help_text=f"The stored {score_type} weight overrides.")
        for score_type in SCORE_TYPES
    },
)


class ConfigSerializer(StrictSerializer):
    version = StrictIntegerField(
        min_value=1, max_value=2, required=False, help_text="2 (a version 1 file has no hash_untrusted or min_scores)."
    )
    weights = ConfigWeights(required=False, help_text="Per score type: the stored weight overrides (sparse).")
    modifiers = TextKeyDictField(
        child=modifier_field(),
        required=False,
        help_text="Provider name (1-64 characters of [a-z0-9_-]) -> modifier (-1000 to 1000).",
    )
    hash_untrusted = serializers.ListField(
        child=ProviderNameField(), required=False, help_text="The providers whose hashes are not trusted."
    )
    min_scores = ConfigMinScores(required=False, help_text="Per score type: its minimum score in points.")


_STAFF_ERRORS = {**_READ_ERRORS, **error_responses(403, descriptions={403: "Not a staff user."})}


class ExportView(APIView):
    # A backup: staff only, reads included.
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["scoring"],
        summary="Export the scoring configuration",
        description="The same document as manage.py scoring export: every stored weight override, minimum score, "
        "provider modifier and untrusted-hash provider (defaults are not written). Staff only.",
        responses={200: ConfigSerializer, **_STAFF_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.scoring_config_export())


class ImportView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["scoring"],
        summary="Import a scoring configuration",
        description="Makes the stored configuration exactly the document's (as manage.py scoring import): all or "
        "nothing, one config_updated event. With dry_run=true, only says what would change. Staff only.",
        parameters=[OpenApiParameter("dry_run", bool, OpenApiParameter.QUERY, description="true: change nothing.")],
        request=ConfigSerializer,
        responses={200: ImportResultSerializer, **error_responses(400), **_STAFF_ERRORS},
    )
    def post(self, request: Request) -> Response:
        query = _validated(ImportQuerySerializer, request.query_params)
        return Response(services.scoring_config_restore(data=request.data, dry_run=query["dry_run"], source=SOURCE))


_PRESET_PARAM = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, description="A preset's name: tv, movies, anime or one of yours."
)


class PresetListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Scoring presets",
        description="The built-in presets (tv, movies, anime), then the ones users saved.",
        responses={200: PresetSerializer(many=True), **_READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.presets())

    @extend_schema(
        tags=["scoring"],
        summary="Save the current configuration as a preset",
        description="Its weight overrides and minimum scores (not provider modifiers or hash trust).",
        request=PresetCreateSerializer,
        responses={
            201: PresetSerializer,
            **_WRITE_ERRORS,
            **error_responses(409, descriptions={409: "A preset of that name exists."}),
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(PresetCreateSerializer, request.data)
        return Response(services.scoring_preset_save(**data), status=status.HTTP_201_CREATED)


class PresetDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="One preset (its export)",
        parameters=[_PRESET_PARAM],
        responses={200: PresetSerializer, **error_responses(404), **_READ_ERRORS},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(selectors.preset(name))

    @extend_schema(
        tags=["scoring"],
        summary="Delete one of your presets",
        parameters=[_PRESET_PARAM],
        request=None,
        responses={
            204: None,
            **error_responses(404),
            **error_responses(409, descriptions={409: "A built-in preset cannot be deleted."}),
            **_WRITE_ERRORS,
        },
    )
    def delete(self, request: Request, name: str) -> Response:
        services.scoring_preset_delete(name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PresetApplyView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Apply a preset",
        description="Sets the preset's weights and minimum scores, leaving every other value as it is; one "
        "transaction, one config_updated event listing the changed keys. Preview it first: POST preview/ with "
        "{'preset': name}.",
        parameters=[_PRESET_PARAM],
        request=None,
        responses={200: PresetAppliedSerializer, **error_responses(404), **_WRITE_ERRORS},
    )
    def post(self, request: Request, name: str) -> Response:
        return Response({"preset": name, "changed_keys": services.scoring_preset_apply(name=name, source=SOURCE)})


class ThresholdListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Minimum scores of every type",
        description="Per type: the minimum in points and as a percentage of the highest score reachable under "
        "the current weights (max_score).",
        responses={200: ThresholdsSerializer, **_READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({score_type: selectors.stored_threshold_state(score_type) for score_type in SCORE_TYPES})


# One score type's minimum; routed once per type (_threshold_type_view), like the weights.
class ThresholdDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    def get(self, request: Request, score_type: str) -> Response:
        return Response(selectors.stored_threshold_state(_checked_type(score_type)))

    def put(self, request: Request, score_type: str) -> Response:
        score_type = _checked_type(score_type)
        data = _validated(ThresholdUpdateSerializer, request.data)
        return Response(
            services.scoring_min_score_set(score_type=score_type, min_score=data["min_score"], source=SOURCE)
        )

    def delete(self, request: Request, score_type: str) -> Response:
        return Response(services.scoring_min_score_clear(score_type=_checked_type(score_type), source=SOURCE))


def _threshold_type_view(score_type: str) -> type[ThresholdDetailView]:
    view = type(f"{score_type.title()}ThresholdView", (ThresholdDetailView,), {})
    return extend_schema_view(
        get=extend_schema(
            tags=["scoring"],
            summary=f"Minimum score of the {score_type} type",
            operation_id=f"scoring_min_score_{score_type}_retrieve",
            responses={200: ThresholdSerializer, **_READ_ERRORS},
        ),
        put=extend_schema(
            tags=["scoring"],
            summary=f"Set the minimum score of the {score_type} type",
            description="In points: 0 to max_score (the highest score reachable under the current weights). "
            "rank() leaves out results scoring less.",
            operation_id=f"scoring_min_score_{score_type}_update",
            request=ThresholdUpdateSerializer,
            responses={200: ThresholdSerializer, **_WRITE_ERRORS},
        ),
        delete=extend_schema(
            tags=["scoring"],
            summary=f"Remove the minimum score of the {score_type} type",
            description="rank() then keeps every result.",
            operation_id=f"scoring_min_score_{score_type}_clear",
            request=None,
            responses={200: ThresholdSerializer, **_WRITE_ERRORS},
        ),
    )(view)


class HashTrustListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Providers whose hashes are not trusted",
        description="Every other provider is trusted (the default): its hash matches get the hash weight.",
        responses={200: HashTrustSerializer(many=True), **_READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        names = sorted(selectors.hash_untrusted_providers())
        return Response([{"provider_name": name, "hash_trusted": False} for name in names])


class HashTrustDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Whether one provider's hashes are trusted",
        parameters=[_PROVIDER_PARAM],
        responses={200: HashTrustSerializer, **error_responses(400), **_READ_ERRORS},
    )
    def get(self, request: Request, provider_name: str) -> Response:
        trusted = selectors.provider_hash_trusted(provider_name)
        return Response({"provider_name": provider_name, "hash_trusted": trusted})

    @extend_schema(
        tags=["scoring"],
        summary="Trust or distrust one provider's hashes",
        description="false: the provider's hash matches score nothing (its breakdowns show hash_untrusted: 0).",
        parameters=[_PROVIDER_PARAM],
        request=HashTrustValueSerializer,
        responses={200: HashTrustSerializer, **_WRITE_ERRORS},
    )
    def put(self, request: Request, provider_name: str) -> Response:
        data = _validated(HashTrustValueSerializer, request.data)
        services.provider_hash_trust_set(provider_name=provider_name, trusted=data["hash_trusted"], source=SOURCE)
        return Response({"provider_name": provider_name, "hash_trusted": data["hash_trusted"]})


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
            **_READ_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = _validated(PreviewRequestSerializer, request.data)
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
        path(
            f"scoring/min-scores/{score_type}/", _threshold_type_view(score_type).as_view(), {"score_type": score_type}
        )
        for score_type in SCORE_TYPES
    ),
    path("scoring/min-scores/<str:score_type>/", UnknownScoreTypeView.as_view(), name="min-score"),
    path("scoring/hash-trust/", HashTrustListView.as_view(), name="hash-trust"),
    path("scoring/hash-trust/<str:provider_name>/", HashTrustDetailView.as_view(), name="hash-trust-detail"),
    path("scoring/preview/", PreviewView.as_view(), name="preview"),
]

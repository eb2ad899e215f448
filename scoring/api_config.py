"""REST API for the scoring configuration as a whole: backups (export/import), presets, minimum scores, hash trust.

Reads: any authenticated user (export and import: staff). Every write goes
through ``scoring.services``.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from events.api_schema import error_responses

from . import selectors, services, services_config
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
from .scores import SCORE_TYPES
from .serializers import (
    HashTrustSerializer,
    HashTrustValueSerializer,
    ImportQuerySerializer,
    ImportResultSerializer,
    PresetAppliedSerializer,
    PresetCreateSerializer,
    PresetSerializer,
    ProviderNameField,
    StrictIntegerField,
    StrictSerializer,
    TextKeyDictField,
    ThresholdSerializer,
    ThresholdsSerializer,
    ThresholdUpdateSerializer,
    modifier_field,
)


# The configuration document (manage.py scoring export's file), stated as exactly as OpenAPI 3.0 can: what it
# cannot state — the modifiers' keys must be provider names, and a minimum score may not exceed the highest score
# the document's weights reach — is refused with a field message. The server checks it all in
# services_config.clean_config; these serializers document it.
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
        score_type: TYPE_WEIGHTS[score_type](required=False, help_text=f"The stored {score_type} weight overrides.")
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


STAFF_ERRORS = {**READ_ERRORS, **error_responses(403, descriptions={403: "Not a staff user."})}


class ExportView(APIView):
    # A backup: staff only, reads included.
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["scoring"],
        summary="Export the scoring configuration",
        description="The same document as manage.py scoring export: every stored weight override, minimum score, "
        "provider modifier and untrusted-hash provider (defaults are not written). Staff only.",
        responses={200: ConfigSerializer, **STAFF_ERRORS},
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
        responses={200: ImportResultSerializer, **error_responses(400), **STAFF_ERRORS},
    )
    def post(self, request: Request) -> Response:
        query = validated(ImportQuerySerializer, request.query_params)
        return Response(
            services_config.scoring_config_restore(data=request.data, dry_run=query["dry_run"], source=SOURCE)
        )


_PRESET_PARAM = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, description="A preset's name: tv, movies, anime or one of yours."
)


class PresetListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Scoring presets",
        description="The built-in presets (tv, movies, anime), then the ones users saved.",
        responses={200: PresetSerializer(many=True), **READ_ERRORS},
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
            **WRITE_ERRORS,
            **error_responses(409, descriptions={409: "A preset of that name exists."}),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(PresetCreateSerializer, request.data)
        return Response(services_config.scoring_preset_save(**data), status=status.HTTP_201_CREATED)


class PresetDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="One preset (its export)",
        parameters=[_PRESET_PARAM],
        responses={200: PresetSerializer, **error_responses(404), **READ_ERRORS},
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
            **WRITE_ERRORS,
        },
    )
    def delete(self, request: Request, name: str) -> Response:
        services_config.scoring_preset_delete(name=name)
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
        responses={200: PresetAppliedSerializer, **error_responses(404), **WRITE_ERRORS},
    )
    def post(self, request: Request, name: str) -> Response:
        return Response(
            {"preset": name, "changed_keys": services_config.scoring_preset_apply(name=name, source=SOURCE)}
        )


class ThresholdListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Minimum scores of every type",
        description="Per type: the minimum in points and as a percentage of the highest score reachable under "
        "the current weights (max_score).",
        responses={200: ThresholdsSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response({score_type: selectors.stored_threshold_state(score_type) for score_type in SCORE_TYPES})


# One score type's minimum; routed once per type (_threshold_type_view), like the weights.
class ThresholdDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    def get(self, request: Request, score_type: str) -> Response:
        return Response(selectors.stored_threshold_state(checked_type(score_type)))

    def put(self, request: Request, score_type: str) -> Response:
        score_type = checked_type(score_type)
        data = validated(ThresholdUpdateSerializer, request.data)
        return Response(
            services.scoring_min_score_set(score_type=score_type, min_score=data["min_score"], source=SOURCE)
        )

    def delete(self, request: Request, score_type: str) -> Response:
        return Response(services.scoring_min_score_clear(score_type=checked_type(score_type), source=SOURCE))


def threshold_type_view(score_type: str) -> type[ThresholdDetailView]:
    view = type(f"{score_type.title()}ThresholdView", (ThresholdDetailView,), {})
    return extend_schema_view(
        get=extend_schema(
            tags=["scoring"],
            summary=f"Minimum score of the {score_type} type",
            operation_id=f"scoring_min_score_{score_type}_retrieve",
            responses={200: ThresholdSerializer, **READ_ERRORS},
        ),
        put=extend_schema(
            tags=["scoring"],
            summary=f"Set the minimum score of the {score_type} type",
            description="In points: 0 to max_score (the highest score reachable under the current weights). "
            "rank() leaves out results scoring less.",
            operation_id=f"scoring_min_score_{score_type}_update",
            request=ThresholdUpdateSerializer,
            responses={200: ThresholdSerializer, **WRITE_ERRORS},
        ),
        delete=extend_schema(
            tags=["scoring"],
            summary=f"Remove the minimum score of the {score_type} type",
            description="rank() then keeps every result.",
            operation_id=f"scoring_min_score_{score_type}_clear",
            request=None,
            responses={200: ThresholdSerializer, **WRITE_ERRORS},
        ),
    )(view)


class HashTrustListView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Providers whose hashes are not trusted",
        description="Every other provider is trusted (the default): its hash matches get the hash weight.",
        responses={200: HashTrustSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        names = sorted(selectors.hash_untrusted_providers())
        return Response([{"provider_name": name, "hash_trusted": False} for name in names])


class HashTrustDetailView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(
        tags=["scoring"],
        summary="Whether one provider's hashes are trusted",
        parameters=[PROVIDER_PARAM],
        responses={200: HashTrustSerializer, **error_responses(400), **READ_ERRORS},
    )
    def get(self, request: Request, provider_name: str) -> Response:
        trusted = selectors.provider_hash_trusted(provider_name)
        return Response({"provider_name": provider_name, "hash_trusted": trusted})

    @extend_schema(
        tags=["scoring"],
        summary="Trust or distrust one provider's hashes",
        description="false: the provider's hash matches score nothing (its breakdowns show hash_untrusted: 0).",
        parameters=[PROVIDER_PARAM],
        request=HashTrustValueSerializer,
        responses={200: HashTrustSerializer, **WRITE_ERRORS},
    )
    def put(self, request: Request, provider_name: str) -> Response:
        data = validated(HashTrustValueSerializer, request.data)
        services.provider_hash_trust_set(provider_name=provider_name, trusted=data["hash_trusted"], source=SOURCE)
        return Response({"provider_name": provider_name, "hash_trusted": data["hash_trusted"]})

"""Request and response shapes of the scoring REST API (they also make the OpenAPI schema)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from events.jsonlimits import printable, text_error

from .scores import (
    FORMATS,
    MISMATCH_KEYS,
    MODIFIER_MAX,
    MODIFIER_MIN,
    PROVIDER_NAME_RE,
    SCORE_TYPES,
    WEIGHT_MAX,
    WEIGHT_MIN,
)
from .validators import PROVIDER_NAME_RULE, integer_error, provider_name_error

# The API takes JSON types as the schema states them: DRF would otherwise turn
# "3", 3.0 or true into 3, and 0 into "0", where the schema promises a refusal.
# Text must be valid Unicode: JSON can carry a lone surrogate ("\ud800"),
# which no response, log or database can encode — refused with a field
# message, and echoed escaped (events.jsonlimits) where an error names it.


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer: booleans, floats and strings are refused."""

    def to_internal_value(self, data: Any) -> int:
        if self.min_value is None or self.max_value is None:
            message = integer_error(data, -(2**63), 2**63 - 1)
        else:
            message = integer_error(data, self.min_value, self.max_value)
        if message:
            raise serializers.ValidationError(message)
        return data


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Must be a string, not {_json_type(data)}.")
        if message := text_error(data):
            raise serializers.ValidationError(message)
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    """A choice that must arrive as valid text (DRF's refusal echoes the input)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and (message := text_error(data)):
            raise serializers.ValidationError(message)
        return super().to_internal_value(data)


class TextKeyDictField(serializers.DictField):
    """A JSON object whose keys must be valid text; a refused key is named escaped."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            errors = {
                printable(key): [message] for key in data if isinstance(key, str) and (message := text_error(key))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError(f"Must be true or false, not {_json_type(data)}.")
        return data


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def weight_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=WEIGHT_MIN, max_value=WEIGHT_MAX, **kwargs)


def modifier_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=MODIFIER_MIN, max_value=MODIFIER_MAX, **kwargs)


class ProviderNameField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "1-64 characters of [a-z0-9_-].")
        # Every refusal gets the one rule message (to_internal_value, "blank");
        # the length and pattern validators are there for the schema.
        super().__init__(
            trim_whitespace=False,
            error_messages={"blank": PROVIDER_NAME_RULE},
            min_length=1,
            max_length=64,
            validators=[RegexValidator(f"^{PROVIDER_NAME_RE.pattern}$")],
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        if message := provider_name_error(data):
            raise serializers.ValidationError(message)
        return data


# Refuses fields it does not know, instead of silently ignoring a misspelt one.
# (A comment, not a docstring: the schema would show it on every serializer.)
class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {printable(str(key)): [f"Unknown field. Allowed: {allowed}."] for key in unknown}
                )
        return super().to_internal_value(data)


# --- Weights ------------------------------------------------------------------


class WeightTypeStateSerializer(serializers.Serializer):
    score_type = serializers.ChoiceField(SCORE_TYPES)
    effective = serializers.DictField(child=serializers.IntegerField(), help_text="The weights scoring uses now.")
    defaults = serializers.DictField(child=serializers.IntegerField(), help_text="The built-in defaults.")
    overridden = serializers.ListField(
        child=serializers.CharField(), help_text="Keys whose stored value replaces the default."
    )


class WeightsStateSerializer(serializers.Serializer):
    episode = WeightTypeStateSerializer()
    movie = WeightTypeStateSerializer()


class WeightsUpdateSerializer(StrictSerializer):
    weights = TextKeyDictField(
        child=weight_field(),
        allow_empty=True,
        help_text="Weight key -> integer 0-10000. Keys must be known for the score type.",
    )


# --- Modifiers ------------------------------------------------------------------


class ModifierSerializer(StrictSerializer):
    provider_name = ProviderNameField()
    modifier = modifier_field(help_text="Added to every score of this provider's results (-1000 to 1000).")


class ModifierValueSerializer(StrictSerializer):
    modifier = modifier_field(help_text="Added to every score of this provider's results (-1000 to 1000).")


# --- Minimum scores ------------------------------------------------------------


class ThresholdSerializer(serializers.Serializer):
    score_type = serializers.ChoiceField(SCORE_TYPES)
    min_score = serializers.IntegerField(
        allow_null=True, help_text="Results scoring less are left out by rank(); null: no minimum."
    )
    min_score_percent = serializers.FloatField(
        allow_null=True, help_text="min_score as a percentage of max_score (one decimal)."
    )
    max_score = serializers.IntegerField(
        help_text="The highest score reachable under the current weights: every match and the format bonus, "
        "no penalty, no provider modifier."
    )


class ThresholdsSerializer(serializers.Serializer):
    episode = ThresholdSerializer()
    movie = ThresholdSerializer()


class ThresholdUpdateSerializer(StrictSerializer):
    min_score = StrictIntegerField(
        min_value=0,
        error_messages={"min_value": "Must be 0 or more points."},
        help_text="Points, from 0 to the highest score reachable under the current weights (max_score).",
    )


# --- Presets ----------------------------------------------------------------------


class PresetSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    builtin = serializers.BooleanField(help_text="Built in (tv, movies, anime): cannot be deleted.")
    weights = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Per score type, the weights the preset sets (sparse: other keys are left as they are).",
    )
    min_scores = serializers.DictField(
        child=serializers.IntegerField(), help_text="Per score type, the minimum score the preset sets."
    )


class PresetCreateSerializer(StrictSerializer):
    name = ProviderNameField(help_text="1-64 characters of [a-z0-9_-]; not a built-in preset's name.")
    description = StrictCharField(required=False, default="", allow_blank=True, max_length=500)


class PresetAppliedSerializer(serializers.Serializer):
    preset = serializers.CharField()
    changed_keys = serializers.ListField(
        child=serializers.CharField(), help_text="What changed, as in the config_updated event (empty: nothing)."
    )


# --- Backups (export / import) ----------------------------------------------------


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    changes = serializers.ListField(
        child=serializers.CharField(), help_text="What the import changes (would change), as manage.py prints it."
    )
    changed_keys = serializers.ListField(
        child=serializers.CharField(), help_text="As in the config_updated event; empty for a dry run."
    )


class ImportQuerySerializer(StrictSerializer):
    dry_run = serializers.BooleanField(required=False, default=False, help_text="true: change nothing.")


# --- Hash trust -----------------------------------------------------------------

HASH_TRUSTED_HELP = "Whether this provider's hash matches count (default true); false: they score nothing."


class HashTrustSerializer(StrictSerializer):
    provider_name = ProviderNameField()
    hash_trusted = StrictBooleanField(help_text=HASH_TRUSTED_HELP)


class HashTrustValueSerializer(StrictSerializer):
    hash_trusted = StrictBooleanField(help_text=HASH_TRUSTED_HELP)


# --- Preview ------------------------------------------------------------------


class VideoQuerySerializer(StrictSerializer):
    series_title = StrictCharField(required=False, allow_null=True, max_length=500)
    season = StrictIntegerField(required=False, allow_null=True, min_value=0)
    episode = StrictIntegerField(required=False, allow_null=True, min_value=0)
    title = StrictCharField(required=False, allow_null=True, max_length=500)
    year = StrictIntegerField(required=False, allow_null=True, min_value=1800, max_value=3000)
    release_group = StrictCharField(required=False, allow_null=True, max_length=200)
    source = StrictCharField(required=False, allow_null=True, max_length=200)  # type: ignore[assignment]  # a field named like Field.source; DRF's metaclass takes it
    resolution = StrictCharField(required=False, allow_null=True, max_length=200)
    audio_codec = StrictCharField(required=False, allow_null=True, max_length=200)


class CandidateSerializer(StrictSerializer):
    provider_name = StrictCharField(max_length=64)
    subtitle_id = StrictCharField(max_length=500, required=False, default="", allow_blank=True)
    language = StrictCharField(max_length=35, required=False, default="", allow_blank=True)
    format = StrictChoiceField(FORMATS, required=False, default="unknown")
    release_info = StrictCharField(max_length=1000, required=False, default="", allow_blank=True)
    hearing_impaired = StrictBooleanField(required=False, default=False)
    forced = StrictBooleanField(required=False, default=False)
    matches = serializers.ListField(
        child=StrictCharField(max_length=64),
        max_length=64,
        required=False,
        default=list,
        help_text="What the subtitle matches of the query: hash, series, year, season, episode…",
    )
    mismatches = serializers.ListField(
        child=StrictChoiceField(list(MISMATCH_KEYS)),
        max_length=len(MISMATCH_KEYS),
        required=False,
        default=list,
        help_text="What the subtitle contradicts of the query (it is for another season, episode or year): "
        "each subtracts its penalty weight (season_mismatch…).",
    )


class PreviewRequestSerializer(StrictSerializer):
    query = VideoQuerySerializer(help_text="An episode when season and episode are set, else a movie.")
    results = CandidateSerializer(  # type: ignore[call-arg]  # many=True hands max_length to the ListSerializer; the stubs miss it
        many=True, max_length=1000, help_text="The candidates to score (at most 1000)."
    )
    weights = TextKeyDictField(
        child=weight_field(),
        required=False,
        help_text="Trial weights over the saved ones (not saved); keys must be known for the query's type.",
    )
    modifiers = TextKeyDictField(
        child=modifier_field(),
        required=False,
        help_text="Trial provider modifiers over the saved ones (not saved); 0 removes one.",
    )
    preset = ProviderNameField(
        required=False,
        help_text="A preset's name (404 if there is none): its weights (and minimum score) are the trial values, "
        "'weights' laid over them.",
    )
    min_score = StrictIntegerField(
        required=False,
        allow_null=True,
        help_text="Leave out lower scores (null: keep all). Not given: the stored minimum of the query's type "
        "applies and each result says whether it is kept.",
    )


class ScoreRankSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    rank = serializers.IntegerField(help_text="1 = best.")


class PreviewResultSerializer(serializers.Serializer):
    provider_name = serializers.CharField()
    subtitle_id = serializers.CharField()
    language = serializers.CharField()
    format = serializers.CharField()
    release_info = serializers.CharField()
    hearing_impaired = serializers.BooleanField()
    forced = serializers.BooleanField()
    matches = serializers.ListField(child=serializers.CharField())
    mismatches = serializers.ListField(child=serializers.CharField())
    score = serializers.IntegerField()
    score_percent = serializers.FloatField(
        allow_null=True, help_text="The score as a percentage of the highest reachable under the weights used."
    )
    score_breakdown = serializers.DictField(
        child=serializers.IntegerField(), help_text="Every part of the score; the values sum to it."
    )
    rank = serializers.IntegerField(help_text="1 = best.")
    kept = serializers.BooleanField(help_text="Whether the minimum score (threshold) keeps this result.")
    before = ScoreRankSerializer(
        allow_null=True, help_text="With trial weights or modifiers: score and rank with the saved ones."
    )


class PreviewResponseSerializer(serializers.Serializer):
    score_type = serializers.ChoiceField(SCORE_TYPES)
    weights = serializers.DictField(child=serializers.IntegerField(), help_text="The weights used (trial or saved).")
    modifiers = serializers.DictField(child=serializers.IntegerField(), help_text="The modifiers used.")
    threshold = ThresholdSerializer(help_text="The minimum score used, against the weights used.")
    results = PreviewResultSerializer(many=True)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """In the schema, a StrictSerializer allows no properties but its own (as the server does)."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = False
        return schema

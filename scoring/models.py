"""Stored scoring overrides: sparse weights per score type and per-provider modifiers.

Only what a user changed is stored; the defaults live in ``scoring.scores``.
Write through ``scoring.services`` (validation, cache invalidation, events).
"""

from __future__ import annotations

from django.db import models

from .scores import MODIFIER_MAX, MODIFIER_MIN, WEIGHT_MAX, WEIGHT_MIN


class ScoreType(models.TextChoices):
    EPISODE = "episode", "Episode"
    MOVIE = "movie", "Movie"


class ScoringWeight(models.Model):
    """A user's value for one weight of one score type, replacing the default."""

    score_type = models.CharField(max_length=16, choices=ScoreType.choices)
    weight_key = models.CharField(max_length=64)
    weight_value = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["score_type", "weight_key"]
        constraints = [
            models.UniqueConstraint(fields=["score_type", "weight_key"], name="scoring_weight_type_key_unique"),
            models.CheckConstraint(
                condition=models.Q(weight_value__gte=WEIGHT_MIN, weight_value__lte=WEIGHT_MAX),
                name="scoring_weight_value_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score_type}.{self.weight_key} = {self.weight_value}"


class ScoringThreshold(models.Model):
    """A user's minimum score for one score type: rank() leaves out results below it (none stored: keep all)."""

    score_type = models.CharField(max_length=16, choices=ScoreType.choices, unique=True)
    min_score = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["score_type"]
        constraints = [
            # The upper bound (the maximum reachable score) depends on the weights: checked by the services.
            models.CheckConstraint(condition=models.Q(min_score__gte=0), name="scoring_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.score_type}: at least {self.min_score}"


class ProviderScoreModifier(models.Model):
    """Points added to (or taken from) every score of one provider's results."""

    provider_name = models.CharField(max_length=64, unique=True)
    modifier = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(modifier__gte=MODIFIER_MIN, modifier__lte=MODIFIER_MAX),
                name="scoring_modifier_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_name}: {self.modifier:+d}"


class UntrustedHashProvider(models.Model):
    """A provider whose hash matches are not counted: its hashes cannot be verified (default: trusted)."""

    provider_name = models.CharField(max_length=64, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_name"]
        verbose_name = "provider with untrusted hashes"
        verbose_name_plural = "providers with untrusted hashes"

    def __str__(self) -> str:
        return f"{self.provider_name}: hash not trusted"


class ScoringPreset(models.Model):
    """A user's own preset: sparse weights per type and minimum scores, saved from a configuration.

    The built-in presets (tv, movies, anime) are data in ``scoring.presets``.
    """

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True)
    # {"episode": {key: value}, "movie": {...}} and {"episode": points, ...}, validated by the services.
    weights = models.JSONField(default=dict)
    min_scores = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

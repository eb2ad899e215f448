"""Read the effective scoring configuration: defaults ⊕ stored overrides, through Django's cache.

Cache layout (the configured ``CACHES["default"]``: a file cache shared by
every process of the machine in the embedded profile, Redis in scale-out):

* ``scoring:generation`` — a random token, replaced by every committed write
  (``invalidate_cache``); it never expires.
* ``scoring:type:<type>`` — one entry per score type (its effective
  weights and its minimum score), and
  ``scoring:providers`` — one entry holding every provider's modifier and the
  providers whose hashes are not trusted; each a ``(generation, value)`` pair,
  expiring after ``CACHE_TIMEOUT`` seconds as a safety net only.

An entry counts only while its generation is the current one. That closes
the race of a plain delete-on-write: a reader that loaded the database just
before a write committed stores the old value under the old generation,
which no reader uses any more. One ``get_many`` fetches all three, so
``rank()`` costs one cache round trip per call.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import DatabaseError, connection

from events.errors import NotFound

from .models import ProviderScoreModifier, ScoringPreset, ScoringThreshold, ScoringWeight, UntrustedHashProvider
from .presets import BUILTIN_PRESETS
from .scores import DEFAULT_SCORES, SCORE_TYPES, max_score
from .validators import ScoringValidationError, provider_name_error

logger = logging.getLogger(__name__)

CACHE_TIMEOUT = 60
# The configuration file's version (manage.py scoring export, GET /api/scoring/export/).
# 2 added hash_untrusted and min_scores; a version 1 file reads as having none.
CONFIG_VERSION = 2
GENERATION_KEY = "scoring:generation"
# Renamed from "scoring:modifiers" when its value became (modifiers, untrusted):
# a process of the previous release never reads the new shape.
PROVIDERS_KEY = "scoring:providers"


class ScoringConfig(NamedTuple):
    """What scoring one type needs, read in one cache round trip."""

    weights: dict[str, int]
    # The stored minimum score of the type; None: no minimum (every result kept).
    min_score: int | None
    modifiers: dict[str, int]
    hash_untrusted: frozenset[str]


def weights_key(score_type: str) -> str:
    # "scoring:type:" (not the first release's "scoring:weights:"), as the value is now (weights, min_score).
    return f"scoring:type:{score_type}"


def _check_type(score_type: str) -> None:
    if score_type not in DEFAULT_SCORES:
        raise ValueError(f"Unknown score type {score_type!r}. Valid: {', '.join(SCORE_TYPES)}.")


# --- Database reads (authoritative, uncached) --------------------------------


def weight_overrides(score_type: str) -> dict[str, int]:
    """The stored overrides of ``score_type`` (sparse), straight from the database.

    A database error is logged and raised: scoring with the defaults while the
    user's weights cannot be read would rank wrongly without anyone noticing.
    """
    _check_type(score_type)
    try:
        return dict(ScoringWeight.objects.filter(score_type=score_type).values_list("weight_key", "weight_value"))
    except DatabaseError:
        logger.exception("Cannot read the %s scoring weights from the database; not scoring with defaults", score_type)
        raise


def effective_weights(score_type: str, overrides: dict[str, int] | None = None) -> dict[str, int]:
    """Defaults of ``score_type`` with ``overrides`` (default: the stored ones) on top."""
    stored = weight_overrides(score_type) if overrides is None else overrides
    defaults = DEFAULT_SCORES[score_type]
    # Keys no longer in the defaults (an old row) are ignored, not scored.
    return {key: stored.get(key, value) for key, value in defaults.items()}


def min_scores() -> dict[str, int]:
    """The stored minimum score of each type that has one, straight from the database (errors logged and raised)."""
    try:
        return dict(ScoringThreshold.objects.values_list("score_type", "min_score"))
    except DatabaseError:
        logger.exception("Cannot read the scoring minimum scores from the database; not ranking without them")
        raise


def min_score_override(score_type: str) -> int | None:
    """The stored minimum score of ``score_type``, or None (no minimum), straight from the database."""
    _check_type(score_type)
    return min_scores().get(score_type)


def percent_of(points: int | None, maximum: int) -> float | None:
    """``points`` as a percentage of ``maximum`` (one decimal), or None without points or maximum."""
    if points is None or maximum <= 0:
        return None
    return round(points * 100 / maximum, 1)


def threshold_state(score_type: str, weights: dict[str, int], min_score: int | None) -> dict[str, Any]:
    """A minimum score in points and as a percentage of the maximum reachable under ``weights``."""
    maximum = max_score(weights)
    return {
        "score_type": score_type,
        "min_score": min_score,
        "min_score_percent": percent_of(min_score, maximum),
        "max_score": maximum,
    }


def stored_threshold_state(score_type: str) -> dict[str, Any]:
    """The stored minimum score of ``score_type`` against its stored weights (uncached)."""
    return threshold_state(score_type, effective_weights(score_type), min_score_override(score_type))


def provider_modifiers() -> dict[str, int]:
    """Every stored provider modifier, straight from the database (errors logged and raised)."""
    try:
        return dict(ProviderScoreModifier.objects.values_list("provider_name", "modifier"))
    except DatabaseError:
        logger.exception("Cannot read the provider score modifiers from the database; not scoring without them")
        raise


def hash_untrusted_providers() -> frozenset[str]:
    """The providers whose hash matches do not count, straight from the database (errors logged and raised)."""
    try:
        return frozenset(UntrustedHashProvider.objects.values_list("provider_name", flat=True))
    except DatabaseError:
        logger.exception("Cannot read the untrusted-hash providers from the database; not scoring without them")
        raise


def provider_hash_trusted(provider_name: str) -> bool:
    """Whether ``provider_name``'s hash matches count (the default); a bad name is an ``Invalid``."""
    if message := provider_name_error(provider_name):
        raise ScoringValidationError({"provider_name": [message]})
    return not UntrustedHashProvider.objects.filter(provider_name=provider_name).exists()


def _providers() -> tuple[dict[str, int], frozenset[str]]:
    return provider_modifiers(), hash_untrusted_providers()


# --- Cached reads ---------------------------------------------------------------


def _uncommitted_write() -> bool:
    """Whether this connection's open transaction changed scoring rows (its invalidation is pending).

    Reads then skip the cache, neither using nor filling it: the writer sees
    its own change, and no uncommitted value is ever cached for others.
    Django drops the pending callback on rollback (of the transaction or of
    the savepoint that registered it), so this is exact.
    """
    return connection.in_atomic_block and any(entry[1] is invalidate_cache for entry in connection.run_on_commit)


def _current(entry: Any, generation: str | None) -> Any:
    if generation is not None and type(entry) is tuple and len(entry) == 2 and entry[0] == generation:
        return entry[1]
    return None


def get_scoring_config(score_type: str) -> ScoringConfig:
    """The effective weights of ``score_type`` and every provider's modifier and hash trust, in one round trip."""
    _check_type(score_type)
    if _uncommitted_write():
        return ScoringConfig(effective_weights(score_type), min_score_override(score_type), *_providers())
    key = weights_key(score_type)
    found = cache.get_many([GENERATION_KEY, key, PROVIDERS_KEY])
    generation = found.get(GENERATION_KEY)
    scored_type = _current(found.get(key), generation)
    providers = _current(found.get(PROVIDERS_KEY), generation)
    if scored_type is not None and providers is not None:
        return ScoringConfig(*scored_type, *providers)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(GENERATION_KEY)
    fill: dict[str, tuple[Any, Any]] = {}
    if scored_type is None:
        scored_type = (effective_weights(score_type), min_score_override(score_type))
        fill[key] = (generation, scored_type)
    if providers is None:
        providers = _providers()
        fill[PROVIDERS_KEY] = (generation, providers)
    if generation is not None:
        cache.set_many(fill, timeout=CACHE_TIMEOUT)
    return ScoringConfig(*scored_type, *providers)


def get_weights(score_type: str) -> dict[str, int]:
    """The effective weights of ``score_type``: the defaults with the stored overrides on top (cached)."""
    return get_scoring_config(score_type).weights


def get_provider_modifiers() -> dict[str, int]:
    """Every provider's score modifier (cached together, one entry for all)."""
    return get_scoring_config(SCORE_TYPES[0]).modifiers


def invalidate_cache() -> None:
    """Make every process drop its cached scoring configuration now (called on commit by the services)."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    cache.delete_many([*(weights_key(score_type) for score_type in SCORE_TYPES), PROVIDERS_KEY])


def scoring_config_export() -> dict[str, Any]:
    """All stored overrides and modifiers, as ``manage.py scoring export`` writes them."""
    return {
        "version": CONFIG_VERSION,
        "weights": {score_type: weight_overrides(score_type) for score_type in SCORE_TYPES},
        "modifiers": provider_modifiers(),
        "hash_untrusted": sorted(hash_untrusted_providers()),
        "min_scores": min_scores(),
    }


# --- Presets ----------------------------------------------------------------------


def _preset(name: str, description: str, builtin: bool, weights: Any, min_scores: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "builtin": builtin,
        "weights": {score_type: dict(weights.get(score_type, {})) for score_type in SCORE_TYPES},
        "min_scores": dict(min_scores),
    }


def presets() -> list[dict[str, Any]]:
    """Every preset: the built-in ones (in their order), then the user's (by name)."""
    builtin = [
        _preset(name, data["description"], True, data["weights"], data["min_scores"])
        for name, data in BUILTIN_PRESETS.items()
    ]
    saved = [
        _preset(row.name, row.description, False, row.weights, row.min_scores) for row in ScoringPreset.objects.all()
    ]
    return [*builtin, *saved]


def preset(name: str) -> dict[str, Any]:
    """One preset by name (built-in or the user's); ``NotFound`` if there is none."""
    if name in BUILTIN_PRESETS:
        data = BUILTIN_PRESETS[name]
        return _preset(name, data["description"], True, data["weights"], data["min_scores"])
    row = ScoringPreset.objects.filter(name=name).first()
    if row is None:
        raise NotFound(f"No preset named {name!r}.", field="preset")
    return _preset(row.name, row.description, False, row.weights, row.min_scores)

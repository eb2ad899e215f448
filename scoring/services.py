"""Change scoring weights and provider modifiers: validated, atomic, cache invalidated on commit.

Every change that alters something emits ``config_updated`` with the changed
keys (``scoring.weights.<type>.<key>``, ``scoring.modifiers.<provider>``,
``scoring.hash_trust.<provider>``, ``scoring.min_score.<type>``) and
the caller's ``source`` ("api", "admin", "cli"..). A write that changes
nothing emits nothing. Overrides stay sparse: a weight set to its default, or
a modifier set to 0, removes the stored row.

These are the single-setting writes and the primitives they share
(``apply_*``, ``config_changed``); the whole-configuration writes (import,
presets) build on them in ``scoring.services_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from events import emit_event

from . import selectors
from .models import ProviderScoreModifier, ScoringThreshold, ScoringWeight, UntrustedHashProvider
from .scores import DEFAULT_SCORES, max_score
from .validators import (
    ScoringValidationError,
    check_score_type,
    check_weight_key,
    clean_modifier,
    clean_weights,
    min_score_error,
    provider_name_error,
)


def weight_change_key(score_type: str, weight_key: str) -> str:
    return f"scoring.weights.{score_type}.{weight_key}"


def modifier_change_key(provider_name: str) -> str:
    return f"scoring.modifiers.{provider_name}"


def hash_trust_change_key(provider_name: str) -> str:
    return f"scoring.hash_trust.{provider_name}"


def min_score_change_key(score_type: str) -> str:
    return f"scoring.min_score.{score_type}"


def config_changed(changed_keys: list[str], source: str) -> None:
    """After a write in the current transaction: invalidate the cache and emit the event, on commit."""
    if not changed_keys:
        return
    # Registered before the event, so that receivers of config_updated
    # already read the new weights. robust: a cache outage is logged and
    # the event still goes out (entries then expire within CACHE_TIMEOUT).
    transaction.on_commit(selectors.invalidate_cache, robust=True)
    emit_event("config_updated", {"changed_keys": changed_keys, "source": source})


def apply_weights(score_type: str, overrides: Mapping[str, int]) -> list[str]:
    """Make the stored overrides of ``score_type`` exactly ``overrides`` (minus defaults); return changed keys.

    Call inside a transaction with validated values.
    """
    defaults = DEFAULT_SCORES[score_type]
    rows = {row.weight_key: row for row in ScoringWeight.objects.select_for_update().filter(score_type=score_type)}
    before = {key: rows[key].weight_value if key in rows else default for key, default in defaults.items()}
    target = {key: value for key, value in overrides.items() if key in defaults and value != defaults[key]}
    stale = [key for key in rows if key not in target]
    if stale:
        ScoringWeight.objects.filter(score_type=score_type, weight_key__in=stale).delete()
    # An upsert, so that two writers adding the same key at once both succeed (last one wins).
    upserts = [
        ScoringWeight(score_type=score_type, weight_key=key, weight_value=value)
        for key, value in target.items()
        if key not in rows or rows[key].weight_value != value
    ]
    if upserts:
        ScoringWeight.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["score_type", "weight_key"],
            update_fields=["weight_value", "updated_at"],
        )
    after = {key: target.get(key, default) for key, default in defaults.items()}
    return [weight_change_key(score_type, key) for key in defaults if before[key] != after[key]]


def apply_modifiers(modifiers: Mapping[str, int]) -> list[str]:
    """Make the stored modifiers exactly ``modifiers`` (minus zeros); return changed keys."""
    rows = {row.provider_name: row for row in ProviderScoreModifier.objects.select_for_update()}
    before = {name: row.modifier for name, row in rows.items()}
    target = {name: value for name, value in modifiers.items() if value != 0}
    stale = [name for name in rows if name not in target]
    if stale:
        ProviderScoreModifier.objects.filter(provider_name__in=stale).delete()
    upserts = [
        ProviderScoreModifier(provider_name=name, modifier=value)
        for name, value in target.items()
        if before.get(name) != value
    ]
    if upserts:
        ProviderScoreModifier.objects.bulk_create(
            upserts, update_conflicts=True, unique_fields=["provider_name"], update_fields=["modifier", "updated_at"]
        )
    names = sorted(set(before) | set(target))
    return [modifier_change_key(name) for name in names if before.get(name, 0) != target.get(name, 0)]


def apply_hash_untrusted(names: set[str] | frozenset[str]) -> list[str]:
    """Make the stored untrusted-hash providers exactly ``names``; return changed keys."""
    before = set(UntrustedHashProvider.objects.select_for_update().values_list("provider_name", flat=True))
    gone = before - names
    if gone:
        UntrustedHashProvider.objects.filter(provider_name__in=gone).delete()
    added = names - before
    if added:
        UntrustedHashProvider.objects.bulk_create(
            [UntrustedHashProvider(provider_name=name) for name in sorted(added)], ignore_conflicts=True
        )
    return [hash_trust_change_key(name) for name in sorted(gone | added)]


def apply_min_score(score_type: str, min_score: int | None) -> list[str]:
    """Make the stored minimum score of ``score_type`` ``min_score`` (None: none); return changed keys."""
    row = ScoringThreshold.objects.select_for_update().filter(score_type=score_type).first()
    before = row.min_score if row else None
    if before == min_score:
        return []
    if min_score is None:
        ScoringThreshold.objects.filter(score_type=score_type).delete()
    else:
        ScoringThreshold.objects.update_or_create(score_type=score_type, defaults={"min_score": min_score})
    return [min_score_change_key(score_type)]


def check_min_score_reachable(score_type: str) -> None:
    """After a weights write in this transaction: refuse it if the stored minimum score became unreachable.

    A minimum above the highest reachable score would silently keep nothing
    (bazarr#3460); the user lowers or clears the minimum first.
    """
    min_score = selectors.min_score_override(score_type)
    if min_score is None:
        return
    maximum = max_score(selectors.effective_weights(score_type))
    if min_score > maximum:
        raise ScoringValidationError(
            {
                "weights": [
                    f"These weights would make the highest reachable {score_type} score {maximum}, below the stored "
                    f"minimum score of {min_score}: no result could reach it. Lower or clear the minimum score first."
                ]
            }
        )


def clean_min_score(score_type: str, min_score: Any, weights: Mapping[str, int], *, field: str = "min_score") -> int:
    """Return ``min_score`` checked: an integer from 0 to the highest score reachable under ``weights``."""
    if message := min_score_error(score_type, min_score, max_score(weights)):
        raise ScoringValidationError({field: [message]})
    return min_score


@transaction.atomic
def scoring_min_score_set(*, score_type: str, min_score: Any, source: str = "api") -> dict[str, Any]:
    """Set the minimum score of ``score_type`` in points; return it in points and percent (threshold_state).

    Refused (nothing saved): not an integer, negative, or above the highest
    score reachable under the current weights of the type.
    """
    check_score_type(score_type)
    # Lock the weights the bound is checked against, so that no concurrent write lowers them meanwhile.
    list(ScoringWeight.objects.select_for_update().filter(score_type=score_type))
    weights = selectors.effective_weights(score_type)
    clean_min_score(score_type, min_score, weights)
    config_changed(apply_min_score(score_type, min_score), source)
    return selectors.threshold_state(score_type, weights, min_score)


@transaction.atomic
def scoring_min_score_clear(*, score_type: str, source: str = "api") -> dict[str, Any]:
    """Remove the minimum score of ``score_type`` (rank() then keeps every result)."""
    check_score_type(score_type)
    config_changed(apply_min_score(score_type, None), source)
    return selectors.stored_threshold_state(score_type)


@transaction.atomic
def scoring_weights_update(
    *, score_type: str, weights: Mapping[str, Any], replace: bool = False, source: str = "api"
) -> dict[str, int]:
    """Set weights of ``score_type`` (all or nothing); with ``replace``, reset every key not given.

    Returns the effective weights. Raises ``ScoringValidationError`` (nothing
    saved) for an unknown type or key, or a value that is not an integer
    0-10,000.
    """
    cleaned = clean_weights(score_type, dict(weights) if isinstance(weights, Mapping) else weights)
    current = {} if replace else selectors.weight_overrides(score_type)
    changed = apply_weights(score_type, {**current, **cleaned})
    check_min_score_reachable(score_type)
    config_changed(changed, source)
    return selectors.effective_weights(score_type)


@transaction.atomic
def scoring_weight_reset(*, score_type: str, weight_key: str, source: str = "api") -> dict[str, int]:
    """Reset one weight of ``score_type`` to its default; return the effective weights."""
    check_weight_key(score_type, weight_key)
    current = selectors.weight_overrides(score_type)
    current.pop(weight_key, None)
    changed = apply_weights(score_type, current)
    check_min_score_reachable(score_type)
    config_changed(changed, source)
    return selectors.effective_weights(score_type)


@transaction.atomic
def scoring_weights_reset_type(*, score_type: str, source: str = "api") -> dict[str, int]:
    """Reset every weight of ``score_type`` to its default; return the (default) effective weights."""
    check_score_type(score_type)
    changed = apply_weights(score_type, {})
    check_min_score_reachable(score_type)
    config_changed(changed, source)
    return selectors.effective_weights(score_type)


@transaction.atomic
def provider_modifier_set(*, provider_name: str, modifier: Any, source: str = "api") -> int:
    """Set the score modifier of ``provider_name`` (0 removes it); return it."""
    clean_modifier(provider_name, modifier)
    current = selectors.provider_modifiers()
    current[provider_name] = modifier
    config_changed(apply_modifiers(current), source)
    return modifier


@transaction.atomic
def provider_modifier_delete(*, provider_name: str, source: str = "api") -> bool:
    """Remove the modifier of ``provider_name``; return whether there was one."""
    if message := provider_name_error(provider_name):
        raise ScoringValidationError({"provider_name": [message]})
    current = selectors.provider_modifiers()
    existed = current.pop(provider_name, None) is not None
    config_changed(apply_modifiers(current), source)
    return existed


@transaction.atomic
def provider_hash_trust_set(*, provider_name: str, trusted: Any, source: str = "api") -> bool:
    """Say whether ``provider_name``'s hash matches count (the default) or not; return ``trusted``."""
    errors = {}
    if message := provider_name_error(provider_name):
        errors["provider_name"] = [message]
    if not isinstance(trusted, bool):
        errors["hash_trusted"] = ["Must be true or false."]
    if errors:
        raise ScoringValidationError(errors)
    current = set(selectors.hash_untrusted_providers())
    if trusted:
        current.discard(provider_name)
    else:
        current.add(provider_name)
    config_changed(apply_hash_untrusted(current), source)
    return trusted

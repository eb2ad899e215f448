"""Validate scoring values; every error names its field, so the API, admin and CLI can show it."""

from __future__ import annotations

from typing import Any

from events.errors import Invalid

from .scores import (
    DEFAULT_SCORES,
    MODIFIER_MAX,
    MODIFIER_MIN,
    PROVIDER_NAME_RE,
    SCORE_TYPES,
    WEIGHT_MAX,
    WEIGHT_MIN,
)


class ScoringValidationError(Invalid):
    """Bad scoring input; ``errors`` maps each offending field to its messages (nothing was saved)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        message = "; ".join(f"{field}: {' '.join(_flatten(msgs))}" for field, msgs in errors.items())
        super().__init__(message, errors=errors)


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {msg}" for key, value in messages.items() for msg in _flatten(value)]
    return list(messages)


def integer_error(value: Any, minimum: int, maximum: int) -> str | None:
    """Why ``value`` is not an integer in [minimum, maximum], or None when it is."""
    # bool is an int subclass: True would silently become 1.
    if isinstance(value, bool):
        return "Must be an integer, not a boolean."
    if not isinstance(value, int):
        kind = "a float" if isinstance(value, float) else type(value).__name__
        return f"Must be an integer, not {kind}."
    if not minimum <= value <= maximum:
        return f"Must be between {minimum} and {maximum}, not {value}."
    return None


def check_score_type(score_type: Any) -> str:
    if score_type not in SCORE_TYPES:
        raise ScoringValidationError(
            {"score_type": [f"Unknown score type {score_type!r}. Valid: {', '.join(SCORE_TYPES)}."]}
        )
    return score_type


def weight_key_error(score_type: str, key: Any) -> str | None:
    if key not in DEFAULT_SCORES[score_type]:
        return f"Unknown weight key {key!r} for {score_type}. Valid keys: {', '.join(DEFAULT_SCORES[score_type])}."
    return None


def check_weight_key(score_type: str, key: Any) -> str:
    check_score_type(score_type)
    message = weight_key_error(score_type, key)
    if message:
        raise ScoringValidationError({"weight_key": [message]})
    return key


def clean_weights(score_type: str, weights: Any, *, field: str = "weights") -> dict[str, int]:
    """Return ``weights`` checked for ``score_type``: known keys, integers 0-10,000; all errors at once."""
    check_score_type(score_type)
    if not isinstance(weights, dict):
        raise ScoringValidationError({field: ["Must be an object mapping weight keys to integers."]})
    errors: dict[str, list[str]] = {}
    for key, value in weights.items():
        message = weight_key_error(score_type, key) or integer_error(value, WEIGHT_MIN, WEIGHT_MAX)
        if message:
            errors[str(key)] = [message]
    if errors:
        raise ScoringValidationError({field: errors})
    return dict(weights)


PROVIDER_NAME_RULE = "Must be 1-64 characters of lowercase letters, digits, '_' and '-'."


def provider_name_error(name: Any) -> str | None:
    if not isinstance(name, str) or not PROVIDER_NAME_RE.fullmatch(name):
        return PROVIDER_NAME_RULE
    return None


def clean_modifier(provider_name: Any, modifier: Any) -> tuple[str, int]:
    errors = {}
    if message := provider_name_error(provider_name):
        errors["provider_name"] = [message]
    if message := integer_error(modifier, MODIFIER_MIN, MODIFIER_MAX):
        errors["modifier"] = [message]
    if errors:
        raise ScoringValidationError(errors)
    return provider_name, modifier


def clean_modifiers(modifiers: Any, *, field: str = "modifiers") -> dict[str, int]:
    """Return ``modifiers`` (provider name → integer -1,000 to 1,000) checked; all errors at once."""
    if not isinstance(modifiers, dict):
        raise ScoringValidationError({field: ["Must be an object mapping provider names to integers."]})
    errors: dict[str, list[str]] = {}
    for name, value in modifiers.items():
        message = provider_name_error(name) or integer_error(value, MODIFIER_MIN, MODIFIER_MAX)
        if message:
            errors[str(name)] = [message]
    if errors:
        raise ScoringValidationError({field: errors})
    return dict(modifiers)


def clean_hash_untrusted(names: Any, *, field: str = "hash_untrusted") -> list[str]:
    """Return ``names`` (provider names whose hashes are not trusted) checked, sorted, once each."""
    if not isinstance(names, list):
        raise ScoringValidationError({field: ["Must be a list of provider names."]})
    errors = {str(index): [message] for index, name in enumerate(names) if (message := provider_name_error(name))}
    if errors:
        raise ScoringValidationError({field: errors})
    return sorted(set(names))


def min_score_error(score_type: str, value: Any, maximum: int) -> str | None:
    """Why ``value`` is not a minimum score for ``score_type`` (0 to ``maximum`` points), or None."""
    if message := integer_error(value, -(2**63), 2**63 - 1):
        return message
    if value < 0:
        return f"Must be 0 or more points, not {value}."
    if value > maximum:
        percent = round(value * 100 / maximum, 1) if maximum > 0 else None
        shown = f" ({percent} %)" if percent is not None else ""
        return (
            f"Must be at most {maximum}, the highest score reachable under the current {score_type} weights, "
            f"not {value}{shown}: no result could reach it."
        )
    return None

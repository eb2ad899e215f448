"""Whole-configuration writes: import (or dry-run) an exported configuration, apply, save and delete presets.

Built on the single-setting writes of ``scoring.services`` (the same sparse
overrides, one transaction, one ``config_updated`` listing every changed key).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from events.errors import Conflict, NotFound

from . import selectors, services
from .models import ScoringPreset
from .presets import BUILTIN_PRESETS
from .scores import DEFAULT_SCORES, SCORE_TYPES, max_score
from .validators import (
    ScoringValidationError,
    clean_hash_untrusted,
    clean_modifiers,
    clean_weights,
    min_score_error,
    provider_name_error,
)


def clean_config(data: Any) -> dict[str, Any]:
    """Check an exported configuration (``scoring_config_export``'s shape); all errors at once."""
    if not isinstance(data, dict):
        raise ScoringValidationError({"config": ["Must be a JSON object with 'weights' and 'modifiers'."]})
    errors: dict[str, Any] = {}
    unknown = sorted(set(data) - {"version", "weights", "modifiers", "hash_untrusted", "min_scores"})
    if unknown:
        errors["config"] = [f"Unknown top-level key(s): {', '.join(map(str, unknown))}."]
    version = data.get("version", 1)
    if version not in (1, selectors.CONFIG_VERSION) or isinstance(version, bool):
        errors["version"] = [f"Unsupported version {version!r}; this Sublarr reads versions 1 and 2."]
    weights = data.get("weights", {})
    cleaned_weights: dict[str, dict[str, int]] = {score_type: {} for score_type in SCORE_TYPES}
    if not isinstance(weights, dict):
        errors["weights"] = ["Must be an object mapping score types to weights."]
    else:
        for score_type, values in weights.items():
            if score_type not in SCORE_TYPES:
                message = f"Unknown score type {score_type!r}. Valid: {', '.join(SCORE_TYPES)}."
                errors.setdefault("weights", {})[str(score_type)] = [message]
                continue
            try:
                cleaned_weights[score_type] = clean_weights(score_type, values, field=score_type)
            except ScoringValidationError as exc:
                errors.setdefault("weights", {}).update(exc.errors)
    cleaned_modifiers: dict[str, int] = {}
    try:
        cleaned_modifiers = clean_modifiers(data.get("modifiers", {}))
    except ScoringValidationError as exc:
        errors.update(exc.errors)
    cleaned_untrusted: list[str] = []
    try:
        cleaned_untrusted = clean_hash_untrusted(data.get("hash_untrusted", []))
    except ScoringValidationError as exc:
        errors.update(exc.errors)
    min_scores = data.get("min_scores", {})
    cleaned_min_scores: dict[str, int] = {}
    if not isinstance(min_scores, dict):
        errors["min_scores"] = ["Must be an object mapping score types to minimum scores."]
    else:
        for score_type, value in min_scores.items():
            if score_type not in SCORE_TYPES:
                message = f"Unknown score type {score_type!r}. Valid: {', '.join(SCORE_TYPES)}."
                errors.setdefault("min_scores", {})[str(score_type)] = [message]
                continue
            # Bounded by the file's own weights: those are the ones it is imported with.
            weights = selectors.effective_weights(score_type, cleaned_weights[score_type])
            if problem := min_score_error(score_type, value, max_score(weights)):
                errors.setdefault("min_scores", {})[score_type] = [problem]
            else:
                cleaned_min_scores[score_type] = value
    if errors:
        raise ScoringValidationError(errors)
    return {
        "version": selectors.CONFIG_VERSION,
        "weights": cleaned_weights,
        "modifiers": cleaned_modifiers,
        "hash_untrusted": cleaned_untrusted,
        "min_scores": cleaned_min_scores,
    }


def config_diff(config: dict[str, Any]) -> list[str]:
    """Lines describing what importing the (cleaned) ``config`` would change."""
    current = selectors.scoring_config_export()
    lines = []
    for score_type in SCORE_TYPES:
        old, new = current["weights"][score_type], config["weights"][score_type]
        for key, default in DEFAULT_SCORES[score_type].items():
            before, after = old.get(key, default), new.get(key, default)
            if before != after:
                lines.append(
                    f"weights.{score_type}.{key}: {_shown(old, key, before)} -> {_shown(new, key, after, default)}"
                )
    for score_type in SCORE_TYPES:
        before_min, after_min = current["min_scores"].get(score_type), config["min_scores"].get(score_type)
        if before_min != after_min:
            lines.append(f"min_scores.{score_type}: {_points(before_min)} -> {_points(after_min)}")
    old_mods, new_mods = current["modifiers"], {k: v for k, v in config["modifiers"].items() if v != 0}
    for name in sorted(set(old_mods) | set(new_mods)):
        if old_mods.get(name) != new_mods.get(name):
            before = f"{old_mods[name]:+d}" if name in old_mods else "(none)"
            after = f"{new_mods[name]:+d}" if name in new_mods else "(none)"
            lines.append(f"modifiers.{name}: {before} -> {after}")
    old_untrusted, new_untrusted = set(current["hash_untrusted"]), set(config["hash_untrusted"])
    for name in sorted(old_untrusted ^ new_untrusted):
        change = "trusted -> untrusted" if name in new_untrusted else "untrusted -> trusted"
        lines.append(f"hash_trust.{name}: {change}")
    return lines


def _points(value: int | None) -> str:
    return "(none)" if value is None else str(value)


def _shown(overrides: dict[str, int], key: str, value: int, default: int | None = None) -> str:
    return str(value) if key in overrides and value != default else f"{value} (default)"


@transaction.atomic
def scoring_config_import(*, data: Any, source: str = "cli") -> list[str]:
    """Replace all overrides and modifiers with ``data`` (all or nothing); return the changed keys."""
    config = clean_config(data)
    changed = [
        key for score_type in SCORE_TYPES for key in services.apply_weights(score_type, config["weights"][score_type])
    ]
    for score_type in SCORE_TYPES:
        changed += services.apply_min_score(score_type, config["min_scores"].get(score_type))
    changed += services.apply_modifiers(config["modifiers"])
    changed += services.apply_hash_untrusted(set(config["hash_untrusted"]))
    services.config_changed(changed, source)
    return changed


@transaction.atomic
def scoring_config_restore(*, data: Any, dry_run: bool = False, source: str = "api") -> dict[str, Any]:
    """Import an exported configuration (all or nothing), or with ``dry_run`` only say what would change.

    ``changes`` are the lines ``manage.py scoring import`` prints; ``changed_keys``
    those of the ``config_updated`` event (empty for a dry run).
    """
    config = clean_config(data)
    changes = config_diff(config)
    changed_keys = [] if dry_run else scoring_config_import(data=config, source=source)
    return {"dry_run": dry_run, "changes": changes, "changed_keys": changed_keys}


# --- Presets ----------------------------------------------------------------------

PRESET_NAME_RULE = "Must be 1-64 characters of lowercase letters, digits, '_' and '-'."


@transaction.atomic
def scoring_preset_apply(*, name: str, source: str = "api") -> list[str]:
    """Apply preset ``name`` as sparse overrides (its keys set, the rest kept); return the changed keys.

    One transaction and one ``config_updated`` listing every changed key. A
    preset whose minimum score its weights (with the user's other values)
    cannot reach is refused, nothing changed.
    """
    chosen = selectors.preset(name)
    changed: list[str] = []
    for score_type in SCORE_TYPES:
        values = chosen["weights"][score_type]
        if values:
            current = selectors.weight_overrides(score_type)
            changed += services.apply_weights(score_type, {**current, **clean_weights(score_type, values)})
    for score_type, min_score in chosen["min_scores"].items():
        services.clean_min_score(score_type, min_score, selectors.effective_weights(score_type))
        changed += services.apply_min_score(score_type, min_score)
    for score_type in SCORE_TYPES:
        services.check_min_score_reachable(score_type)
    services.config_changed(changed, source)
    return changed


@transaction.atomic
def scoring_preset_save(*, name: Any, description: Any = "") -> dict[str, Any]:
    """Save the current weights and minimum scores as the user's preset ``name``; return it.

    Refused: a bad name (Invalid), a built-in's or an existing preset's name (Conflict).
    """
    errors = {}
    if provider_name_error(name):
        errors["name"] = [PRESET_NAME_RULE]
    if not isinstance(description, str) or len(description) > 500:
        errors["description"] = ["Must be text of at most 500 characters."]
    if errors:
        raise ScoringValidationError(errors)
    if name in BUILTIN_PRESETS or ScoringPreset.objects.filter(name=name).exists():
        raise Conflict(f"A preset named {name!r} exists already; choose another name or delete it first.")
    ScoringPreset.objects.create(
        name=name,
        description=description,
        weights={score_type: selectors.weight_overrides(score_type) for score_type in SCORE_TYPES},
        min_scores=selectors.min_scores(),
    )
    return selectors.preset(name)


@transaction.atomic
def scoring_preset_delete(*, name: str) -> None:
    """Delete the user's preset ``name``; a built-in one cannot be (Conflict), a missing one is NotFound."""
    if name in BUILTIN_PRESETS:
        raise Conflict(f"{name!r} is a built-in preset; it cannot be deleted.")
    deleted, _ = ScoringPreset.objects.filter(name=name).delete()
    if not deleted:
        raise NotFound(f"No preset named {name!r}.")

"""What-if scoring: rank candidates with the saved configuration or trial values laid over it (nothing saved).

Shared by the REST preview and the admin's preview page; reads only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import selectors
from .engine import STORED, Stored, SubtitleResult, VideoQuery, rank_with
from .scores import max_score
from .validators import ScoringValidationError, clean_modifiers, clean_weights


def _ranked(
    candidates: list[dict[str, Any]], weights: dict[str, int], modifiers: dict[str, int], untrusted: frozenset[str]
) -> list[tuple[int, SubtitleResult]]:
    """Score the candidates; return (rank, result) in the candidates' order (rank 1 = best)."""
    results = [SubtitleResult(**candidate) for candidate in candidates]
    ranked = rank_with(results, weights, modifiers, hash_untrusted=untrusted)
    position = {id(result): rank for rank, result in enumerate(ranked, start=1)}
    return [(position[id(result)], result) for result in results]


def scoring_preview(
    *,
    query: Mapping[str, Any],
    candidates: list[dict[str, Any]],
    weights: Mapping[str, Any] | None = None,
    modifiers: Mapping[str, Any] | None = None,
    min_score: int | Stored | None = STORED,
    preset: str | None = None,
) -> dict[str, Any]:
    """Rank ``candidates`` for ``query`` with the saved configuration, or trial values laid over it.

    ``min_score``: given, results below it are left out; not given, the stored
    minimum of the query's type applies and each row says whether it is
    ``kept``. ``threshold`` gives the minimum in points and as a percentage of
    the highest score reachable under the weights used. ``preset``: its weights
    (and minimum score) are the trial values, ``weights`` laid over them. Bad
    trial values raise ``ScoringValidationError`` (field → messages); an
    unknown preset ``NotFound``.
    """
    video = VideoQuery(**query)
    score_type = video.score_type
    errors: dict[str, Any] = {}
    trial_weights = trial_modifiers = None
    keep_all = False
    # An unknown preset is a NotFound (404), like any other name that does not exist.
    chosen = selectors.preset(preset) if preset is not None else None
    if chosen is not None:
        weights = {**chosen["weights"][score_type], **(weights or {})}
        if isinstance(min_score, Stored) and score_type in chosen["min_scores"]:
            min_score = chosen["min_scores"][score_type]
            # A preset's minimum is shown per result (kept or not), not used to leave results out.
            keep_all = True
    try:
        if weights is not None:
            trial_weights = clean_weights(score_type, dict(weights))
    except ScoringValidationError as exc:
        errors.update(exc.errors)
    try:
        if modifiers is not None:
            trial_modifiers = clean_modifiers(dict(modifiers))
    except ScoringValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ScoringValidationError(errors)

    saved = selectors.get_scoring_config(score_type)
    used_weights = {**saved.weights, **(trial_weights or {})}
    used_modifiers = {
        name: value for name, value in {**saved.modifiers, **(trial_modifiers or {})}.items() if value != 0
    }
    after = _ranked(candidates, used_weights, used_modifiers, saved.hash_untrusted)
    trial = trial_weights is not None or trial_modifiers is not None
    before = _ranked(candidates, saved.weights, saved.modifiers, saved.hash_untrusted) if trial else None
    threshold = saved.min_score if isinstance(min_score, Stored) else min_score
    leave_out = not isinstance(min_score, Stored) and min_score is not None and not keep_all
    maximum = max_score(used_weights)
    rows = []
    for index, (position, result) in enumerate(after):
        kept = threshold is None or result.score >= threshold
        if leave_out and not kept:
            continue
        row = {
            **candidates[index],
            "matches": sorted(result.matches),
            "mismatches": sorted(result.mismatches),
            "score": result.score,
            "score_percent": selectors.percent_of(result.score, maximum),
            "score_breakdown": result.score_breakdown,
            "rank": position,
            "kept": kept,
            "before": None,
        }
        if before is not None:
            old_position, old = before[index]
            row["before"] = {"score": old.score, "rank": old_position}
        rows.append(row)
    rows.sort(key=lambda row: row["rank"])
    return {
        "score_type": score_type,
        "weights": used_weights,
        "modifiers": used_modifiers,
        "threshold": selectors.threshold_state(score_type, used_weights, threshold),
        "results": rows,
    }

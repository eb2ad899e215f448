"""Score and rank subtitle results: matched weights, minus penalties, the format bonus, the provider's modifier."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from operator import attrgetter
from typing import Final

from .scores import (
    BONUS_FORMATS,
    EPISODE,
    FORMAT_BONUS_KEY,
    HASH_KEY,
    HASH_UNTRUSTED_KEY,
    MISMATCH_KEYS,
    MOVIE,
    NOT_MATCH_KEYS,
    PROVIDER_MODIFIER_KEY,
)
from .selectors import get_scoring_config


@dataclass(slots=True)
class VideoQuery:
    """What is being searched for: an episode when season and episode are set, else a movie."""

    series_title: str | None = None
    season: int | None = None
    episode: int | None = None
    title: str | None = None
    year: int | None = None
    release_group: str | None = None
    source: str | None = None
    resolution: str | None = None
    audio_codec: str | None = None

    @property
    def score_type(self) -> str:
        return EPISODE if self.season is not None and self.episode is not None else MOVIE


@dataclass(slots=True)
class SubtitleResult:
    """One candidate subtitle from a provider; ``score`` and ``score_breakdown`` are set by scoring.

    ``matches`` names what the subtitle matches of the query (``"hash"``,
    ``"series"``, ``"year"``…); names without a weight for the query's type
    score nothing. ``mismatches`` names what the subtitle contradicts of the
    query (``"season"``, ``"episode"``, ``"year"``: it is for another one); each
    subtracts its penalty weight (``season_mismatch``…) where the query's type
    has one. ``format`` is one of ass, ssa, srt, vtt, unknown.
    """

    provider_name: str
    subtitle_id: str
    language: str
    format: str = "unknown"
    release_info: str = ""
    hearing_impaired: bool = False
    forced: bool = False
    matches: set[str] = field(default_factory=set)
    mismatches: set[str] = field(default_factory=set)
    score: int = 0
    score_breakdown: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A set: a name listed twice would otherwise count twice in the score
        # but once in the breakdown.
        if not isinstance(self.matches, set | frozenset):
            self.matches = set(self.matches)
        if not isinstance(self.mismatches, set | frozenset):
            self.mismatches = set(self.mismatches)


_by_score = attrgetter("score")


class Stored(Enum):
    """The type of STORED."""

    STORED = "stored"


# rank()'s default minimum score: the one stored for the query's type.
STORED: Final = Stored.STORED


def rank_with(
    results: Iterable[SubtitleResult],
    weights: Mapping[str, int],
    modifiers: Mapping[str, int],
    *,
    min_score: int | None = None,
    hash_untrusted: Collection[str] = frozenset(),
) -> list[SubtitleResult]:
    """Score every result with the given effective weights and modifiers; return them best first.

    A result of a provider in ``hash_untrusted`` gets nothing for a hash match:
    its breakdown has ``hash_untrusted: 0`` in place of ``hash``.

    The loop is what rank() costs per result, so everything that does not
    depend on the result is looked up once, before it.
    """
    match_weight = {key: value for key, value in weights.items() if key not in NOT_MATCH_KEYS}.get
    # mismatch name -> (breakdown key, negative weight)
    penalty = {name: (key, -weights[key]) for name, key in MISMATCH_KEYS.items() if key in weights}.get
    format_bonus = weights.get(FORMAT_BONUS_KEY, 0)
    bonus_formats = BONUS_FORMATS
    modifier_of = modifiers.get
    scored = list(results)
    for result in scored:
        breakdown = {}
        score = 0
        for name in result.matches:
            value = match_weight(name)
            if value is not None:
                breakdown[name] = value
                score += value
        if result.mismatches:
            for name in result.mismatches:
                found = penalty(name)
                if found is not None:
                    breakdown[found[0]] = found[1]
                    score += found[1]
        if result.format in bonus_formats:
            breakdown[FORMAT_BONUS_KEY] = format_bonus
            score += format_bonus
        provider = result.provider_name
        modifier = modifier_of(provider)
        if modifier:
            breakdown[PROVIDER_MODIFIER_KEY] = modifier
            score += modifier
        if hash_untrusted and provider in hash_untrusted:
            value = breakdown.pop(HASH_KEY, None)
            if value is not None:
                score -= value
                breakdown[HASH_UNTRUSTED_KEY] = 0
        result.score = score
        result.score_breakdown = breakdown
    if min_score is not None:
        scored = [result for result in scored if result.score >= min_score]
    # Stable: equal scores keep the order the results came in.
    scored.sort(key=_by_score, reverse=True)
    return scored


def compute_score(result: SubtitleResult, query: VideoQuery) -> int:
    """Score one result against ``query`` with the effective weights; set its score and breakdown."""
    config = get_scoring_config(query.score_type)
    rank_with((result,), config.weights, config.modifiers, hash_untrusted=config.hash_untrusted)
    return result.score


def rank(
    results: Iterable[SubtitleResult], query: VideoQuery, *, min_score: int | Stored | None = STORED
) -> list[SubtitleResult]:
    """Score ``results`` against ``query`` and return those scoring at least ``min_score``, best first.

    ``min_score`` defaults to the minimum stored for the query's type (none
    stored: every result is kept); ``None`` keeps every result. Weights,
    minimum, modifiers and hash trust are read once per call (one cache round
    trip), not once per result. Ties keep their input order.
    """
    config = get_scoring_config(query.score_type)
    return rank_with(
        results,
        config.weights,
        config.modifiers,
        min_score=config.min_score if min_score is STORED else min_score,
        hash_untrusted=config.hash_untrusted,
    )

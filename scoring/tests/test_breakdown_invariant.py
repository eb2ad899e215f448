from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scoring.engine import SubtitleResult, rank_with
from scoring.scores import (
    EPISODE_SCORES,
    FORMATS,
    MISMATCH_KEYS,
    MODIFIER_MAX,
    MODIFIER_MIN,
    MOVIE_SCORES,
    NOT_MATCH_KEYS,
    WEIGHT_MAX,
)

MATCH_NAMES = sorted({*EPISODE_SCORES, *MOVIE_SCORES, "fps", "edition"})
PROVIDERS = ["opensubtitles", "podnapisi", "addic7ed", "jimaku"]


def weights_for(defaults) -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries({key: st.integers(0, WEIGHT_MAX) for key in defaults})


results = st.builds(
    SubtitleResult,
    provider_name=st.sampled_from(PROVIDERS),
    subtitle_id=st.text(max_size=8),
    language=st.just("en"),
    format=st.sampled_from(FORMATS),
    matches=st.sets(st.sampled_from(MATCH_NAMES)),
    mismatches=st.sets(st.sampled_from([*MISMATCH_KEYS, "fps"])),
)


@given(
    weights=st.one_of(weights_for(EPISODE_SCORES), weights_for(MOVIE_SCORES)),
    modifiers=st.dictionaries(st.sampled_from(PROVIDERS), st.integers(MODIFIER_MIN, MODIFIER_MAX)),
    candidates=st.lists(results, max_size=30),
    min_score=st.one_of(st.none(), st.integers(-1000, 3000)),
    untrusted=st.frozensets(st.sampled_from(PROVIDERS)),
)
def test_breakdown_always_sums_to_the_score_and_ranking_is_sorted(
    weights, modifiers, candidates, min_score, untrusted
) -> None:
    ranked = rank_with(candidates, weights, modifiers, min_score=min_score, hash_untrusted=untrusted)
    for subtitle in candidates:
        assert sum(subtitle.score_breakdown.values()) == subtitle.score
        # Every part is named: matched weights, the format bonus, the modifier — nothing else.
        expected_parts = {name for name in subtitle.matches if name in weights and name not in NOT_MATCH_KEYS}
        # Penalties subtract: a negative part per contradicted name the type has a penalty for.
        penalties = {MISMATCH_KEYS[name] for name in subtitle.mismatches if MISMATCH_KEYS.get(name) in weights}
        assert all(subtitle.score_breakdown[key] == -weights[key] for key in penalties)
        expected_parts |= penalties
        if subtitle.format in ("ass", "ssa"):
            expected_parts.add("format_bonus")
        if modifiers.get(subtitle.provider_name):
            expected_parts.add("provider_modifier")
        # An untrusted provider's hash match is named, at 0, instead of counted.
        if subtitle.provider_name in untrusted and "hash" in expected_parts:
            expected_parts = (expected_parts - {"hash"}) | {"hash_untrusted"}
            assert subtitle.score_breakdown["hash_untrusted"] == 0
        assert set(subtitle.score_breakdown) == expected_parts
    kept = [s for s in candidates if min_score is None or s.score >= min_score]
    assert ranked == sorted(kept, key=lambda s: -s.score)
    assert [id(s) for s in ranked] == [id(s) for s in sorted(kept, key=lambda s: -s.score)]

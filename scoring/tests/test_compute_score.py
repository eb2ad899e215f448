from __future__ import annotations

import pytest

from scoring import EPISODE_SCORES, MOVIE_SCORES, SubtitleResult, VideoQuery, compute_score, get_weights, rank, services

EPISODE_QUERY = VideoQuery(series_title="Severance", season=2, episode=3, year=2025)
MOVIE_QUERY = VideoQuery(title="Arrival", year=2016)

pytestmark = pytest.mark.django_db


def result(
    matches: set[str], *, format: str = "srt", provider: str = "opensubtitles", sid: str = "1"
) -> SubtitleResult:
    return SubtitleResult(provider_name=provider, subtitle_id=sid, language="en", format=format, matches=matches)


def test_query_is_an_episode_only_with_season_and_episode() -> None:
    assert EPISODE_QUERY.score_type == "episode"
    assert MOVIE_QUERY.score_type == "movie"
    assert VideoQuery(series_title="Severance", season=2).score_type == "movie"


def test_defaults_are_the_seed_values_plus_the_mismatch_penalties() -> None:
    assert dict(EPISODE_SCORES) == {
        "hash": 359, "series": 180, "year": 90, "season": 30, "episode": 30, "release_group": 14,
        "source": 7, "audio_codec": 3, "resolution": 2, "hearing_impaired": 1, "format_bonus": 50,
        "season_mismatch": 200, "episode_mismatch": 200,
    }  # fmt: skip
    assert dict(MOVIE_SCORES) == {
        "hash": 119, "title": 60, "year": 30, "release_group": 13, "source": 7,
        "audio_codec": 3, "resolution": 2, "hearing_impaired": 1, "format_bonus": 50,
        "year_mismatch": 90,
    }  # fmt: skip
    assert get_weights("episode") == dict(EPISODE_SCORES)
    assert get_weights("movie") == dict(MOVIE_SCORES)


def test_episode_score_sums_the_default_weights_of_its_matches() -> None:
    subtitle = result({"series", "season", "episode", "release_group"})
    assert compute_score(subtitle, EPISODE_QUERY) == 180 + 30 + 30 + 14
    assert subtitle.score == 254
    assert subtitle.score_breakdown == {"series": 180, "season": 30, "episode": 30, "release_group": 14}


def test_match_names_without_a_weight_for_the_type_score_nothing() -> None:
    subtitle = result({"title", "year", "fps", "format_bonus"})
    assert compute_score(subtitle, EPISODE_QUERY) == 90
    assert subtitle.score_breakdown == {"year": 90}
    movie = result({"title", "year", "series"})
    assert compute_score(movie, MOVIE_QUERY) == 90
    assert movie.score_breakdown == {"title": 60, "year": 30}


@pytest.mark.parametrize("format", ["ass", "ssa"])
def test_ass_and_ssa_get_the_format_bonus(format: str) -> None:
    subtitle = result({"hash"}, format=format)
    assert compute_score(subtitle, MOVIE_QUERY) == 119 + 50
    assert subtitle.score_breakdown == {"hash": 119, "format_bonus": 50}


@pytest.mark.parametrize("format", ["srt", "vtt", "unknown"])
def test_other_formats_get_no_bonus(format: str) -> None:
    subtitle = result({"hash"}, format=format)
    assert compute_score(subtitle, MOVIE_QUERY) == 119
    assert subtitle.score_breakdown == {"hash": 119}


def test_stored_overrides_are_merged_over_the_defaults() -> None:
    services.scoring_weights_update(score_type="episode", weights={"hash": 500, "format_bonus": 0})
    assert get_weights("episode") == {**EPISODE_SCORES, "hash": 500, "format_bonus": 0}
    assert get_weights("movie") == dict(MOVIE_SCORES)
    subtitle = result({"hash", "series"}, format="ass")
    assert compute_score(subtitle, EPISODE_QUERY) == 680
    assert subtitle.score_breakdown == {"hash": 500, "series": 180, "format_bonus": 0}


def test_provider_modifier_is_added_after_the_base_score() -> None:
    services.provider_modifier_set(provider_name="podnapisi", modifier=-25)
    subtitle = result({"hash"}, format="ass", provider="podnapisi")
    other = result({"hash"}, format="ass", provider="addic7ed")
    assert compute_score(subtitle, MOVIE_QUERY) == 119 + 50 - 25
    assert subtitle.score_breakdown == {"hash": 119, "format_bonus": 50, "provider_modifier": -25}
    assert compute_score(other, MOVIE_QUERY) == 169
    assert "provider_modifier" not in other.score_breakdown


def test_rank_sorts_by_score_descending_and_keeps_ties_in_input_order() -> None:
    results = [
        result({"year"}, sid="a"),
        result({"hash"}, sid="b"),
        result({"year"}, sid="c"),
        result(set(), sid="d"),
        result({"year"}, sid="e"),
    ]
    ranked = rank(results, MOVIE_QUERY)
    assert [(r.subtitle_id, r.score) for r in ranked] == [("b", 119), ("a", 30), ("c", 30), ("e", 30), ("d", 0)]
    assert [r.subtitle_id for r in results] == ["a", "b", "c", "d", "e"]


def test_rank_drops_results_below_min_score() -> None:
    results = [result({"year"}, sid="a"), result({"hash"}, sid="b"), result({"title"}, sid="c")]
    assert [r.subtitle_id for r in rank(results, MOVIE_QUERY, min_score=60)] == ["b", "c"]
    assert rank(results, MOVIE_QUERY, min_score=1000) == []


def test_rank_reads_weights_and_modifiers_once_per_call(django_assert_num_queries) -> None:
    results = [result({"hash", "year"}, provider=f"p{i % 7}", sid=str(i)) for i in range(500)]
    # Cold cache: one query each for the weights, the minimum score, the modifiers and the hash trust,
    # whatever the number of results.
    with django_assert_num_queries(4):
        rank(results, EPISODE_QUERY)
    with django_assert_num_queries(0):
        rank(results, EPISODE_QUERY)


def test_matches_given_as_a_list_count_each_name_once() -> None:
    subtitle = SubtitleResult(
        provider_name="opensubtitles", subtitle_id="1", language="en", matches=["hash", "hash", "year"]
    )
    assert compute_score(subtitle, MOVIE_QUERY) == 149
    assert subtitle.score_breakdown == {"hash": 119, "year": 30}


def test_a_mismatch_subtracts_its_penalty_and_the_breakdown_shows_it_negative() -> None:
    subtitle = result({"series", "year", "episode"}, format="ass")
    subtitle.mismatches = {"season"}
    assert compute_score(subtitle, EPISODE_QUERY) == 180 + 90 + 30 + 50 - 200
    assert subtitle.score_breakdown == {
        "series": 180,
        "year": 90,
        "episode": 30,
        "season_mismatch": -200,
        "format_bonus": 50,
    }
    assert sum(subtitle.score_breakdown.values()) == subtitle.score


@pytest.mark.parametrize(
    ("query", "plain", "mismatch"),
    [(EPISODE_QUERY, "series", "season"), (EPISODE_QUERY, "series", "episode"), (MOVIE_QUERY, "title", "year")],
)
def test_another_season_episode_or_year_ranks_below_a_plain_match_with_the_defaults(query, plain, mismatch) -> None:
    # sublarr#210: an anime episode of another season, matching everything else, ranked first.
    weights = get_weights(query.score_type)
    everything_else = {
        key for key in weights if key not in {"hash", mismatch, "format_bonus"} and not key.endswith("_mismatch")
    }
    other = SubtitleResult(
        provider_name="jimaku",
        subtitle_id="other",
        language="en",
        format="ass",
        matches=everything_else,
        mismatches={mismatch},
    )
    ranked = rank([other, result({plain}, sid="plain")], query)
    assert [r.subtitle_id for r in ranked] == ["plain", "other"]
    assert ranked[1].score == sum(ranked[1].score_breakdown.values()) < weights[plain]


def test_penalties_are_weights_like_any_other_and_apply_per_type() -> None:
    services.scoring_weights_update(score_type="episode", weights={"episode_mismatch": 40})
    subtitle = result({"series", "season"})
    subtitle.mismatches = {"episode", "year"}  # no year penalty for episodes
    assert compute_score(subtitle, EPISODE_QUERY) == 180 + 30 - 40
    assert subtitle.score_breakdown == {"series": 180, "season": 30, "episode_mismatch": -40}
    movie = SubtitleResult(provider_name="a", subtitle_id="m", language="en", matches={"title"}, mismatches=["year"])
    assert compute_score(movie, MOVIE_QUERY) == 60 - 90
    assert movie.score_breakdown == {"title": 60, "year_mismatch": -90}


def test_a_penalty_key_named_as_a_match_scores_nothing() -> None:
    subtitle = result({"series", "season_mismatch", "format_bonus"})
    assert compute_score(subtitle, EPISODE_QUERY) == 180
    assert subtitle.score_breakdown == {"series": 180}


def test_an_untrusted_providers_hash_match_counts_nothing_and_the_breakdown_says_why() -> None:
    services.provider_hash_trust_set(provider_name="subdl", trusted=False)
    services.provider_modifier_set(provider_name="subdl", modifier=5)
    untrusted = result({"hash", "series", "season", "episode"}, format="ass", provider="subdl", sid="u")
    trusted = result({"hash", "series", "season", "episode"}, format="ass", provider="opensubtitles", sid="t")
    ranked = rank([untrusted, trusted], EPISODE_QUERY)
    assert [(r.subtitle_id, r.score) for r in ranked] == [("t", 359 + 240 + 50), ("u", 240 + 50 + 5)]
    assert untrusted.score_breakdown == {
        "series": 180,
        "season": 30,
        "episode": 30,
        "format_bonus": 50,
        "provider_modifier": 5,
        "hash_untrusted": 0,
    }
    assert "hash_untrusted" not in trusted.score_breakdown
    # Without a hash match there is nothing to explain.
    plain = result({"series"}, provider="subdl")
    compute_score(plain, EPISODE_QUERY)
    assert plain.score_breakdown == {"series": 180, "provider_modifier": 5}
    # Trusted again (the default): the hash counts.
    services.provider_hash_trust_set(provider_name="subdl", trusted=True)
    assert compute_score(untrusted, EPISODE_QUERY) == 359 + 240 + 50 + 5

from __future__ import annotations

import pytest

from scoring import EPISODE_SCORES, services
from scoring.models import ProviderScoreModifier, ScoringWeight

pytestmark = pytest.mark.django_db

URL = "/api/scoring/preview/"
EPISODE = {"series_title": "Severance", "season": 2, "episode": 3, "year": 2025}
CANDIDATES = [
    {
        "provider_name": "opensubtitles",
        "subtitle_id": "a",
        "language": "en",
        "format": "srt",
        "matches": ["series", "season", "episode", "year"],
    },
    {
        "provider_name": "podnapisi",
        "subtitle_id": "b",
        "language": "en",
        "format": "ass",
        "matches": ["series", "season", "episode"],
    },
    {"provider_name": "jimaku", "subtitle_id": "c", "language": "en", "matches": ["hash"]},
]


def brief(body: dict) -> list[tuple]:
    return [(r["subtitle_id"], r["score"], r["rank"], r["before"]) for r in body["results"]]


def test_preview_ranks_with_the_saved_configuration(user_client):
    services.provider_modifier_set(provider_name="podnapisi", modifier=-10)
    response = user_client.post(URL, {"query": EPISODE, "results": CANDIDATES}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["score_type"] == "episode"
    assert body["weights"] == dict(EPISODE_SCORES)
    assert body["modifiers"] == {"podnapisi": -10}
    assert brief(body) == [("c", 359, 1, None), ("a", 330, 2, None), ("b", 280, 3, None)]
    assert body["results"][2] == {
        "provider_name": "podnapisi",
        "subtitle_id": "b",
        "language": "en",
        "format": "ass",
        "release_info": "",
        "hearing_impaired": False,
        "forced": False,
        "matches": ["episode", "season", "series"],
        "mismatches": [],
        "score": 280,
        "score_percent": 36.6,  # of 766, the highest reachable episode score under the default weights
        "score_breakdown": {"series": 180, "season": 30, "episode": 30, "format_bonus": 50, "provider_modifier": -10},
        "rank": 3,
        "kept": True,
        "before": None,
    }


def test_trial_values_show_score_and_rank_before_and_after_and_are_not_saved(user_client, config_events):
    services.scoring_weights_update(score_type="episode", weights={"year": 100})
    body = {
        "query": EPISODE,
        "results": CANDIDATES,
        "weights": {"hash": 100, "format_bonus": 200},
        "modifiers": {"podnapisi": 25, "jimaku": 0},
    }
    response = user_client.post(URL, body, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["weights"] == {**EPISODE_SCORES, "year": 100, "hash": 100, "format_bonus": 200}
    assert body["modifiers"] == {"podnapisi": 25}
    assert brief(body) == [
        ("b", 465, 1, {"score": 290, "rank": 3}),
        ("a", 340, 2, {"score": 340, "rank": 2}),
        ("c", 100, 3, {"score": 359, "rank": 1}),
    ]
    assert set(ScoringWeight.objects.values_list("weight_key", "weight_value")) == {("year", 100)}
    assert not ProviderScoreModifier.objects.exists()
    assert config_events == []


def test_min_score_leaves_out_lower_results_but_keeps_their_ranks(user_client):
    response = user_client.post(URL, {"query": EPISODE, "results": CANDIDATES, "min_score": 300}, format="json")
    assert brief(response.json()) == [("c", 359, 1, None), ("a", 330, 2, None)]


def test_a_movie_query_uses_the_movie_weights(user_client):
    response = user_client.post(
        URL, {"query": {"title": "Arrival", "season": 1}, "results": [CANDIDATES[2]]}, format="json"
    )
    assert response.json()["score_type"] == "movie"
    assert brief(response.json()) == [("c", 119, 1, None)]


MOVIE_KEYS = (
    "hash, title, year, release_group, source, audio_codec, resolution, hearing_impaired, format_bonus, year_mismatch"
)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"results": []}, {"query": ["This field is required."]}),
        ({"query": {"title": "x"}}, {"results": ["This field is required."]}),
        (
            {"query": {"title": "x"}, "results": [], "extra": 1},
            {"extra": ["Unknown field. Allowed: query, results, weights, modifiers, preset, min_score."]},
        ),
        (
            {"query": {"season": -1}, "results": []},
            {"query": {"season": ["Ensure this value is greater than or equal to 0."]}},
        ),
        (
            {"query": {"name": "x"}, "results": []},
            {
                "query": {
                    "name": [
                        "Unknown field. Allowed: series_title, season, episode, title, year, release_group, "
                        "source, resolution, audio_codec."
                    ]
                }
            },
        ),
        (
            {"query": {}, "results": [{"subtitle_id": "1"}]},
            {"results": {"0": {"provider_name": ["This field is required."]}}},
        ),
        (
            {"query": {}, "results": [{"provider_name": "a", "format": "sub"}]},
            {"results": {"0": {"format": ['"sub" is not a valid choice.']}}},
        ),
        (
            {"query": {}, "results": [{"provider_name": "a", "matches": "hash"}]},
            {"results": {"0": {"matches": ['Expected a list of items but got type "str".']}}},
        ),
        (
            {"query": {}, "results": [{"provider_name": "a"}] * 1001},
            {"results": {"non_field_errors": ["Ensure this field has no more than 1000 elements."]}},
        ),
        (
            {"query": {"title": "x"}, "results": [], "weights": {"series": 1}},
            {"weights": {"series": [f"Unknown weight key 'series' for movie. Valid keys: {MOVIE_KEYS}."]}},
        ),
        (
            {"query": {}, "results": [], "weights": {"hash": 1.5}},
            {"weights": {"hash": ["Must be an integer, not a float."]}},
        ),
        (
            {"query": {}, "results": [], "modifiers": {"A": 1}},
            {"modifiers": {"A": ["Must be 1-64 characters of lowercase letters, digits, '_' and '-'."]}},
        ),
        (
            {"query": {}, "results": [], "modifiers": {"a": 5000}},
            {"modifiers": {"a": ["Must be between -1000 and 1000, not 5000."]}},
        ),
    ],
)
def test_bad_preview_input_is_a_400_with_field_messages(user_client, body, errors):
    response = user_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == errors


def test_preview_subtracts_the_penalty_of_a_mismatch(user_client):
    candidates = [
        {
            "provider_name": "a",
            "subtitle_id": "other-season",
            "matches": ["series", "episode"],
            "mismatches": ["season"],
        },
        {"provider_name": "a", "subtitle_id": "plain", "matches": ["series"]},
    ]
    response = user_client.post(URL, {"query": EPISODE, "results": candidates}, format="json")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["subtitle_id"], r["score"], r["rank"]) for r in rows] == [("plain", 180, 1), ("other-season", 10, 2)]
    assert rows[1]["score_breakdown"] == {"series": 180, "episode": 30, "season_mismatch": -200}
    assert rows[1]["mismatches"] == ["season"]


def test_an_unknown_mismatch_name_is_a_400(user_client):
    candidates = [{"provider_name": "a", "mismatches": ["title"]}]
    response = user_client.post(URL, {"query": EPISODE, "results": candidates}, format="json")
    assert response.status_code == 400
    assert response.json() == {"results": {"0": {"mismatches": {"0": ['"title" is not a valid choice.']}}}}

from __future__ import annotations

import pytest

from scoring import EPISODE_SCORES, MOVIE_SCORES
from scoring.models import ScoringWeight

pytestmark = pytest.mark.django_db

URL = "/api/scoring/weights/"


def stored() -> set[tuple[str, str, int]]:
    return set(ScoringWeight.objects.values_list("score_type", "weight_key", "weight_value"))


def state(score_type: str, defaults, **overrides: int) -> dict:
    return {
        "score_type": score_type,
        "effective": {**defaults, **overrides},
        "defaults": dict(defaults),
        "overridden": [key for key in defaults if key in overrides],
    }


def test_get_shows_effective_defaults_and_overridden_keys_per_type(staff_client, user_client):
    staff_client.patch(f"{URL}movie/", {"weights": {"title": 75, "hash": 120}}, format="json")
    response = user_client.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "episode": state("episode", EPISODE_SCORES),
        "movie": state("movie", MOVIE_SCORES, hash=120, title=75),
    }
    assert user_client.get(f"{URL}movie/").json() == state("movie", MOVIE_SCORES, hash=120, title=75)


def test_patch_changes_only_the_given_keys_and_put_replaces_all(
    staff_client, config_events, django_capture_on_commit_callbacks
):
    response = staff_client.patch(f"{URL}episode/", {"weights": {"hash": 400}}, format="json")
    assert response.status_code == 200
    assert response.json() == state("episode", EPISODE_SCORES, hash=400)
    response = staff_client.patch(f"{URL}episode/", {"weights": {"year": 91}}, format="json")
    assert response.json() == state("episode", EPISODE_SCORES, hash=400, year=91)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.put(f"{URL}episode/", {"weights": {"series": 200}}, format="json")
    assert response.json() == state("episode", EPISODE_SCORES, series=200)
    assert stored() == {("episode", "series", 200)}
    assert config_events[-1] == {
        "changed_keys": [
            "scoring.weights.episode.hash",
            "scoring.weights.episode.series",
            "scoring.weights.episode.year",
        ],
        "source": "api",
    }


def test_delete_resets_one_key_or_the_whole_type(staff_client):
    staff_client.patch(f"{URL}episode/", {"weights": {"hash": 400, "year": 1}}, format="json")
    staff_client.patch(f"{URL}movie/", {"weights": {"hash": 1}}, format="json")
    response = staff_client.delete(f"{URL}episode/hash/")
    assert response.status_code == 200
    assert response.json() == state("episode", EPISODE_SCORES, year=1)
    response = staff_client.delete(f"{URL}episode/")
    assert response.status_code == 200
    assert response.json() == state("episode", EPISODE_SCORES)
    assert stored() == {("movie", "hash", 1)}


@pytest.mark.parametrize(
    ("method", "path", "body", "errors"),
    [
        ("patch", "tv/", {"weights": {"hash": 1}}, {"score_type": ["Unknown score type 'tv'. Valid: episode, movie."]}),
        ("get", "tv/", None, {"score_type": ["Unknown score type 'tv'. Valid: episode, movie."]}),
        ("delete", "tv/", None, {"score_type": ["Unknown score type 'tv'. Valid: episode, movie."]}),
        (
            "delete",
            "movie/series/",
            None,
            {
                "weight_key": [
                    "Unknown weight key 'series' for movie. Valid keys: hash, title, year, release_group, source, "
                    "audio_codec, resolution, hearing_impaired, format_bonus, year_mismatch."
                ]
            },
        ),
        ("patch", "episode/", {}, {"weights": ["This field is required."]}),
        ("put", "episode/", {"hash": 400}, {"hash": ["Unknown field. Allowed: weights."]}),
        ("patch", "episode/", [1], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ("patch", "episode/", {"weights": [1]}, {"weights": ['Expected a dictionary of items but got type "list".']}),
        (
            "patch",
            "episode/",
            {"weights": {"hash": True}},
            {"weights": {"hash": ["Must be an integer, not a boolean."]}},
        ),
        ("patch", "episode/", {"weights": {"hash": 1.5}}, {"weights": {"hash": ["Must be an integer, not a float."]}}),
        ("patch", "episode/", {"weights": {"hash": "400"}}, {"weights": {"hash": ["Must be an integer, not str."]}}),
        ("patch", "episode/", {"weights": {"hash": None}}, {"weights": {"hash": ["This field may not be null."]}}),
        (
            "patch",
            "episode/",
            {"weights": {"hash": 10_001, "year": -1}},
            {
                "weights": {
                    "hash": ["Must be between 0 and 10000, not 10001."],
                    "year": ["Must be between 0 and 10000, not -1."],
                }
            },
        ),
        (
            "put",
            "movie/",
            {"weights": {"hash": 5, "season": 5}},
            {
                "weights": {
                    "season": [
                        "Unknown weight key 'season' for movie. Valid keys: hash, title, year, release_group, source, "
                        "audio_codec, resolution, hearing_impaired, format_bonus, year_mismatch."
                    ]
                }
            },
        ),
    ],
)
def test_bad_input_is_a_400_with_field_messages_and_nothing_is_saved(staff_client, method, path, body, errors):
    staff_client.patch(f"{URL}episode/", {"weights": {"source": 8}}, format="json")
    staff_client.patch(f"{URL}movie/", {"weights": {"source": 9}}, format="json")
    response = getattr(staff_client, method)(f"{URL}{path}", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert stored() == {("episode", "source", 8), ("movie", "source", 9)}


def test_malformed_json_is_a_400(staff_client):
    response = staff_client.generic("PATCH", f"{URL}episode/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert stored() == set()

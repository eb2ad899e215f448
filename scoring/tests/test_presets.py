from __future__ import annotations

import pytest

from scoring import get_weights, selectors, services
from scoring.models import ScoringPreset
from scoring.presets import BUILTIN_PRESETS

pytestmark = pytest.mark.django_db

URL = "/api/scoring/presets/"
EPISODE = {"series_title": "Frieren", "season": 2, "episode": 3}
SEASON_EPISODE = ["series", "season", "episode"]
CANDIDATES = [
    {
        "provider_name": "jimaku",
        "subtitle_id": "fansub",
        "format": "ass",
        "matches": [*SEASON_EPISODE, "release_group"],
    },
    {"provider_name": "opensubtitles", "subtitle_id": "plain", "format": "srt", "matches": [*SEASON_EPISODE, "year"]},
]


def test_the_built_in_presets_are_listed_first_and_anime_values_release_group_and_ass_more(user_client):
    listed = user_client.get(URL).json()
    assert [(p["name"], p["builtin"]) for p in listed] == [("tv", True), ("movies", True), ("anime", True)]
    anime = user_client.get(f"{URL}anime/").json()
    assert anime["weights"]["episode"]["release_group"] > 14 * 5
    assert anime["weights"]["episode"]["format_bonus"] > 50
    assert anime["weights"]["movie"] == {"release_group": 60, "format_bonus": 90}
    assert user_client.get(f"{URL}nope/").status_code == 404


def test_a_preset_is_previewed_as_trial_weights_without_saving(user_client, config_events):
    body = {"query": EPISODE, "results": CANDIDATES}
    saved = user_client.post("/api/scoring/preview/", body, format="json").json()
    assert [r["subtitle_id"] for r in saved["results"]] == ["plain", "fansub"]
    tried = user_client.post("/api/scoring/preview/", {**body, "preset": "anime"}, format="json").json()
    assert [(r["subtitle_id"], r["before"]["rank"]) for r in tried["results"]] == [("fansub", 2), ("plain", 1)]
    assert tried["weights"]["release_group"] == 90
    assert get_weights("episode")["release_group"] == 14
    assert config_events == []
    # The preset's minimum is the preview's threshold; each result says whether it keeps it.
    tv = user_client.post("/api/scoring/preview/", {**body, "preset": "tv"}, format="json").json()
    assert tv["threshold"]["min_score"] == 240
    assert [r["kept"] for r in tv["results"]] == [True, True]
    response = user_client.post("/api/scoring/preview/", {**body, "preset": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No preset named 'nope'."}


def test_applying_sets_only_the_presets_keys_in_one_event(
    staff_client, config_events, django_capture_on_commit_callbacks
):
    services.scoring_weights_update(score_type="episode", weights={"hash": 500, "release_group": 20})
    config_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"{URL}anime/apply/")
    assert response.status_code == 200
    keys = [
        "scoring.weights.episode.release_group",
        "scoring.weights.episode.format_bonus",
        "scoring.weights.episode.season_mismatch",
        "scoring.weights.episode.episode_mismatch",
        "scoring.weights.movie.release_group",
        "scoring.weights.movie.format_bonus",
    ]
    assert response.json() == {"preset": "anime", "changed_keys": keys}
    assert config_events == [{"changed_keys": keys, "source": "api"}]
    weights = get_weights("episode")
    assert (weights["hash"], weights["release_group"], weights["format_bonus"]) == (500, 90, 120)
    # Applying it again changes nothing and emits nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.post(f"{URL}anime/apply/").json() == {"preset": "anime", "changed_keys": []}
    assert len(config_events) == 1
    # tv also sets the episode minimum score.
    with django_capture_on_commit_callbacks(execute=True):
        changed = staff_client.post(f"{URL}tv/apply/").json()["changed_keys"]
    assert changed[-1] == "scoring.min_score.episode"
    assert selectors.get_scoring_config("episode").min_score == 240


def test_a_preset_whose_minimum_the_users_weights_cannot_reach_is_refused_whole(staff_client):
    services.scoring_weights_update(score_type="movie", weights={"hash": 0, "title": 0, "year": 0, "format_bonus": 0})
    response = staff_client.post(f"{URL}movies/apply/")
    assert response.status_code == 400
    assert response.json()["min_score"][0].startswith(
        "Must be at most 33, the highest score reachable"
    )  # under the preset's weights
    assert get_weights("movie")["source"] == 7  # nothing of the preset was applied
    assert selectors.min_score_override("movie") is None


def test_users_save_the_current_configuration_as_a_preset_export_and_apply_it(staff_client, user_client):
    services.scoring_weights_update(score_type="episode", weights={"hash": 420})
    services.scoring_min_score_set(score_type="movie", min_score=100)
    response = staff_client.post(URL, {"name": "mine", "description": "My mix"}, format="json")
    assert response.status_code == 201
    exported = user_client.get(f"{URL}mine/").json()
    assert (
        exported
        == response.json()
        == {
            "name": "mine",
            "description": "My mix",
            "builtin": False,
            "weights": {"episode": {"hash": 420}, "movie": {}},
            "min_scores": {"movie": 100},
        }
    )
    assert [p["name"] for p in user_client.get(URL).json()] == ["tv", "movies", "anime", "mine"]
    services.scoring_weights_reset_type(score_type="episode")
    assert staff_client.post(f"{URL}mine/apply/").json()["changed_keys"] == ["scoring.weights.episode.hash"]
    assert get_weights("episode")["hash"] == 420
    assert staff_client.post(URL, {"name": "mine"}, format="json").status_code == 409
    assert staff_client.post(URL, {"name": "tv"}, format="json").json() == {
        "detail": "A preset named 'tv' exists already; choose another name or delete it first."
    }
    assert staff_client.post(URL, {"name": "My Mix"}, format="json").status_code == 400
    assert staff_client.delete(f"{URL}tv/").json() == {"detail": "'tv' is a built-in preset; it cannot be deleted."}
    assert staff_client.delete(f"{URL}mine/").status_code == 204
    assert staff_client.delete(f"{URL}mine/").status_code == 404


def test_only_staff_save_apply_or_delete_presets(user_client):
    assert user_client.post(URL, {"name": "x"}, format="json").status_code == 403
    assert user_client.post(f"{URL}tv/apply/").status_code == 403
    assert user_client.delete(f"{URL}tv/").status_code == 403
    assert not ScoringPreset.objects.exists()
    assert selectors.min_score_override("episode") is None


def test_the_admin_lists_applies_saves_and_previews_presets(
    admin_client, config_events, django_capture_on_commit_callbacks
):
    page = "/admin/scoring/scoringweight/"
    content = admin_client.get(page).content.decode()
    for name in BUILTIN_PRESETS:
        assert f'value="Apply {name}"' in content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(page, {"preset": "anime", "apply_preset": "1"}, follow=True)
    assert "Preset &#x27;anime&#x27; applied." in response.content.decode()
    assert config_events[-1]["source"] == "admin"
    assert get_weights("episode")["format_bonus"] == 120
    admin_client.post(page, {"preset_name": "after-anime", "save_preset": "1"})
    assert ScoringPreset.objects.get().weights["episode"]["format_bonus"] == 120
    response = admin_client.post(page, {"preset_name": "tv", "save_preset": "1"}, follow=True)
    assert "exists already" in response.content.decode()
    preview = admin_client.post(
        f"{page}preview/",
        {"query": '{"series_title": "Frieren", "season": 2, "episode": 3}', "results": "[]", "preset": "tv"},
    )
    assert preview.context["preview"]["threshold"]["min_score"] == 240
    assert admin_client.get("/admin/scoring/scoringpreset/").status_code == 200
